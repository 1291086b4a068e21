"""Texts a merchant reads (reasons, error messages, the timeline) are stored in English and shown in their
language.

`Text` is a str (the English text, for logs, tickets and tests) that also remembers its template and
parameters, so a page can render it again through gettext in the merchant's language. A parameter may be
a Text itself (a reason inside a state change); codes in known parameters are shown by their label.

What a counterpart said in its own words (EF's "client_id unknown", KMO Shops' "Bad Request") is never
part of the sentence: it travels beside it as `said`, is appended to the English str for logs, support and
the admin, and is shown on pages behind "Details" (`said_of`), so a Dutch or French page reads whole.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext, gettext_noop

from .labels import PAYMENT_STATUS_LABELS, amount_shown, money_shown
from .oss import COUNTRY_NAMES
from .retired_texts import SAID, payload_current

# Parameters that hold payment status codes (several joined by "|").
STATUS_PARAMS = ("status", "wanted")
# Parameters that hold an amount of money, stored as "100.13" (the template says where € goes in each
# language) or "€100.13"; shown with the language's decimal comma and grouping.
MONEY_PARAMS = ("total", "amount", "invoiced", "computed", "difference")
# Parameters that hold a date ("2026-11-15") or a local date and time ("2026-11-15 10:00"), stored as ISO:
# shown as the language writes dates (15-11-2026, 15/11/2026).
DATE_PARAMS = ("date", "when")
# Parameters that hold VAT rates as written in English ("5.5%, 20%"): shown with the language's decimal comma.
RATE_PARAMS = ("rates", "have")
DECIMAL = re.compile(r"\d+\.\d+")
STATE_LABELS = {
    "open": gettext_noop("Open"),
    "queued": gettext_noop("Queued"),
    "processing": gettext_noop("Processing"),
    "retrying": gettext_noop("Retrying"),
    "handled": gettext_noop("Handled"),
    "error": gettext_noop("Error"),
    "ignored": gettext_noop("Ignored"),
    "deleted": gettext_noop("Deleted"),
}
# Parameters whose codes are shown as words a merchant understands: order states, what happened, what
# started a read.
WORD_PARAMS: dict[str, dict[str, str]] = {
    "previous": STATE_LABELS,
    "state": STATE_LABELS,
    "event": {
        "order.created": gettext_noop("“New order” notice"),
        "order.updated": gettext_noop("“Order changed” notice"),
        "order.deleted": gettext_noop("“Order deleted” notice"),
    },
    "trigger": {
        "webhook order.created": gettext_noop("“new order” notice"),
        "webhook order.updated": gettext_noop("“order changed” notice"),
        "resume": gettext_noop("resumed"),
        "catch-up": gettext_noop("catch-up"),
        "backfill": gettext_noop("fetching earlier orders"),
    },
    "country": COUNTRY_NAMES,
}


def _shown(params: dict[str, Any], *, translate: bool) -> dict[str, Any]:
    word = gettext if translate else (lambda text: text)
    shown = dict(params)
    for name, value in params.items():
        if isinstance(value, dict) and "t" in value:  # a nested text
            shown[name] = translated(value, "") if translate else _render(value["t"], value.get("p"), False)
        elif name in STATUS_PARAMS and isinstance(value, str):
            labels = [
                word(PAYMENT_STATUS_LABELS[c]) if c in PAYMENT_STATUS_LABELS else c for c in value.split("|")
            ]
            shown[name] = " / ".join(label for label in labels if label) or "-"
        elif isinstance(value, str) and value in WORD_PARAMS.get(name, {}):
            shown[name] = word(WORD_PARAMS[name][value])
        elif translate and name in MONEY_PARAMS and isinstance(value, str):
            shown[name] = money_shown(value[1:]) if value.startswith("€") else amount_shown(value)
        elif translate and name in DATE_PARAMS and isinstance(value, str):
            shown[name] = _date_shown(value)
        elif translate and name in RATE_PARAMS and isinstance(value, str):
            shown[name] = DECIMAL.sub(
                lambda found: number_format(Decimal(found.group()), use_l10n=True), value
            )
    return shown


def _date_shown(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    has_time = len(value) > len("2026-11-15")
    return date_format(moment, "SHORT_DATETIME_FORMAT" if has_time else "SHORT_DATE_FORMAT")


def _render(template: str, params: dict[str, Any] | None, translate: bool) -> str:
    text = gettext(template) if translate else template
    return text % _shown(params, translate=translate) if params else text


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {name: payload_of(value) if isinstance(value, Text) else value for name, value in params.items()}


class Text(str):
    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        plain = _plain(params)
        english = _render(template, plain, False)
        said = "; ".join(said_of({"t": template, "p": plain}))
        obj = super().__new__(cls, f"{english} [{said}]" if said else english)
        obj.template = template
        obj.params = plain
        return obj


def payload_of(value: str) -> dict[str, Any]:
    return {"t": value.template, "p": value.params} if isinstance(value, Text) else {}


def text_from(payload: dict[str, Any] | None, fallback: str = "") -> str:
    """The Text a payload was made from (a str as it is when there is none)."""
    if not payload or "t" not in payload:
        return fallback
    payload = payload_current(payload)
    return Text(payload["t"], **(payload.get("p") or {}))


def shown(value: str) -> str:
    """A reason in the current language: a Text through its template, a plain word through gettext."""
    return translated(payload_of(value), gettext(value) if value else value)


def said_of(payload: dict[str, Any] | None) -> list[str]:
    """The counterparts' own words a stored text carries (its own and its nested texts'), in order."""
    if not payload or "t" not in payload:
        return []
    payload = payload_current(payload)
    said: list[str] = []
    for name, value in (payload.get("p") or {}).items():
        if name == SAID and value:
            said.append(str(value))
        elif isinstance(value, dict):
            said += said_of(value)
    return list(dict.fromkeys(said))


def said_with(payload: dict[str, Any] | None, answer: str) -> list[str]:
    """For "Details": the counterparts' words a stored text carries, and the answer stored beside it."""
    return list(dict.fromkeys([*said_of(payload), *([answer] if answer else [])]))


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
    payload = payload_current(payload)  # a text stored by an earlier release reads as today's
    try:
        return _render(payload["t"], payload.get("p"), True)
    except (KeyError, TypeError, ValueError):
        return fallback
