"""The rules after the invoice, without HTTP: delivery channel, which credit notes, how they are split, and
Peppol-safe invoices for every fixture order."""

from __future__ import annotations

import ast
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.after_invoice import (
    Channel,
    CreditDecision,
    credit_note_payload,
    credits_due,
    delivery_for,
    gross_by_rate,
    split_over_rates,
)
from orders.ecwid_mapping import domain_order_from_ecwid
from orders.invoice_mapping import InvoiceOptions, client_payload_build, invoice_payload_build
from tests.conftest import ORDER_FIXTURES, ROOT

D = Decimal


def test_belgian_business_customers_get_peppol_others_email_only_when_chosen():
    choose = dict(peppol_be_business=True, peppol_email_fallback=True, email_others=False)
    assert delivery_for("BE", "BE 0499.944.136", **choose).channel == Channel.PEPPOL
    assert delivery_for("BE", "BE0499944136", **choose).fallback_email is True
    assert delivery_for("BE", "", **choose) is None  # a consumer
    assert delivery_for("NL", "NL859048385B01", **choose) is None  # not under the Belgian mandate
    assert delivery_for("NL", "NL859048385B01", **{**choose, "email_others": True}).channel == Channel.EMAIL
    off = {**choose, "peppol_be_business": False, "email_others": True}
    assert delivery_for("BE", "BE0499944136", **off).channel == Channel.EMAIL


def test_a_full_refund_entry_mirrors_the_invoice():
    snapshot = {"paymentStatus": "REFUNDED", "refunds": [{"date": "d1", "amount": 100, "reason": "x"}]}
    [decision] = credits_due(snapshot, D("100"), credited=D(0), decided=set())
    assert decision.mirror and decision.amount == D("100.00")


def test_a_refund_seen_first_as_status_and_then_as_entry_is_credited_once():
    first = credits_due({"paymentStatus": "REFUNDED"}, D("100"), credited=D(0), decided=set())
    assert [(d.key, d.amount, d.mirror) for d in first] == [("full", D("100.00"), True)]
    later = {"paymentStatus": "REFUNDED", "refunds": [{"date": "d1", "amount": 100}]}
    assert credits_due(later, D("100"), credited=D("100"), decided={"full"}) == []


def test_partial_refunds_then_a_cancellation_credit_exactly_the_invoice():
    snapshot = {
        "paymentStatus": "CANCELLED",
        "refunds": [{"date": "d1", "amount": 10, "reason": "a"}, {"date": "d1", "amount": 10, "reason": "b"}],
    }
    decisions = credits_due(snapshot, D("50"), credited=D(0), decided=set())
    assert [d.amount for d in decisions] == [D("10.00"), D("10.00"), D("30.00")]
    assert len({d.key for d in decisions}) == 3 and not any(d.mirror for d in decisions)
    assert decisions[-1].reason == "cancelled"
    done = {d.key for d in decisions}
    assert credits_due(snapshot, D("50"), credited=D("50"), decided=done) == []


def test_refunds_never_credit_more_than_the_invoice():
    snapshot = {
        "paymentStatus": "PARTIALLY_REFUNDED",
        "refunds": [{"date": "d", "amount": 80}, {"date": "e", "amount": 80}],
    }
    assert [d.amount for d in credits_due(snapshot, D("100"), credited=D(0), decided=set())] == [
        D("80.00"),
        D("20.00"),
    ]


@given(
    amount=st.integers(min_value=1, max_value=10_000_000).map(lambda c: D(c) / 100),
    weights=st.lists(
        st.integers(min_value=0, max_value=10_000_000).map(lambda c: D(c) / 100), min_size=1, max_size=5
    ),
)
def test_a_split_adds_up_to_the_cent_and_follows_the_weights(amount, weights):
    groups = {(str(n), ""): w for n, w in enumerate(weights)}
    shares = split_over_rates(amount, groups)
    if not any(w > 0 for w in weights):
        assert shares == {}
        return
    assert sum(shares.values()) == amount
    total = sum(weights)
    for group, share in shares.items():
        assert abs(share - amount * groups[group] / total) < D("0.01")


def test_a_mirrored_credit_note_negates_quantities_and_keeps_prices_positive():
    invoice = {
        "client_id": 7,
        "language": "dutch",
        "tax_included": True,
        "items": [
            {"description": "A", "quantity": 2, "tax_rate": 21, "amount_with_tax": 12.1},
            {"description": "Korting 21%", "quantity": -1, "tax_rate": 21, "amount_with_tax": 2.0},
        ],
    }
    decision = CreditDecision("full", D("22.20"), True, "refunded")
    payload = credit_note_payload(
        invoice, decision, invoice_number="2026-00001", order_number="X1", external_id="e", on="2026-11-29"
    )
    assert [item["quantity"] for item in payload["items"]] == [-2, 1]
    assert all(item["amount_with_tax"] > 0 for item in payload["items"])
    assert payload["reference"] == "Creditnota voor factuur 2026-00001, bestelling X1"
    assert "days_due" not in payload
    gross = gross_by_rate(payload["items"], tax_included=True)
    assert gross == {("21", ""): D("-22.20")}


def _invoiced_fixtures():
    for path in ORDER_FIXTURES:
        case = json.loads(path.read_text(encoding="utf-8"))
        if case["expect"]["outcome"] == "invoice":
            yield pytest.param(case, id=path.stem)


@pytest.mark.parametrize("case", list(_invoiced_fixtures()))
def test_every_invoice_we_build_passes_the_peppol_rules(case):
    domain = domain_order_from_ecwid(case["order"], case["store_profile"])
    payload = invoice_payload_build(domain, InvoiceOptions(), client_id=1, external_id="x")
    for item in payload["items"]:
        price = item.get("amount", item.get("amount_with_tax"))
        assert price > 0, f"BR-27: {item}"  # a negative price is never sent; discounts are quantity -1
    country = client_payload_build(domain)["country_code"]
    assert country == "" or re.fullmatch(r"[A-Z]{2}", country)
    # Per rate the gross total is exactly what the lines say: discounts moved, amounts did not.
    by_rate = gross_by_rate(payload["items"], tax_included=payload["tax_included"])
    lines = {}
    for line in domain.lines:
        lines[line.vat_rate] = lines.get(line.vat_rate, D(0)) + line.total
    if payload["tax_included"]:
        assert sum(by_rate.values()) == sum(lines.values())


def _imports(module: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_licences_do_not_drive_order_processing_and_sync_does_not_import_processing():
    for module in (ROOT / "licenses").glob("*.py"):
        assert not any(name.startswith("orders") for name in _imports(module)), module.name
    assert not any("processing" in name for name in _imports(ROOT / "orders" / "sync.py"))


def test_a_partial_refund_is_credited_by_what_the_shop_says_or_the_amount_is_asked_once():
    from orders.after_invoice import AMOUNT_NEEDED

    partial = {"paymentStatus": "PARTIALLY_REFUNDED", "refunds": []}
    [ask] = credits_due(partial, Decimal("100"), credited=Decimal(0), decided=set())
    assert ask.needs_amount and ask.key == AMOUNT_NEEDED and ask.amount == 0
    assert credits_due(partial, Decimal("100"), credited=Decimal(0), decided={AMOUNT_NEEDED}) == []
    with_entry = {**partial, "refunds": [{"date": "d", "amount": 20}], "refundedAmount": 20}
    [entry] = credits_due(with_entry, Decimal("100"), credited=Decimal(0), decided=set())
    assert (entry.amount, entry.needs_amount) == (Decimal("20.00"), False)  # the entry, not twice
    total_only = {**partial, "refundedAmount": 30}
    [by_total] = credits_due(total_only, Decimal("100"), credited=Decimal(0), decided=set())
    assert (by_total.amount, by_total.needs_amount) == (Decimal("30.00"), False)
    # A partly credited invoice is not asked about again; a full refund stays the whole rest.
    assert credits_due(partial, Decimal("100"), credited=Decimal("20"), decided={"refund:d:20.00:1"}) == []
    [rest] = credits_due({"paymentStatus": "REFUNDED"}, Decimal("100"), credited=Decimal(0), decided=set())
    assert (rest.amount, rest.mirror) == (Decimal("100.00"), True)
