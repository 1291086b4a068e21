"""Failures say what failed (issue #19, item 9): a VIES outage is not "EF could not be reached", an order being
processed does not show its last "Retrying at …", and an error of our own reaches a person."""

from __future__ import annotations

import pytest
from django.core import mail

from orders import processing
from orders.models import Order, OrderState
from orders.processing import order_claim
from orders.texts import Text, text_fields
from tests.conftest import control, order_fixture
from tests.factories import licence_for, login, order_for
from tests.orders.test_exactly_once import drive


@pytest.mark.django_db(transaction=True)
def test_a_vies_outage_gives_up_as_vies_unreachable(pipeline, settings):
    settings.ORDER_MAX_ATTEMPTS = 2
    case = order_fixture("a06")
    licence = pipeline.licence(case)
    control(pipeline.sandboxes.vies.url, "answers", {"default": "unavailable"})
    pipeline.place(licence, case["order"])
    order = drive(pipeline, licence, case["order"]["id"])
    assert order.state == OrderState.ERROR and order.error_code == "VIES_UNREACHABLE", order.error_code
    assert order.ef_answer == ""  # VIES's words are not EenvoudigFactureren's
    assert pipeline.ef_invoices(licence) == []


@pytest.mark.django_db
def test_an_order_being_processed_does_not_show_its_last_retry_reason():
    order = order_for(licence_for(login("claim@shop.example")), OrderState.RETRYING)
    reason = Text(
        "Retrying at %(time)s, attempt %(attempt)s: %(problem)s", time="10:00", attempt=2, problem="x"
    )
    Order.objects.filter(pk=order.pk).update(**text_fields(state_reason=reason), next_attempt_at=None)
    assert order_claim(order.pk)
    claimed = Order.objects.get(pk=order.pk)
    assert claimed.state == OrderState.PROCESSING and claimed.reason_display == ""


@pytest.mark.django_db(transaction=True)
def test_an_error_of_our_own_is_mailed_to_support_and_named_as_such(pipeline, settings, monkeypatch):
    settings.ORDER_MAX_ATTEMPTS = 1
    settings.ADMINS = [("Support", "oncall@support.example")]

    def broken(*args, **kwargs):  # a bug in our own mapping, as a new order shape might reveal
        raise RuntimeError("mapping bug")

    monkeypatch.setattr(processing, "domain_order_from_ecwid", broken)
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    order = drive(pipeline, licence, case["order"]["id"])
    assert order.state == OrderState.ERROR and order.error_code == "INTERNAL_ERROR"
    assert "support has been notified" in order.error_message
    [alert] = [m for m in mail.outbox if "oncall@support.example" in m.to]
    assert "mapping bug" in alert.body and case["order"]["id"] in alert.subject
