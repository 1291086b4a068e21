"""Write lines on an order's timeline: one INSERT each, or one INSERT for a whole worker attempt."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from connectors.context_list import ContextList

from .models import Order, OrderEvent
from .rows import Statement, rows_insert_statements
from .texts import payload_of

# Lines written inside `timeline_collected()` are collected, not stored: the block's owner stores them when
# it ends (a worker attempt writes its six or so lines in one INSERT, in the commit of its call log).
_lines: ContextList[OrderEvent] = ContextList("timeline_collected")
timeline_collected = _lines.collecting
timeline_taken = _lines.taken


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
    if not _lines.add(event):
        event.save()
    return event


def timeline_statements(events: list[OrderEvent]) -> list[Statement]:
    return rows_insert_statements(
        OrderEvent,
        ("order", "at", "kind", "message", "message_text", "detail", "actor"),
        [(e.order.pk, e.at, e.kind, e.message, e.message_text, e.detail, e.actor) for e in events],
    )
