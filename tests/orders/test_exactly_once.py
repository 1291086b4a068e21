"""Exactly one EF invoice per order, whatever arrives twice, out of order, late, or fails halfway."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.db import connection

from orders.catchup import licence_catch_up
from orders.models import Order, OrderState, WebhookEvent
from orders.processing import order_process
from orders.sweep import orders_sweep
from tests.concurrency import at_once
from tests.conftest import control, order_fixture

pytestmark = pytest.mark.django_db(transaction=True)


def drive(pipeline, licence, number, *, seconds: float = 15) -> Order:
    """Run the sweep (as the schedule would) until the order is finished."""
    pipeline.wait(licence, number, states=tuple(OrderState))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        order = Order.objects.get(licence=licence, order_number=number)
        if order.state in (OrderState.HANDLED, OrderState.ERROR):
            return order
        orders_sweep()
        time.sleep(0.05)
    return Order.objects.get(licence=licence, order_number=number)


def test_duplicate_webhooks_make_one_invoice(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    control(pipeline.sandboxes.kmoshops.url, "webhooks/config", {"duplicate": True})
    pipeline.place(licence, case["order"])
    pipeline.webhooks_idle()
    order = pipeline.wait(licence, "K3M7Q", states=(OrderState.HANDLED,))
    assert len(pipeline.ef_invoices(licence)) == 1
    assert WebhookEvent.objects.get(licence=licence).deliveries == 2
    assert order.ef_invoice_number


def test_updated_before_created_makes_one_invoice(pipeline):
    case = order_fixture("a10")  # AWAITING_PAYMENT, then paid
    licence = pipeline.licence(case)
    control(pipeline.sandboxes.kmoshops.url, "webhooks/config", {"hold": True})
    pipeline.place(licence, case["order"])
    pipeline.pay(licence, case["order"]["id"])
    control(pipeline.sandboxes.kmoshops.url, "webhooks/config", {"hold": False})
    control(pipeline.sandboxes.kmoshops.url, "webhooks/flush", {"reverse": True})
    pipeline.webhooks_idle()
    order = pipeline.wait(licence, case["order"]["id"], states=(OrderState.HANDLED,))
    assert len(pipeline.ef_invoices(licence)) == 1
    kinds = [e.message for e in order.events.filter(kind="webhook")]
    assert kinds == ["“Order changed” notice received", "“New order” notice received"]


def test_awaiting_payment_waits_then_is_invoiced_when_paid(pipeline):
    case = order_fixture("a10")
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.OPEN
    assert order.state_reason == (
        "Waiting for payment: the order is “Awaiting payment”. Orders are processed once they are “Paid” "
        "(Configuration → payment statuses)."
    )
    pipeline.pay(licence, case["order"]["id"])
    order = pipeline.wait(licence, case["order"]["id"], states=(OrderState.HANDLED,))
    assert len(pipeline.ef_invoices(licence)) == 1


def test_a_dropped_webhook_is_caught_by_the_catch_up(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    control(pipeline.sandboxes.kmoshops.url, "webhooks/config", {"drop": True})
    order_json = dict(case["order"], updateTimestamp=int(time.time()))
    pipeline.place(licence, order_json)
    assert not Order.objects.filter(licence=licence).exists()
    assert licence_catch_up(licence) == 1
    assert Order.objects.get(licence=licence).state == OrderState.QUEUED  # waits for its round
    call_command("pipeline_ticker", "--once")
    order = pipeline.wait(licence, "K3M7Q", states=(OrderState.HANDLED,))
    assert len(pipeline.ef_invoices(licence)) == 1
    licence.refresh_from_db()
    assert licence.last_synced_at is not None
    assert licence_catch_up(licence) == 0  # nothing new: no second look, no second invoice
    assert len(pipeline.ef_invoices(licence)) == 1
    assert "catch-up" in order.events.filter(kind="read").first().message


@pytest.mark.parametrize(
    "faults",
    [
        [{"status": 429, "retry_after": 0, "path": "/invoices", "method": "POST"}],
        [{"status": 503, "path": "/invoices", "method": "POST", "count": 3}],
        [
            {"status": 500, "path": "/clients"},
            {"status": 502, "drop": True, "path": "/invoices", "method": "POST"},
        ],
    ],
    ids=["429", "5xx", "dropped"],
)
def test_transient_ef_failures_are_retried_to_one_invoice(pipeline, faults):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    for fault in faults:
        pipeline.ef_fault(**fault)
    pipeline.place(licence, case["order"])
    first = pipeline.wait(licence, "K3M7Q", states=(OrderState.RETRYING, OrderState.HANDLED))
    assert first.state == OrderState.RETRYING
    assert first.state_reason.startswith("Retrying at")
    order = drive(pipeline, licence, "K3M7Q")
    assert order.state == OrderState.HANDLED
    assert len(pipeline.ef_invoices(licence)) == 1


def test_a_slow_ef_beyond_the_timeout_then_success_makes_one_invoice(pipeline, settings):
    settings.HTTP_READ_TIMEOUT = 0.5
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    # EF makes the invoice but answers too late: we time out, then must find it instead of making another.
    pipeline.ef_fault(status=0, delay=1.0, path="/invoices", method="POST")
    pipeline.place(licence, case["order"])
    order = drive(pipeline, licence, "K3M7Q")
    assert order.state == OrderState.HANDLED
    assert len(pipeline.ef_invoices(licence)) == 1
    assert order.events.filter(message__startswith="Found invoice").exists()


def test_ef_that_stays_down_ends_in_ef_unreachable(pipeline, settings):
    settings.ORDER_MAX_ATTEMPTS = 3
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.ef_fault(status=503, count=10)
    pipeline.place(licence, case["order"])
    order = drive(pipeline, licence, "K3M7Q")
    assert order.state == OrderState.ERROR
    assert order.error_code == "EF_UNREACHABLE"
    assert order.attempts == 3
    assert pipeline.ef_invoices(licence) == []


def test_a_shop_that_cannot_be_read_ends_in_shop_unreachable(pipeline, settings):
    settings.ORDER_MAX_ATTEMPTS = 2
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    control(pipeline.sandboxes.kmoshops.url, "faults", {"status": 503, "count": 10})
    pipeline.place(licence, case["order"])
    order = drive(pipeline, licence, "K3M7Q")
    assert order.state == OrderState.ERROR
    assert order.error_code == "SHOP_UNREACHABLE"
    # The shop's words are in the error; nothing is shown as "EenvoudigFactureren answered".
    assert "503" in order.error_message and order.ef_answer == ""


def test_the_answer_lost_after_ef_created_the_invoice_makes_no_second_one(pipeline):
    case = order_fixture("a05")
    licence = pipeline.licence(case)
    pipeline.ef_fault(status=502, drop=True, after=True, path="/invoices", method="POST")
    pipeline.place(licence, case["order"])
    order = drive(pipeline, licence, case["order"]["id"])
    assert order.state == OrderState.HANDLED
    [invoice] = pipeline.ef_invoices(licence)
    assert order.ef_invoice_id == invoice["invoice_id"]


def test_two_workers_racing_on_one_order_make_one_invoice(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case, configured_at=None)  # orders wait in Open until configured
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "K3M7Q")
    Order.objects.filter(pk=order.pk).update(state=OrderState.QUEUED)
    licence.configured_at = licence.created_at
    licence.save()
    pipeline.ef_fault(status=0, delay=0.3, path="/invoices", method="POST")  # widen the window
    results = at_once(*[lambda: order_process(order.pk)] * 4)
    assert [r for r in results if isinstance(r, Exception)] == []
    order.refresh_from_db()
    assert order.state == OrderState.HANDLED
    assert order.attempts == 1
    assert len(pipeline.ef_invoices(licence)) == 1


def test_workers_reading_one_new_order_at_once_make_one_row_and_one_invoice(pipeline):
    """Duplicate webhooks of an order we have never seen, handled by four workers at the same moment: the
    row is made by one of them in the commit that stores its read; the others find it and keep their
    timeline lines on it; one of them claims it and makes the only invoice."""
    from orders.intake import webhook_event_handle

    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"], notify=False)
    events = [
        WebhookEvent.objects.create(
            event_id=f"dup-{n}",
            event_type="order.created",
            store_id=licence.store_id,
            licence=licence,
            body={"eventType": "order.created", "data": {"orderId": "K3M7Q"}},
        )
        for n in range(4)
    ]
    results = at_once(*[lambda pk=event.pk: webhook_event_handle(pk) for event in events])
    assert [r for r in results if isinstance(r, Exception)] == []
    [order] = Order.objects.filter(licence=licence, order_number="K3M7Q")
    order = pipeline.wait(licence, "K3M7Q", states=(OrderState.HANDLED,))
    assert len(pipeline.ef_invoices(licence)) == 1
    assert order.events.filter(kind="webhook").count() == len(events)  # every worker's lines on the one row
    assert not WebhookEvent.objects.filter(pk__in=[e.pk for e in events], outcome="failed").exists()


def test_a_catch_up_with_nothing_new_reads_no_orders_of_the_licence(pipeline):
    from django.test.utils import CaptureQueriesContext

    from tests.factories import order_for

    case = order_fixture("a01")
    licence = pipeline.licence(case)
    for _ in range(50):
        order_for(licence, OrderState.HANDLED)
    with CaptureQueriesContext(connection) as queries:
        assert licence_catch_up(licence) == 0
    assert not [q["sql"] for q in queries.captured_queries if 'FROM "orders_order"' in q["sql"]]


def test_the_ticker_starts_a_due_retry_and_queues_it_only_once(pipeline):
    from django.core.management import call_command

    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.ef_fault(status=503, path="/invoices", method="POST")
    pipeline.place(licence, case["order"])
    first = pipeline.wait(licence, "K3M7Q", states=(OrderState.RETRYING,))
    assert first.next_attempt_at is not None
    call_command("pipeline_ticker", "--once")  # due now (no backoff in tests): queued and processed
    order = Order.objects.get(pk=first.pk)
    assert order.state == OrderState.HANDLED
    assert len(pipeline.ef_invoices(licence)) == 1


def test_due_retries_turn_queued_once_and_are_handed_out_once(pipeline, settings, monkeypatch):
    from django_q.conf import Conf

    from orders.processing import order_enqueue_due
    from orders.sweep import orders_hand_out_round

    monkeypatch.setattr(Conf, "SYNC", False)  # only count what is handed to the broker
    licence = pipeline.licence()
    order = Order.objects.create(licence=licence, order_number="T1", state=OrderState.RETRYING)
    Order.objects.filter(pk=order.pk).update(next_attempt_at=order.created_at)
    handed: list[int] = []
    monkeypatch.setattr("orders.sweep.enqueue", lambda task, pk: handed.append(pk))
    assert order_enqueue_due() == 1
    assert order_enqueue_due() == 0
    assert orders_hand_out_round() == 1
    assert orders_hand_out_round() == 0  # its task is out: not again until it is presumed lost
    assert handed == [order.pk]
    assert Order.objects.get(pk=order.pk).state == OrderState.QUEUED


def test_a_webhook_whose_task_was_lost_with_a_killed_worker_is_handled_by_the_sweep(pipeline, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.ORDER_LOST_TASK_SECONDS = 60
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"], notify=False)
    # Stored, acknowledged and handed to a worker, but its task died with that worker.
    event = WebhookEvent.objects.create(
        event_id="lost-1",
        event_type="order.created",
        store_id=licence.store_id,
        licence=licence,
        body={"eventType": "order.created", "data": {"orderId": "K3M7Q"}},
    )
    handed_out = timezone.now() - timedelta(seconds=30)
    WebhookEvent.objects.filter(pk=event.pk).update(handed_out_at=handed_out)
    assert orders_sweep()["lost_events"] == 0  # not yet presumed lost
    WebhookEvent.objects.filter(pk=event.pk).update(handed_out_at=handed_out - timedelta(minutes=5))
    assert orders_sweep()["lost_events"] == 1
    order = pipeline.wait(licence, "K3M7Q", states=(OrderState.HANDLED,))
    assert len(pipeline.ef_invoices(licence)) == 1
    event.refresh_from_db()
    assert event.outcome == "handled"
    assert orders_sweep()["lost_events"] == 0  # handled: never handed out again
    assert order.events.filter(kind="webhook").count() == 1
