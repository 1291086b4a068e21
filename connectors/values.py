"""Counterparts send ids and amounts as numbers or as strings: read both, money as Decimal."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def as_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def as_decimal(value: Any, default: Decimal | None = None) -> Decimal | None:
    if value is None or value == "":
        return default
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default
