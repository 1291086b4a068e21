"""Write lines on an order's timeline: one INSERT each, or one INSERT for a whole worker attempt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.utils import timezone

from .models import Order, OrderEvent
from .rows import rows_insert
from .texts import payload_of

_batch: ContextVar[list[OrderEvent] | None] = ContextVar("timeline_batch", default=None)


def order_event_add(
    order: Order, kind: str, message: str, *, detail: dict[str, Any] | None = None, actor: str = ""
) -> OrderEvent:
    """`message` is a `Text` wherever a merchant may read it: the timeline is shown in their language."""
    event = OrderEvent(
        order=order,
        at=timezone.now(),
        kind=kind,
        message=message,
        message_text=payload_of(message),
        detail=detail or {},
        actor=actor,
    )
    batch = _batch.get()
    if batch is None:
        event.save()
    else:
        batch.append(event)
    return event


@contextmanager
def timeline_collected() -> Iterator[list[OrderEvent]]:
    """The lines written inside the block are collected, not stored: the caller stores them when it ends
    (a worker attempt writes its six or so lines in one INSERT, in the commit of its call log)."""
    batch: list[OrderEvent] = []
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)


def timeline_store(events: list[OrderEvent]) -> None:
    rows_insert(
        OrderEvent,
        ("order", "at", "kind", "message", "message_text", "detail", "actor"),
        [(e.order.pk, e.at, e.kind, e.message, e.message_text, e.detail, e.actor) for e in events],
    )


def timeline_taken() -> list[OrderEvent]:
    """The lines collected so far in the open block, handed over (the block goes on with an empty list)."""
    batch = _batch.get()
    if not batch:
        return []
    taken = list(batch)
    batch.clear()
    return taken
