"""Hand work to django-q2 once the current transaction has committed (the row is the truth)."""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task


def enqueue(task: str, *args: object) -> None:
    transaction.on_commit(lambda: async_task(task, *args, q_options={"group": task.rsplit(".", 1)[-1]}))
