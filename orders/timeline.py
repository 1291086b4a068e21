"""Write one line on an order's timeline."""

from __future__ import annotations

from typing import Any

from .models import Order, OrderEvent


def order_event_add(
    order: Order, kind: str, message: str, *, detail: dict[str, Any] | None = None, actor: str = ""
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, kind=kind, message=message, detail=detail or {}, actor=actor
    )
