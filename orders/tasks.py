"""django-q2 entry points: each takes ids, loads rows and calls a service."""

from __future__ import annotations

from .catchup import catch_up_all
from .intake import webhook_event_handle, webhook_events_handle
from .processing import order_process
from .sweep import orders_sweep


def webhook_event_task(event_pk: int) -> None:
    """One event (sync mode, and tasks queued by a release before batches)."""
    webhook_event_handle(event_pk)


def webhook_events_task(event_pks: list[int]) -> None:
    webhook_events_handle(event_pks)


def backfill_step_task(backfill_pk: int) -> None:
    from .backfill import backfill_step

    backfill_step(backfill_pk)


def order_process_task(order_pk: int) -> None:
    order_process(order_pk)


def orders_sweep_task() -> dict[str, int]:
    return orders_sweep()


def catch_up_task() -> dict[str, int]:
    return catch_up_all()


def licence_catch_up_task(licence_pk: int) -> int:
    from licenses.models import Licence

    from .catchup import licence_catch_up

    return licence_catch_up(Licence.objects.get(pk=licence_pk))


def licence_resume_task(licence_pk: int) -> int:
    from licenses.models import Licence

    from .sync import licence_orders_resume

    return licence_orders_resume(Licence.objects.get(pk=licence_pk))
