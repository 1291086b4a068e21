"""Property-based: for any consistent order, EF's invoice total equals the order total within a cent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.eenvoudigfactureren.sandbox import Account, EfSandbox
from orders.domain import money
from orders.ecwid_mapping import domain_order_from_ecwid
from orders.invoice_mapping import AmountsMode, InvoiceOptions, invoice_payload_build

RATES = [21, 12, 6, 0]
PROFILE = {
    "company": {"countryCode": "BE"},
    "formatsAndUnits": {"currency": "EUR", "timezone": "Europe/Brussels"},
}
cents = st.integers(min_value=1, max_value=200_000).map(lambda c: Decimal(c) / 100)


@st.composite
def consistent_orders(draw):
    gross = draw(st.booleans())
    items, by_rate = [], {}
    for n in range(draw(st.integers(min_value=1, max_value=8))):
        price, qty, rate = draw(cents), draw(st.integers(1, 40)), draw(st.sampled_from(RATES))
        line = money(price * qty)
        coupon = money(line * draw(st.integers(0, 50)) / 100)
        items.append(
            {
                "id": n,
                "name": f"P{n}",
                "price": float(price),
                "quantity": qty,
                "couponAmount": float(coupon),
                "taxes": [{"value": rate}] if rate else [],
                "discounts": [],
            }
        )
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + line - coupon
    shipping = draw(st.one_of(st.just(Decimal(0)), cents))
    ship_rate = draw(st.sampled_from(RATES))
    by_rate[ship_rate] = by_rate.get(ship_rate, Decimal(0)) + shipping
    if gross:
        total = sum(by_rate.values(), Decimal(0))
    else:
        total = sum((b + money(b * r / 100) for r, b in by_rate.items()), Decimal(0))
    order = {
        "id": "H1",
        "email": "h@example.be",
        "paymentStatus": "PAID",
        "createTimestamp": 1_750_000_000,
        "pricesIncludeTax": gross,
        "items": items,
        "total": float(total),
        "tax": 1,
        "shippingOption": {"shippingMethodName": "bpost", "shippingRate": float(shipping)},
        "taxesOnShipping": [{"value": ship_rate}] if ship_rate else [],
        "billingPerson": {"name": "H", "countryCode": "BE"},
    }
    return order, by_rate, gross


def ef_totals(payload):
    ef = EfSandbox()
    account = Account("k", "C1", "x", [Decimal(21), Decimal(12), Decimal(6)], [], set())
    items = [
        ef._build_item(item, payload["tax_included"], {Decimal(r) for r in RATES})
        for item in payload["items"]
    ]
    return ef._totals(items, payload["tax_included"], "total", account)


@settings(max_examples=150, deadline=None)
@given(consistent_orders())
def test_invoice_total_equals_order_total_and_rates_add_up(generated):
    order_json, by_rate, gross = generated
    order = domain_order_from_ecwid(order_json, PROFILE)
    payload = invoice_payload_build(order, InvoiceOptions(), client_id=1, external_id="e")
    totals = ef_totals(payload)
    assert abs(totals["total_with_tax"] - Decimal(str(order_json["total"]))) <= Decimal("0.01")
    per_rate = totals["_by_rate"]
    assert sum((r["base"] + r["vat"] for r in per_rate.values()), Decimal(0)) == totals["total_with_tax"]
    for rate, amount in by_rate.items():
        key = str(Decimal(rate).normalize())
        if amount and gross:
            assert per_rate[key]["base"] + per_rate[key]["vat"] == amount


@settings(max_examples=100, deadline=None)
@given(consistent_orders())
def test_forcing_the_other_basis_stays_within_a_cent_per_rate(generated):
    order_json, by_rate, gross = generated
    order = domain_order_from_ecwid(order_json, PROFILE)
    forced = AmountsMode.EXCL if gross else AmountsMode.INCL
    totals = ef_totals(
        invoice_payload_build(order, InvoiceOptions(amounts=forced), client_id=1, external_id="e")
    )
    lines = len(order.lines)
    # Each line's amount is rounded to 6 places and then to cents: at most a cent per line, per rate.
    assert abs(totals["total_with_tax"] - Decimal(str(order_json["total"]))) <= Decimal("0.01") * (lines + 1)
