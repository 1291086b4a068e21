"""The words a merchant reads for KMO Shops' payment statuses (the codes stay in the data)."""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

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
