"""Texts a merchant reads (reasons, error messages) are stored in English and shown in their language.

`Text` is a str (the English text, for logs, tickets and tests) that also remembers its template and
parameters, so a page can render it again through gettext in the merchant's language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from .labels import PAYMENT_STATUS_LABELS, payment_statuses_label

# Parameters that hold payment status codes (several joined by "|"): shown by their label.
STATUS_PARAMS = ("status", "wanted")


def _shown(params: dict[str, Any], *, translate: bool) -> dict[str, Any]:
    shown = dict(params)
    for name in STATUS_PARAMS:
        if isinstance(shown.get(name), str):
            codes = shown[name]
            shown[name] = (
                payment_statuses_label(codes)
                if translate
                else " / ".join(PAYMENT_STATUS_LABELS.get(c, c) for c in codes.split("|") if c) or "-"
            )
    return shown


class Text(str):
    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        obj = super().__new__(cls, template % _shown(params, translate=False) if params else template)
        obj.template = template
        obj.params = params
        return obj


def payload_of(value: str) -> dict[str, Any]:
    return {"t": value.template, "p": value.params} if isinstance(value, Text) else {}


def text_fields(**fields: Any) -> dict[str, Any]:
    """Add the translatable payload beside `state_reason` and `error_message` when they are written."""
    if "state_reason" in fields:
        fields["state_reason_text"] = payload_of(fields["state_reason"])
    if "error_message" in fields:
        fields["error_text"] = payload_of(fields["error_message"])
    return fields


def translated(payload: dict[str, Any] | None, fallback: str) -> str:
    if not payload or "t" not in payload:
        return fallback
    try:
        params = payload.get("p")
        return gettext(payload["t"]) % _shown(params, translate=True) if params else gettext(payload["t"])
    except (KeyError, TypeError, ValueError):
        return fallback
