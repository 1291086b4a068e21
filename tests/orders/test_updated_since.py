"""A poller of the merchant's API (`updated_since`) sees every change of an order's state (issue #19, item 8):
every write of an order row moves `updated_at`, the hot paths' hand-built UPDATEs and the ORM's alike."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.api.keys import api_key_create
from orders.models import Order, OrderState
from orders.rows import row_update
from tests.conftest import order_fixture
from tests.factories import licence_for, login, order_for


def _a_moment_later():
    time.sleep(0.01)
    moment = timezone.now()
    time.sleep(0.01)
    return moment


@pytest.mark.django_db
def test_every_kind_of_order_write_moves_updated_at():
    order = order_for(licence_for(login("rows@shop.example")), OrderState.RETRYING)
    since = _a_moment_later()
    row_update(Order, order.pk, {"state": OrderState.HANDLED})
    assert Order.objects.get(pk=order.pk).updated_at > since
    since = _a_moment_later()
    Order.objects.filter(pk=order.pk).update(state=OrderState.ERROR)
    assert Order.objects.get(pk=order.pk).updated_at > since


def _until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _polled(client, key, since) -> dict[str, str]:
    response = client.get(
        reverse("api-orders"),
        {"updated_since": since.isoformat()},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200, response.content
    return {row["order_number"]: row["state"] for row in response.json()["results"]}


# EF takes a second to answer the invoice create: the poller looks while the order is being processed.
SLOW_CREATE = {
    OrderState.HANDLED: {"status": 0, "delay": 1.0},
    OrderState.ERROR: {"status": 400, "delay": 1.0},
    OrderState.RETRYING: {"status": 503, "delay": 1.0},
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("then", SLOW_CREATE)
def test_a_poller_sees_what_became_of_an_order_it_saw_being_processed(pipeline, settings, client, then):
    settings.ORDER_RETRY_BASE_SECONDS = 300
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    _, key = api_key_create(licence=licence, name="Poller")
    pipeline.ef_fault(path="/invoices", method="POST", **SLOW_CREATE[then])
    creates_before = pipeline.ef_posts("/api/v1/invoices")
    pipeline.place(licence, case["order"])
    pipeline.wait(licence, "K3M7Q", states=(OrderState.PROCESSING,))
    # The worker writes the order row (client, invoice mark) until it sends the create; EF then holds it a second.
    _until(lambda: pipeline.ef_posts("/api/v1/invoices") > creates_before)
    since = _a_moment_later()
    assert _polled(client, key, since) == {}  # nothing changed since
    assert pipeline.wait(licence, "K3M7Q", states=(then,)).state == then
    assert _polled(client, key, since) == {"K3M7Q": then}
