"""Keep the outbound calls made while working on an order, and forget them after the retention period."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.call_log import Call, calls_recorded, calls_taken

from .models import Order, OrderCall, OrderEvent
from .rows import Statement, rows_insert_statements, writes_together
from .timeline import timeline_collected, timeline_statements, timeline_taken


def order_calls_statements(order_pk: int, calls: list[Call]) -> list[Statement]:
    return rows_insert_statements(
        OrderCall,
        ("order", "at", "service", "method", "path", "status", "duration_ms", "error"),
        [
            (order_pk, c.at, c.service, c.method, c.path[:300], c.status, c.duration_ms, c.error)
            for c in calls
        ],
    )


@contextmanager
def order_attempt_recorded(order: Order) -> Iterator[None]:
    """A worker attempt: its calls and its timeline lines are stored together, in one commit, when it
    ends (however it ends). A process killed inside loses that attempt's lines and calls; the order's
    state still says where it is. (An order first seen in this attempt whose row was never made, because
    the attempt failed before anything could be written down, keeps nothing.)"""
    with calls_recorded() as calls, timeline_collected() as events:
        try:
            yield
        finally:
            if (events or calls) and order.pk is not None:
                with transaction.atomic():
                    writes_together(_attempt_statements(order.pk, events, calls))


def order_attempt_store_now(order_pk: int, *with_it: Statement) -> None:
    """Store what the attempt collected so far, inside the caller's transaction (its last commit), together
    with the caller's own writes `with_it` (on PostgreSQL: all in one statement)."""
    writes_together([*with_it, *_attempt_statements(order_pk, timeline_taken(), calls_taken())])


def _attempt_statements(order_pk: int, events: list[OrderEvent], calls: list[Call]) -> list[Statement]:
    return timeline_statements(events) + order_calls_statements(order_pk, calls)


def order_calls_expire() -> int:
    """Calls older than ORDER_CALL_LOG_DAYS go (in bounded batches, every sweep)."""
    cutoff = timezone.now() - timedelta(days=settings.ORDER_CALL_LOG_DAYS)
    old = list(OrderCall.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:10000])
    return OrderCall.objects.filter(pk__in=old).delete()[0] if old else 0
