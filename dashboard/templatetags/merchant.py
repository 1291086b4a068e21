"""How a merchant reads numbers and statuses: money in the page's locale, payment statuses by their label."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.translation import get_language

from orders.labels import payment_status_label

register = template.Library()


@register.filter
def money(value: Decimal | float | int | str | None) -> str:
    """`€ 126,90` and `€ -5,00` in Dutch and French, `€126.90` in English; empty for no amount."""
    if value in (None, ""):
        return ""
    amount = number_format(Decimal(str(value)), 2, use_l10n=True, force_grouping=True)
    return f"€{amount}" if (get_language() or "en").startswith("en") else f"€ {amount}"


@register.filter
def payment_status(code: str) -> str:
    return payment_status_label(code)
