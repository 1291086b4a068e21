"""Mapping and checks as pure functions, on every shared fixture."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from orders.checks import ErrorCode, order_checks
from orders.domain import LineKind, expected_total
from orders.ecwid_mapping import domain_order_from_ecwid
from orders.invoice_mapping import (
    AmountsMode,
    InvoiceOptions,
    client_payload_build,
    external_invoice_id,
    invoice_payload_build,
)
from tests.conftest import ORDER_FIXTURES, order_fixture

CASES = [json.loads(p.read_text(encoding="utf-8")) for p in ORDER_FIXTURES]
IDS = [p.stem for p in ORDER_FIXTURES]


def domain(case):
    return domain_order_from_ecwid(case["order"], case["store_profile"])


def rates(case):
    return [Decimal(str(r)) for r in case["ef_vat_rates"]]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_checks_give_the_fixture_outcome(case):
    failure = order_checks(domain(case), account_rates=rates(case))
    expect = case["expect"]
    if expect["outcome"] == "error":
        assert failure is not None and failure.code == expect["code"]
    else:
        assert failure is None, failure


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["expect"]["outcome"] == "invoice"], ids=lambda c: c["order"]["id"]
)
def test_client_payload_matches_the_fixture(case):
    payload = client_payload_build(domain(case))
    expected = case["expect"]["client"]
    for field in (
        "name",
        "attention",
        "street",
        "street2",
        "postal_code",
        "city",
        "country_code",
        "phone_number",
    ):
        assert payload[field] == expected[field], field
    assert payload["email_address"].lower() == expected["email_address"].lower()
    assert payload["tax_code"] == expected["tax_code"].replace(" ", "").replace(".", "").upper()


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["expect"]["outcome"] == "invoice"], ids=lambda c: c["order"]["id"]
)
def test_invoice_payload_basics(case):
    order = domain(case)
    payload = invoice_payload_build(order, InvoiceOptions(), client_id=7, external_id="kmo-1-x")
    expected = case["expect"]["invoice"]
    assert payload["date"] == expected["date"]
    assert payload["reference"] == expected["reference"]
    assert payload["days_due"] == expected["days_due"] == 14
    non_discount = [line for line in order.lines if line.kind != LineKind.DISCOUNT]
    assert len(non_discount) >= expected["line_count_min"]
    statuses = {item.get("tax_rate_special_status") for item in payload["items"]}
    assert statuses == {expected["special_status"]}
    assert abs(
        expected_total(order.lines, prices_include_tax=order.prices_include_tax)
        - Decimal(str(expected["total_with_tax"]))
    ) <= Decimal("0.01")


def test_discounts_become_one_line_per_rate_of_quantity_minus_one_at_a_positive_price():
    order = domain(order_fixture("a01"))
    discounts = {
        line.vat_rate: (line.quantity, line.unit_price, line.total)
        for line in order.lines
        if line.kind == LineKind.DISCOUNT
    }
    assert discounts == {
        Decimal(21): (Decimal(-1), Decimal("5.24"), Decimal("-5.24")),
        Decimal(6): (Decimal(-1), Decimal("11.38"), Decimal("-11.38")),
    }


def test_handling_fee_is_counted_once_with_its_own_rate():
    order = domain(order_fixture("a03"))
    fees = [line for line in order.lines if line.kind == LineKind.FEE]
    assert [(f.description, f.unit_price, f.vat_rate) for f in fees] == [
        ("Verpakkingskosten", Decimal("2.0"), Decimal(21))
    ]


def test_total_mismatch_message_names_both_amounts():
    failure = order_checks(domain(order_fixture("a09")), account_rates=[Decimal(21), Decimal(6)])
    assert "€72.33" in failure.message and "€77.33" in failure.message


def test_unknown_rate_message_names_the_rate():
    failure = order_checks(domain(order_fixture("a12")), account_rates=[Decimal(21), Decimal(12), Decimal(6)])
    assert "9%" in failure.message


def test_icp_with_wrong_country_prefix_is_invalid():
    case = order_fixture("a06")
    case["order"]["customerTaxId"] = "BE0499944136"
    failure = order_checks(domain(case), account_rates=rates(case))
    assert failure.code == ErrorCode.VAT_NUMBER_INVALID


def test_icp_with_bad_checksum_is_invalid():
    case = order_fixture("a06")
    case["order"]["customerTaxId"] = "NL123456789B01"
    assert order_checks(domain(case), account_rates=rates(case)).code == ErrorCode.VAT_NUMBER_INVALID


def test_other_currency_and_no_lines_are_refused():
    case = order_fixture("a01")
    case["store_profile"]["formatsAndUnits"]["currency"] = "USD"
    assert order_checks(domain(case), account_rates=rates(case)).code == ErrorCode.CURRENCY_UNSUPPORTED
    case = order_fixture("a01")
    case["order"]["items"] = []
    assert order_checks(domain(case), account_rates=rates(case)).code == ErrorCode.NO_LINES


def test_order_date_is_taken_in_the_store_timezone():
    assert str(domain(order_fixture("a04")).order_date) == "2025-02-01"


@pytest.mark.parametrize(
    ("options", "field", "value"),
    [
        (InvoiceOptions(use_order_number=True), "number", "SJ-W4CZL-W"),
        (InvoiceOptions(reference_template="Order {order_number}"), "reference", "Order SJ-W4CZL-W"),
        (InvoiceOptions(layout_id=8002), "layout_id", 8002),
        (InvoiceOptions(amounts=AmountsMode.EXCL), "tax_included", False),
        (InvoiceOptions(amounts=AmountsMode.SHOP), "tax_included", True),
    ],
)
def test_options_change_the_payload(options, field, value):
    payload = invoice_payload_build(domain(order_fixture("a04")), options, client_id=1, external_id="e")
    assert payload[field] == value


def test_excl_vat_sends_net_unit_amounts():
    payload = invoice_payload_build(
        domain(order_fixture("a01")), InvoiceOptions(amounts=AmountsMode.EXCL), client_id=1, external_id="e"
    )
    first = payload["items"][0]
    assert "amount_with_tax" not in first
    assert Decimal(str(first["amount"])) == Decimal("28.884298")


def test_without_options_there_is_no_number_and_no_layout():
    payload = invoice_payload_build(
        domain(order_fixture("a01")), InvoiceOptions(), client_id=1, external_id="e"
    )
    assert "number" not in payload and "layout_id" not in payload


def test_external_invoice_id_is_stable_and_short():
    assert external_invoice_id(12, "K3M7Q") == "kmo-12-K3M7Q"
    long_id = external_invoice_id(12, "PREFIX-" + "X" * 80)
    assert len(long_id) <= 50 and long_id == external_invoice_id(12, "PREFIX-" + "X" * 80)


def test_line_texts_and_invoice_language_follow_the_customer():
    order = domain(order_fixture("a01"))
    payload = invoice_payload_build(order, InvoiceOptions(), client_id=1, external_id="e")
    descriptions = [item["description"] for item in payload["items"]]
    assert payload["language"] == "dutch"
    assert "Verzending: bpost thuislevering" in descriptions
    assert "Korting 21%" in descriptions and "Korting 6%" in descriptions
    case = order_fixture("a01")
    case["order"]["lang"] = "fr"
    payload = invoice_payload_build(domain(case), InvoiceOptions(), client_id=1, external_id="e")
    assert payload["language"] == "french"
    assert "Livraison: bpost thuislevering" in [item["description"] for item in payload["items"]]
    case["order"]["lang"] = "xx"
    case["store_profile"]["languages"] = {}
    assert (
        invoice_payload_build(domain(case), InvoiceOptions(), client_id=1, external_id="e")["language"]
        == "english"
    )
