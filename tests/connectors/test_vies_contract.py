"""VIES client against the VIES sandbox."""

from __future__ import annotations

import pytest

from connectors.vies.client import VatStatus, vat_number_format_valid, vat_number_split, vies_check
from tests.conftest import control


def test_numbers_are_split_and_compacted():
    assert vat_number_split("BE 0651.773.484") == ("BE", "0651773484")
    assert vat_number_split("nl528713218b01") == ("NL", "528713218B01")


@pytest.mark.parametrize(
    ("number", "valid"),
    [("NL528713218B01", True), ("BE0499944136", True), ("BE 0651.773.484", True), ("NL123456789B01", False)]
    + [("DE123456789", False), ("", False), ("XX123", False)],
)
def test_format_and_checksum_are_checked_locally(number, valid):
    assert vat_number_format_valid(number) is valid


def test_valid_numbers_bring_a_consultation_number(sandboxes):
    result = vies_check("NL528713218B01")
    assert result.status == VatStatus.VALID
    assert result.request_identifier.startswith("WAPI")
    assert control(sandboxes.vies.url, "checks", method="GET") == ["NL528713218B01"]


def test_invalid_numbers_are_invalid(sandboxes):
    control(sandboxes.vies.url, "answers", {"numbers": {"NL528713218B01": "invalid"}})
    assert vies_check("NL528713218B01").status == VatStatus.INVALID


@pytest.mark.parametrize("style", ["wrapper", "user_error"])
def test_an_unavailable_member_state_is_never_invalid(sandboxes, style):
    control(sandboxes.vies.url, "answers", {"default": "unavailable", "error_style": style})
    result = vies_check("NL528713218B01")
    assert result.status == VatStatus.UNAVAILABLE
    assert result.reason == "MS_UNAVAILABLE"


def test_an_unreachable_vies_is_unavailable(settings):
    settings.VIES_URL = "http://127.0.0.1:9"
    assert vies_check("NL528713218B01").status == VatStatus.UNAVAILABLE
