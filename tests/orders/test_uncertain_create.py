"""A create whose answer never came: no second create until EF must have finished with the first one.

EF stores the invoice only after our read timeout ran out (`slow_work`), so a look-up made right after the
timeout finds nothing. Whatever triggers the next attempt meanwhile (a webhook, Process, catch-up, the
sweep, a worker taking over a stale claim), it must wait and look again, and adopt EF's invoice.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from licenses.models import Licence
from orders.actions import order_ignore, order_process_again
from orders.catchup import licence_catch_up
from orders.models import Order, OrderState
from orders.sweep import orders_sweep, pipeline_tick
from tests.conftest import control, order_fixture
from tests.orders.test_exactly_once import drive

pytestmark = pytest.mark.django_db(transaction=True)
NUMBER = "K3M7Q"


def _webhook(pipeline, licence, order):
    pipeline.pay(licence, NUMBER, "PAID")  # the shop sends order.updated
    pipeline.webhooks_idle()


def _process(pipeline, licence, order):
    assert order_process_again(licence=licence, order_ids=[order.pk], actor="merchant@x").done == [NUMBER]


def _catch_up(pipeline, licence, order):
    # The order changes in the shop but its webhook is lost: the catch-up finds the change.
    control(pipeline.sandboxes.kmoshops.url, "webhooks/config", {"drop": True})
    pipeline.pay(licence, NUMBER, "PAID")
    assert licence_catch_up(Licence.objects.get(pk=licence.pk)) == 1
    pipeline_tick()  # the ticker hands the caught-up order out in its licence's round


def _sweep(pipeline, licence, order):
    orders_sweep()


def _stale_claim(pipeline, licence, order):
    # The worker that made the uncertain call died while still holding the claim.
    Order.objects.filter(pk=order.pk).update(
        state=OrderState.PROCESSING, claimed_at=timezone.now() - timedelta(hours=1)
    )
    orders_sweep()


TRIGGERS = {
    "webhook": _webhook,
    "process": _process,
    "catch_up": _catch_up,
    "sweep": _sweep,
    "stale_claim": _stale_claim,
}


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_a_create_that_outlasts_the_read_timeout_is_never_repeated_early(pipeline, settings, trigger):
    settings.HTTP_READ_TIMEOUT = 1.0
    settings.EF_UNCERTAIN_CREATE_MARGIN_SECONDS = 1.5
    settings.ORDER_CLAIM_STALE_SECONDS = 0
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    # EF stores the invoice 2 s after the create arrives; we stop listening after 1 s.
    pipeline.ef_fault(status=0, slow_work=2.0, path="/invoices", method="POST")
    pipeline.place(licence, case["order"])
    first = pipeline.wait(licence, NUMBER, states=(OrderState.RETRYING, OrderState.HANDLED))
    assert first.state == OrderState.RETRYING and first.ef_invoice_id is None
    assert pipeline.ef_invoices(licence) == []

    TRIGGERS[trigger](pipeline, licence, first)

    waiting = Order.objects.get(pk=first.pk)
    assert waiting.state == OrderState.RETRYING, (waiting.state, waiting.state_reason)
    assert waiting.state_reason.startswith("Making sure EenvoudigFactureren did not create the invoice")
    assert waiting.next_attempt_at >= first.ef_create_started_at + timedelta(seconds=2.5)
    assert waiting.ef_invoice_id is None
    time.sleep(max(0.0, (waiting.next_attempt_at - timezone.now()).total_seconds()))

    order = drive(pipeline, licence, NUMBER)
    assert order.state == OrderState.HANDLED
    [invoice] = pipeline.ef_invoices(licence)
    assert order.ef_invoice_id == invoice["invoice_id"]
    assert order.events.filter(message__startswith="Found invoice").exists()


def test_a_refused_create_needs_no_wait_before_the_next_one(pipeline, settings):
    """EF answered 'no' (HTTP 400): nothing was made, so Process may create again at once."""
    settings.HTTP_READ_TIMEOUT = 30.0
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.ef_fault(status=400, path="/invoices", method="POST")
    pipeline.place(licence, case["order"])
    refused = pipeline.wait(licence, NUMBER)
    assert refused.state == OrderState.ERROR and refused.error_code == "EF_REJECTED"
    assert refused.ef_create_started_at is None
    _process(pipeline, licence, refused)
    order = pipeline.wait(licence, NUMBER, states=(OrderState.HANDLED,))
    assert len(pipeline.ef_invoices(licence)) == 1 and order.ef_invoice_id


def test_an_invoiced_order_whose_invoice_cannot_be_read_back_is_finished_by_process(pipeline, settings):
    settings.ORDER_MAX_ATTEMPTS = 2
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    # EF makes the invoice, then reading it back fails until the attempts run out.
    pipeline.ef_fault(status=503, path="/invoices/", method="GET", count=2)
    pipeline.place(licence, case["order"])
    stuck = drive(pipeline, licence, NUMBER)
    assert stuck.state == OrderState.ERROR and stuck.error_code == "EF_UNREACHABLE"
    assert stuck.ef_invoice_id is not None and stuck.ef_invoice_number == ""

    assert order_ignore(licence=licence, order_ids=[stuck.pk], actor="merchant@x").done == []
    assert order_process_again(licence=licence, order_ids=[stuck.pk], actor="merchant@x").done == [NUMBER]
    order = pipeline.wait(licence, NUMBER, states=(OrderState.HANDLED,))
    [invoice] = pipeline.ef_invoices(licence)
    assert order.ef_invoice_id == invoice["invoice_id"] and order.ef_invoice_number == invoice["number"]
    assert pipeline.ef_posts("/api/v1/invoices") == 1
