"""Every shared fixture order: sandbox shop → signed webhook → our endpoint → worker → sandbox EF."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from orders.models import OrderState
from tests.conftest import ORDER_FIXTURES

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ORDER_FIXTURES, ids=lambda p: p.stem)
def test_fixture_order_ends_as_expected(pipeline, path):
    case = json.loads(path.read_text(encoding="utf-8"))
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    expect = case["expect"]
    order = pipeline.wait(licence, case["order"]["id"])
    invoices = pipeline.ef_invoices(licence)

    if expect["outcome"] == "open":
        assert order.state == OrderState.OPEN
        assert order.wait_code == expect["reason"]
        assert order.state_reason.startswith("Waiting for payment: the order is “Awaiting payment”.")
        assert "once they are “Paid”" in order.state_reason
        assert invoices == []
        return
    if expect["outcome"] == "error":
        assert order.state == OrderState.ERROR, order.state_reason
        assert order.error_code == expect["code"]
        assert invoices == []
        return

    assert order.state == OrderState.HANDLED, (order.state, order.error_code, order.error_message)
    [invoice] = invoices
    wanted = expect["invoice"]
    assert order.ef_invoice_id == invoice["invoice_id"]
    assert order.ef_invoice_number == invoice["number"]
    assert invoice["date"] == wanted["date"]
    assert invoice["reference"] == wanted["reference"]
    assert invoice["days_due"] == wanted["days_due"]
    assert abs(Decimal(str(invoice["total_with_tax"])) - Decimal(str(wanted["total_with_tax"]))) <= Decimal(
        "0.01"
    )
    assert invoice["totals_by_rate"] == {
        rate: {"base": totals["base"], "vat": totals["vat"]}
        for rate, totals in wanted["totals_by_rate"].items()
    }
    if "note" in wanted:  # an OSS sale says whose VAT, and why, at the bottom of the invoice
        assert invoice["note"] == wanted["note"]
    statuses = {item["tax_rate_special_status"] for item in invoice["items"]}
    assert statuses == {wanted["special_status"]}

    [client] = pipeline.ef_clients(licence)
    assert client["client_id"] == invoice["client_id"]
    for field, value in expect["client"].items():
        if field == "email_address":
            assert client[field].lower() == value.lower()
        elif field == "tax_code":
            assert client[field] == value.replace(" ", "").replace(".", "").upper()
        else:
            assert client[field] == value, field
