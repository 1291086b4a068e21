"""VIES VAT-number checks: format and checksum locally (python-stdnum), then the EU's REST service.

Three answers: valid, invalid, unavailable. "Unavailable" (VIES or a member state down, busy, timeout) is
never reported as invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from ..errors import TransientError
from ..http import HttpTransport

SERVICE = "VIES"
UNAVAILABLE_CODES = {
    "SERVICE_UNAVAILABLE",
    "MS_UNAVAILABLE",
    "TIMEOUT",
    "GLOBAL_MAX_CONCURRENT_REQ",
    "MS_MAX_CONCURRENT_REQ",
    "VAT_BLOCKED",
    "IP_BLOCKED",
}


class VatStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class VatCheck:
    status: VatStatus
    country_code: str
    number: str
    request_identifier: str = ""
    request_date: str = ""
    name: str = ""
    reason: str = ""


def vat_number_split(raw: str) -> tuple[str, str]:
    """`BE 0651.773.484` -> (`BE`, `0651773484`); the country prefix as VIES wants it (EL for Greece)."""
    compact = eu_vat.compact(raw or "")
    return compact[:2].upper(), compact[2:]


def vat_number_format_valid(raw: str) -> bool:
    """Format and checksum for the member state in the prefix; no network."""
    try:
        eu_vat.validate(raw or "")
    except ValidationError:
        return False
    return True


def _unavailable(country: str, number: str, reason: str) -> VatCheck:
    return VatCheck(VatStatus.UNAVAILABLE, country, number, reason=reason)


def vies_check(raw: str, *, vies_url: str | None = None) -> VatCheck:
    country, number = vat_number_split(raw)
    transport = HttpTransport(vies_url or settings.VIES_URL, service=SERVICE)
    try:
        response = transport.send(
            "POST", "check-vat-number", json={"countryCode": country, "vatNumber": number}
        )
    except TransientError as exc:
        return _unavailable(country, number, exc.message)
    try:
        body: Any = response.json()
    except ValueError:
        return _unavailable(country, number, f"HTTP {response.status_code} without JSON")
    if not isinstance(body, dict):
        return _unavailable(country, number, "unexpected answer")
    if response.status_code != 200 or body.get("actionSucceed") is False:
        wrappers = body.get("errorWrappers") or []
        code = str(wrappers[0].get("error")) if wrappers and isinstance(wrappers[0], dict) else ""
        if code == "INVALID_INPUT":
            return VatCheck(VatStatus.INVALID, country, number, reason=code)
        return _unavailable(country, number, code or f"HTTP {response.status_code}")
    user_error = str(body.get("userError") or "")
    if user_error in UNAVAILABLE_CODES:
        return _unavailable(country, number, user_error)
    valid = body.get("valid", body.get("isValid"))
    if valid is True:
        return VatCheck(
            VatStatus.VALID,
            country,
            number,
            request_identifier=str(body.get("requestIdentifier") or ""),
            request_date=str(body.get("requestDate") or ""),
            name=str(body.get("name") or ""),
        )
    if valid is False:
        return VatCheck(VatStatus.INVALID, country, number, reason=user_error or "INVALID")
    return _unavailable(country, number, "answer without a verdict")
