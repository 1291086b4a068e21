"""Bulk rows without the ORM's per-object work: any number of them, values stored as the ORM stores them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from licenses.models import Licence
from orders.models import EfClientMatch, Order, OrderCall, OrderEvent
from orders.rows import (
    row_insert_unless_exists,
    row_update,
    row_update_statement,
    row_value,
    rows_insert_statements,
    writes_together,
)
from orders.texts import Text
from orders.timeline import order_event_add, timeline_collected, timeline_statements


@pytest.mark.django_db
def test_a_batch_larger_than_the_databases_parameter_limit_is_stored_whole():
    order = Order.objects.create(licence=Licence.objects.create(store_id=97100001), order_number="R1")
    at = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    with timeline_collected() as lines:
        for n in range(700):  # 7 values a line: 4,900 parameters, more than Django allows SQLite at once
            order_event_add(order, OrderEvent.Kind.STATE, Text("line %(n)s", n=n), detail={"n": n}).at = at
    writes_together(timeline_statements(lines))
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


@pytest.mark.django_db
def test_a_new_row_is_made_once_and_a_conflict_leaves_the_transaction_usable():
    licence = Licence.objects.create(store_id=97100003)
    first = Order(licence=licence, order_number="R3", snapshot={"id": "R3"}, total=Decimal("9.99"))
    with transaction.atomic():
        assert row_insert_unless_exists(first, ("licence", "order_number")) is True
        again = Order(licence=licence, order_number="R3", total=Decimal("1.00"))
        assert row_insert_unless_exists(again, ("licence", "order_number")) is False
        assert again.pk is None
        Order.objects.filter(pk=first.pk).update(state="queued")  # the transaction goes on after the conflict
    stored = Order.objects.get(licence=licence, order_number="R3")
    assert stored.pk == first.pk and stored.total == Decimal("9.99") and stored.snapshot == {"id": "R3"}
    assert stored.state == "queued" and stored.created_at is not None and stored.updated_at is not None


@pytest.mark.django_db
def test_a_hot_path_look_up_finds_the_first_match_or_none():
    licence, other = Licence.objects.create(store_id=97100004), Licence.objects.create(store_id=97100005)
    EfClientMatch.objects.create(licence=other, email="a@x.example", ef_client_id=7)
    assert row_value(EfClientMatch, "ef_client_id", {"licence": licence.pk, "email": "a@x.example"}) is None
    EfClientMatch.objects.create(licence=licence, email="a@x.example", ef_client_id=12)
    assert row_value(EfClientMatch, "ef_client_id", {"licence": licence.pk, "email": "a@x.example"}) == 12
    with pytest.raises(ValueError, match="converting"):
        row_value(Order, "snapshot", {"licence": licence.pk})


@pytest.mark.django_db
def test_independent_writes_reach_the_database_together_and_whole():
    order = Order.objects.create(licence=Licence.objects.create(store_id=97100006), order_number="R6")
    at = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    statements = [
        row_update_statement(Order, order.pk, {"state": "handled", "handled_at": at}),
        *rows_insert_statements(
            OrderEvent,
            ("order", "at", "kind", "message", "message_text", "detail", "actor"),
            [(order.pk, at, "state", f"line {n}", {}, {}, "") for n in range(3)],
        ),
        *rows_insert_statements(
            OrderCall,
            ("order", "at", "service", "method", "path", "status", "duration_ms", "error"),
            [(order.pk, at, "EenvoudigFactureren", "GET", "/invoices/1", 200, 12, "")],
        ),
    ]
    with CaptureQueriesContext(connection) as queries:
        writes_together(statements)
    assert len(queries.captured_queries) == (1 if connection.vendor == "postgresql" else 3)
    stored = Order.objects.get(pk=order.pk)
    assert (stored.state, stored.handled_at) == ("handled", at)
    assert [e.message for e in order.events.order_by("pk")] == ["line 0", "line 1", "line 2"]
    assert order.calls.get().status == 200
