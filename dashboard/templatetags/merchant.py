"""How a merchant reads numbers and statuses: money in the page's locale, payment statuses by their label."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.translation import gettext

from orders.labels import money_shown, payment_status_label
from orders.models import FollowUp, Order
from orders.oss import COUNTRY_NAMES
from orders.texts import said_of

register = template.Library()


@register.filter
def money(value: Decimal | float | int | str | None) -> str:
    """An amount as `money_shown` writes it in the page's language; empty for no amount."""
    return "" if value in (None, "") else money_shown(value)


@register.filter
def said(value: dict | str | None) -> list[str]:
    """The counterpart's own words, for "Details": from a stored text's payload, or a plain string."""
    if isinstance(value, dict):
        return said_of(value)
    return [value] if value else []


@register.filter
def country_name(code: str) -> str:
    """An EU country's name in the page's language (the code itself for any other)."""
    name = COUNTRY_NAMES.get(code or "")
    return gettext(name) if name else (code or "")


@register.filter
def payment_status(code: str) -> str:
    return payment_status_label(code)


@register.filter
def after_invoice_labels(order: Order) -> list[str]:
    """What happened after the invoice, in a few words per follow-up that was done (Report, More info)."""
    labels = []
    done = getattr(order, "done_follow_ups", None)
    if done is None:
        done = [row for row in order.follow_ups.all() if row.state == FollowUp.State.DONE]
    for row in done:
        if row.kind == FollowUp.Kind.SEND and row.plan.get("document") == "invoice":
            labels.append(
                gettext("sent via Peppol") if row.result.get("channel") == "peppol" else gettext("e-mailed")
            )
        elif row.kind == FollowUp.Kind.CREDIT_NOTE and row.plan.get("reinvoice"):
            labels.append(
                gettext("replaces invoice %(invoice)s (credit note %(number)s)")
                % {"invoice": row.plan.get("invoice_number", ""), "number": row.result.get("number", "")}
            )
        elif row.kind == FollowUp.Kind.CREDIT_NOTE:
            labels.append(gettext("credit note %(number)s") % {"number": row.result.get("number", "")})
    if order.changed_after_invoicing:
        labels.append(gettext("changed after invoicing"))
    return labels
