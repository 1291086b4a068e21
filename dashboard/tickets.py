"""Tickets carry everything support needs and never a secret; support is e-mailed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from licenses.models import CONFIG_FIELDS, Licence
from orders.models import Order

from .models import Ticket


def licence_context(licence: Licence) -> dict[str, Any]:
    return {
        "key": licence.key,
        "state": licence.effective_state,
        "company": licence.company_name,
        "store_id": licence.store_id,
        "shop": {"status": licence.shop_status, "reason": licence.shop_status_reason},
        "ef": {
            "status": licence.ef_status,
            "reason": licence.ef_status_reason,
            "account": licence.ef_account_number,
            "vat_rates": licence.ef_vat_rates,
        },
        "configuration": {name: str(getattr(licence, name)) for name in CONFIG_FIELDS},
    }


def order_context(order: Order) -> dict[str, Any]:
    return {
        "order_number": order.order_number,
        "state": order.state,
        "state_reason": order.state_reason,
        "error_code": order.error_code,
        "error_message": order.error_message,
        "ef_answer": order.ef_answer,
        "attempts": order.attempts,
        "ef_invoice_id": order.ef_invoice_id,
        "snapshot": order.snapshot,
        "timeline": [
            {"at": event.at.isoformat(), "kind": event.kind, "message": event.message, "actor": event.actor}
            for event in order.events.all()
        ],
    }


def ticket_create(
    *, licence: Licence, user: Any, kind: str, message: str, order: Order | None = None
) -> Ticket:
    context: dict[str, Any] = {"licence": licence_context(licence)}
    if order is not None:
        context["order"] = order_context(order)
    ticket = Ticket.objects.create(
        licence=licence, order=order, kind=kind, message=message[:5000], context=context, created_by=user
    )
    subject = f"[{licence.key}] {ticket.get_kind_display()} #{ticket.pk}" + (
        f" order {order.order_number}" if order else ""
    )
    body = f"From: {getattr(user, 'email', '')}\n\n{message}\n\nSee the ticket in the admin: /admin/dashboard/ticket/{ticket.pk}/change/"
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [settings.SUPPORT_EMAIL])
    )
    return ticket
