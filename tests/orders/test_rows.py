"""Bulk rows without the ORM's per-object work: any number of them, values stored as the ORM stores them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from licenses.models import Licence
from orders.models import Order, OrderCall, OrderEvent
from orders.rows import row_update
from orders.texts import Text
from orders.timeline import order_event_add, timeline_collected, timeline_store


@pytest.mark.django_db
def test_a_batch_larger_than_the_databases_parameter_limit_is_stored_whole():
    order = Order.objects.create(licence=Licence.objects.create(store_id=97100001), order_number="R1")
    at = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    with timeline_collected() as lines:
        for n in range(700):  # 7 values a line: 4,900 parameters, more than Django allows SQLite at once
            order_event_add(order, OrderEvent.Kind.STATE, Text("line %(n)s", n=n), detail={"n": n}).at = at
    timeline_store(lines)
    stored = list(order.events.order_by("id"))
    assert len(stored) == 700
    assert stored[699].detail == {"n": 699} and stored[699].at == at
    assert stored[0].message == "line 0" and stored[0].message_text == {"t": "line %(n)s", "p": {"n": 0}}
    assert not OrderCall.objects.exists()


@pytest.mark.django_db
def test_a_hot_path_update_stores_values_as_the_orm_does_and_honours_its_condition():
    order = Order.objects.create(licence=Licence.objects.create(store_id=97100002), order_number="R2")
    at = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    values = {
        "state": "processing",
        "claimed_at": at,
        "total": Decimal("12.30"),
        "ef_invoice_payload": {"items": [{"amount": "12.30"}], "reference": "R2"},
        "state_reason": "",
    }
    assert row_update(Order, order.pk, values, when={"state": "queued"}, add_one=("attempts",)) == 0
    assert Order.objects.get(pk=order.pk).state == "open"  # the row did not hold what was asked: untouched

    assert row_update(Order, order.pk, values, when={"state": order.state}, add_one=("attempts",)) == 1
    stored = Order.objects.get(pk=order.pk)
    assert (stored.state, stored.claimed_at, stored.total, stored.attempts) == (
        "processing",
        at,
        Decimal("12.30"),
        1,
    )
    assert stored.ef_invoice_payload == values["ef_invoice_payload"]
    with pytest.raises(ValueError, match="NULL"):
        row_update(Order, order.pk, {"state": "open"}, when={"claimed_at": None})
