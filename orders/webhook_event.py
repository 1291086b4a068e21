"""The shape of an Ecwid webhook event, checked whole before anything is stored (pure, no database).

Ecwid's event is flat: `{eventId, eventCreated, storeId, entityId, eventType, data: {string: string}}`
(docs/specs/kmoshops-api.md §4.3). Anything else — other types, nesting, NUL characters, numbers beyond
64 bits, oversized strings — is refused with a reason, so that storing it can never fail and a worker is
never handed an event it cannot read.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_INT64 = 2**63 - 1
MAX_STRING = 1000
MAX_KEYS = 50
EVENT_TYPE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
SCALAR = (str, int, float, bool, type(None))
# How far ahead of our clock an event may be stamped (the shop's clock may run a little fast).
FUTURE_SKEW_SECONDS = 15 * 60


class InvalidEvent(ValueError):
    """The body is not an event we accept; `str(exc)` says why, in words safe to answer with."""


@dataclass(frozen=True)
class ParsedEvent:
    event_id: str
    event_created: int
    store_id: int
    event_type: str
    body: dict[str, Any]

    @property
    def order_number(self) -> str:
        data = self.body.get("data") or {}
        return str(data.get("orderId") or "")


def _int64(value: Any, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise InvalidEvent(f"{name} is not a number")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if not isinstance(value, int):
        raise InvalidEvent(f"{name} is not a whole number")
    if not minimum <= value <= MAX_INT64:
        raise InvalidEvent(f"{name} is out of range")
    return value


def _text(value: Any, name: str, limit: int = MAX_STRING) -> str:
    if not isinstance(value, str):
        raise InvalidEvent(f"{name} is not text")
    if len(value) > limit:
        raise InvalidEvent(f"{name} is too long")
    if "\x00" in value:
        raise InvalidEvent(f"{name} contains a NUL character")
    return value


def _scalar(value: Any, name: str) -> None:
    if not isinstance(value, SCALAR):
        raise InvalidEvent(f"{name} must be a plain value, not {type(value).__name__}")
    if isinstance(value, str):
        _text(value, name)
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_INT64:
            raise InvalidEvent(f"{name} is out of range")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidEvent(f"{name} is not a finite number")


def _flat_object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidEvent(f"{name} must be an object")
    if len(value) > MAX_KEYS:
        raise InvalidEvent(f"{name} has too many fields")
    for key, item in value.items():
        _text(key, f"a field name in {name}", 100)
        _scalar(item, f"{name}.{key}"[:120])
    return value


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def webhook_event_parse(body: bytes) -> ParsedEvent:
    """The event in `body`, or InvalidEvent with the reason."""
    try:
        raw = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidEvent("the body is not JSON") from exc
    if not isinstance(raw, dict):
        raise InvalidEvent("the body is not a JSON object")
    if len(raw) > MAX_KEYS:
        raise InvalidEvent("the event has too many fields")
    for key, value in raw.items():
        _text(key, "a field name", 100)
        if key != "data":
            _scalar(value, key[:100])
    missing = [
        name for name in ("eventId", "eventCreated", "storeId", "eventType") if raw.get(name) in (None, "")
    ]
    if missing:
        raise InvalidEvent(f"missing {', '.join(missing)}")
    raw_id = raw["eventId"]
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):  # the 2020 docs call it a number
        raw_id = str(_int64(raw_id, "eventId"))
    event_id = _text(raw_id, "eventId", 100)
    if not EVENT_ID.match(event_id):
        raise InvalidEvent("eventId has characters an event id does not have")
    event_type = _text(raw["eventType"], "eventType", 60)
    if not EVENT_TYPE.match(event_type):
        raise InvalidEvent("eventType is not an event name")
    created = _int64(raw["eventCreated"], "eventCreated")
    store_id = _int64(raw["storeId"], "storeId", minimum=1)
    if raw.get("entityId") not in (None, ""):
        _int64(raw["entityId"], "entityId")
    if raw.get("data") is not None:
        data = _flat_object(raw["data"], "data")
        order_id = data.get("orderId")
        if order_id is not None and not (isinstance(order_id, (str, int)) and 0 < len(str(order_id)) <= 100):
            raise InvalidEvent("data.orderId is not an order id")
    return ParsedEvent(
        event_id=event_id, event_created=created, store_id=store_id, event_type=event_type, body=raw
    )


def webhook_event_fresh(event: ParsedEvent, *, now: int, max_age_seconds: int) -> None:
    """KMO Shops retries an event for about a day: an older one is a replay. `now` in Unix seconds."""
    if event.event_created > now + FUTURE_SKEW_SECONDS:
        raise InvalidEvent("eventCreated lies in the future")
    if event.event_created < now - max_age_seconds:
        raise InvalidEvent("the event is older than KMO Shops retries events (a replay)")
