"""The per-order call log: exactly the calls the sandboxes received, the counterpart's words on a refusal,
never a secret, shown under More info, exported as CSV, in tickets, and forgotten after the retention."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.call_log import order_calls_expire
from orders.models import Order, OrderCall, OrderState
from tests.conftest import control, order_fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_call_log_of_an_order_is_exactly_what_the_sandboxes_received(pipeline):
    case = order_fixture("a02")  # Belgian company: shop read, EF client, invoice, read back, Peppol send
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.HANDLED
    ef_received = [
        (r["method"], r["path"]) for r in control(pipeline.sandboxes.ef.url, "requests", method="GET")
    ]
    logged = list(order.calls.values_list("service", "method", "path", "status"))
    assert [(m, p) for s, m, p, _ in logged if s == "EenvoudigFactureren"] == ef_received
    assert ("KMO Shops", "GET", f"/api/v3/{licence.store_id}/orders/{order.order_number}", 200) in logged
    assert ("EenvoudigFactureren", "POST", f"/api/v1/invoices/{order.ef_invoice_id}/send", 200) in logged
    text = str(list(order.calls.values()))
    assert licence.ef_api_key not in text and licence.shop_token not in text and "?" not in text


def test_a_refusal_keeps_the_counterparts_own_words(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.ef_fault(status=503, path="/invoices", method="POST")
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "K3M7Q", states=(OrderState.RETRYING, OrderState.HANDLED))
    # The attempt's calls are stored as it ends, just after its state: look until they are there.
    deadline = time.monotonic() + 10
    while not order.calls.filter(status=503).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    refused = order.calls.get(method="POST", path="/api/v1/invoices", status=503)
    assert "internal server error" in refused.error and refused.duration_ms >= 0


def test_more_info_shows_the_calls_the_csv_has_them_all_and_a_ticket_carries_them(pipeline, client):
    from dashboard.tickets import order_context
    from licenses.models import MerchantAccess
    from tests.factories import login

    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "K3M7Q")
    owner = login("calls@shop.example")
    MerchantAccess.objects.create(user=owner, licence=licence)
    client.force_login(owner)
    page = client.get(
        f"/dashboard/{licence.key}/orders/{order.pk}/", HTTP_ACCEPT_LANGUAGE="nl"
    ).content.decode()
    assert 'id="calls"' in page and "/api/v1/invoices" in page
    csv = client.get(f"/dashboard/{licence.key}/orders/{order.pk}/calls.csv").content.decode("utf-8-sig")
    lines = csv.strip().splitlines()
    assert lines[0] == "at,service,method,path,status,duration_ms,error"
    assert len(lines) == 1 + order.calls.count()
    assert len(order_context(Order.objects.get(pk=order.pk))["calls"]) == order.calls.count()


def test_calls_older_than_the_retention_are_forgotten(pipeline, settings):
    settings.ORDER_CALL_LOG_DAYS = 90
    licence = pipeline.licence()
    order = Order.objects.create(licence=licence, order_number="R1")
    now = timezone.now()
    for days in (91, 89):
        OrderCall.objects.create(
            order=order,
            at=now - timedelta(days=days),
            service="EenvoudigFactureren",
            method="GET",
            path="/api/v1/invoices/1",
            status=200,
            duration_ms=5,
        )
    assert order_calls_expire() == 1
    assert [c.at.date() for c in order.calls.all()] == [(now - timedelta(days=89)).date()]
