"""Write one line on an order's timeline."""

from __future__ import annotations

from typing import Any

from .models import Order, OrderEvent
from .texts import payload_of


def order_event_add(
    order: Order, kind: str, message: str, *, detail: dict[str, Any] | None = None, actor: str = ""
) -> OrderEvent:
    """`message` is a `Text` wherever a merchant may read it: the timeline is shown in their language."""
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        message=message,
        message_text=payload_of(message),
        detail=detail or {},
        actor=actor,
    )
