"""The words and numbers a merchant reads: KMO Shops' payment statuses by their label (the codes stay in the
data), amounts of money in the page's language."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.translation import get_language, gettext, gettext_noop

PAYMENT_STATUS_LABELS = {
    "AWAITING_PAYMENT": gettext_noop("Awaiting payment"),
    "PAID": gettext_noop("Paid"),
    "CANCELLED": gettext_noop("Cancelled"),
    "REFUNDED": gettext_noop("Refunded"),
    "PARTIALLY_REFUNDED": gettext_noop("Partially refunded"),
    "INCOMPLETE": gettext_noop("Incomplete (checkout not finished)"),
    "CUSTOM_PAYMENT_STATUS_1": gettext_noop("Custom status 1"),
    "CUSTOM_PAYMENT_STATUS_2": gettext_noop("Custom status 2"),
    "CUSTOM_PAYMENT_STATUS_3": gettext_noop("Custom status 3"),
}


def payment_status_label(code: str) -> str:
    """The status in the active language; an unknown code is shown as it is."""
    label = PAYMENT_STATUS_LABELS.get(code or "")
    return gettext(label) if label else (code or "-")


def amount_shown(value: Decimal | float | int | str) -> str:
    """`1.234,50` in Dutch, `1 234,50` in French, `1,234.50` in English; a value that is no number as it is."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    return number_format(amount, 2, use_l10n=True, force_grouping=True)


def money_shown(value: Decimal | float | int | str) -> str:
    """`€ 126,90` and `€ -5,00` in Dutch, `126,90 €` in French, `€126.90` in English: the one way each
    language writes money, on lists, in sentences and in the timeline alike (the French catalogue puts the
    sign after the amount in every sentence too)."""
    amount = amount_shown(value)
    language = get_language() or "en"
    if language.startswith("fr"):
        return f"{amount} €"
    return f"€{amount}" if language.startswith("en") else f"€ {amount}"
