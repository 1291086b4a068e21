"""Hand work to django-q2: with the ORM broker inside the current transaction (the task row commits with
the rows it is about), with Redis once the transaction has committed. The row is the truth either way.
"""

from __future__ import annotations

from functools import cache

from django.db import transaction
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf
from django_q.tasks import async_task


@cache
def _broker() -> Broker:
    # One broker per process: django-q2 makes a new one (a new Redis connection) for every task otherwise.
    return get_broker()


def enqueue(task: str, *args: object) -> None:
    def push() -> None:
        async_task(task, *args, q_options={"group": task.rsplit(".", 1)[-1], "broker": _broker()})

    if Conf.ORM and not Conf.SYNC and transaction.get_connection().in_atomic_block:
        push()  # one commit for the rows and their task
    else:
        transaction.on_commit(push)
