"""Texts a merchant reads (reasons, error messages) are stored in English and shown in their language.

`Text` is a str (the English text, for logs, tickets and tests) that also remembers its template and
parameters, so a page can render it again through gettext in the merchant's language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext


class Text(str):
    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        obj = super().__new__(cls, template % params if params else template)
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
        return gettext(payload["t"]) % payload.get("p", {}) if payload.get("p") else gettext(payload["t"])
    except (KeyError, TypeError, ValueError):
        return fallback
