"""The KMO Shops sandbox's state: stores with their orders, tokens, OAuth codes, and Ecwid's formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..sandbox_server import Response, json_response


def ecwid_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")


def parse_query_time(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    if value.lstrip("-").isdigit():
        return float(value)
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    raise ValueError(value)


def ecwid_error(status: int, code: str, message: str, **headers: str) -> Response:
    return json_response({"errorMessage": message, "errorCode": code}, status, **headers)


@dataclass
class Store:
    store_id: int
    profile: dict[str, Any]
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Token:
    value: str
    store_id: int
    scope: str
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    store_id: int
    redirect_uri: str
    scope: str
    created: float
    token: str | None = None
