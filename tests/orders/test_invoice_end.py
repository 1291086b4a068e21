"""The end of an invoice attempt takes the order's lock and picks up what changed while EF made the invoice:
a snapshot stored meanwhile (a refund seen by another worker is credited now) and follow-ups still open."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from licenses.models import Licence
from orders.models import FollowUp, Order
from orders.processing import _order_locked_for_end

READ_AT = datetime(2026, 11, 29, 8, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def order(db) -> Order:
    licence = Licence.objects.create(store_id=97100101, company_name="Shop")
    return Order.objects.create(
        licence=licence,
        order_number="E1",
        snapshot={"total": 25, "paymentStatus": "PAID"},
        snapshot_at=READ_AT,
        total=Decimal("25.00"),
        payment_status="PAID",
    )


def test_nothing_changed_meanwhile_costs_one_query(order):
    held = Order.objects.get(pk=order.pk)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert _order_locked_for_end(held) is False
    assert len([q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]) == 1
    assert held.snapshot == {"total": 25, "paymentStatus": "PAID"}


def test_a_snapshot_stored_meanwhile_is_picked_up(order):
    held = Order.objects.get(pk=order.pk)  # what this worker read before creating the invoice
    later = datetime(2026, 11, 29, 8, 0, 5, tzinfo=UTC)
    refunded = {"total": 25, "paymentStatus": "PARTIALLY_REFUNDED", "refundedAmount": 5}
    Order.objects.filter(pk=order.pk).update(
        snapshot=refunded, snapshot_at=later, payment_status="PARTIALLY_REFUNDED"
    )
    with transaction.atomic():
        _order_locked_for_end(held)
    assert held.snapshot == refunded and held.snapshot_at == later
    assert held.payment_status == "PARTIALLY_REFUNDED"


def test_an_open_follow_up_is_reported_and_a_done_one_is_not(order):
    FollowUp.objects.create(order=order, key="payment", kind=FollowUp.Kind.PAYMENT, state=FollowUp.State.DONE)
    with transaction.atomic():
        assert _order_locked_for_end(Order.objects.get(pk=order.pk)) is False
    FollowUp.objects.create(order=order, key="send", kind=FollowUp.Kind.SEND, state=FollowUp.State.RETRYING)
    with transaction.atomic():
        assert _order_locked_for_end(Order.objects.get(pk=order.pk)) is True
