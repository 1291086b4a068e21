"""Tickets carry everything support needs and never a secret; support is e-mailed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from licenses import throttle
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


CALLS_IN_TICKET = 50


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
        # The latest outbound calls for the order: what we asked KMO Shops, EF and VIES, and what they said.
        "calls": [
            {
                "at": call.at.isoformat(),
                "service": call.service,
                "method": call.method,
                "path": call.path,
                "status": call.status,
                "duration_ms": call.duration_ms,
                "error": call.error,
            }
            for call in order.calls.order_by("-at", "-pk")[:CALLS_IN_TICKET][::-1]
        ],
    }


MESSAGE_MAX = 5000


class TooManyTickets(Exception):
    """The licence sent TICKETS_PER_HOUR tickets within the hour: nothing was made or mailed."""


class MessageTooLong(Exception):
    """The message is longer than MESSAGE_MAX: nothing was made; the caller gives it back to be shortened."""

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length


def ticket_create(
    *, licence: Licence, user: Any, kind: str, message: str, order: Order | None = None
) -> Ticket:
    """Raises TooManyTickets past the licence's hourly limit (a script or a stuck form cannot flood support)
    and MessageTooLong past MESSAGE_MAX characters (never cut: the merchant's words arrive whole or not at all)."""
    if len(message) > MESSAGE_MAX:
        raise MessageTooLong(len(message))
    if throttle.hit(f"tickets:{licence.pk}", 3600) > settings.TICKETS_PER_HOUR:
        raise TooManyTickets
    context: dict[str, Any] = {"licence": licence_context(licence)}
    if order is not None:
        context["order"] = order_context(order)
    ticket = Ticket.objects.create(
        licence=licence, order=order, kind=kind, message=message, context=context, created_by=user
    )
    subject = f"[{licence.key}] {ticket.get_kind_display()} #{ticket.pk}" + (
        f" order {order.order_number}" if order else ""
    )
    admin_url = settings.SITE_URL + reverse("admin:dashboard_ticket_change", args=[ticket.pk])
    body = f"From: {getattr(user, 'email', '')}\n\n{message}\n\nThe ticket, with everything support needs: {admin_url}"
    merchant = str(getattr(user, "email", "") or "")
    language = translation.get_language()

    def send() -> None:
        EmailMessage(
            subject,
            body,
            settings.DEFAULT_FROM_EMAIL,
            [settings.SUPPORT_EMAIL],
            reply_to=[merchant] if merchant else None,
        ).send()
        if merchant:
            with translation.override(language):
                ticket_copy_send(ticket, merchant)

    transaction.on_commit(send)
    return ticket


def ticket_copy_send(ticket: Ticket, to: str) -> None:
    """The merchant's copy: what they sent, and what happens next."""
    tickets_url = settings.SITE_URL + reverse("dashboard-tickets", args=[ticket.licence.key])
    lines = [
        _("We received your message (ticket #%(number)s):") % {"number": ticket.pk},
        "",
        ticket.message or _("(no text: the order and its history were sent along)"),
        "",
        _("Support answers by e-mail within one working day. You also find the answer on your Tickets page:"),
        tickets_url,
    ]
    send_mail(
        _("Ticket #%(number)s received") % {"number": ticket.pk},
        "\n".join(lines),
        settings.DEFAULT_FROM_EMAIL,
        [to],
    )


def ticket_answer_send(ticket: Ticket) -> None:
    """Staff answered in the admin: the merchant gets the answer by e-mail, in the licence's language."""
    to = getattr(ticket.created_by, "email", "") or ticket.licence.contact_email
    if not to:
        return
    with translation.override(ticket.licence.language):
        _answer_mail_send(ticket, to)


def _answer_mail_send(ticket: Ticket, to: str) -> None:
    tickets_url = settings.SITE_URL + reverse("dashboard-tickets", args=[ticket.licence.key])
    body = "\n".join(
        [
            _("Support answered your ticket #%(number)s:") % {"number": ticket.pk},
            "",
            ticket.answer,
            "",
            _("Your question was:"),
            ticket.message,
            "",
            tickets_url,
        ]
    )
    send_mail(
        _("Answer to ticket #%(number)s") % {"number": ticket.pk}, body, settings.DEFAULT_FROM_EMAIL, [to]
    )
