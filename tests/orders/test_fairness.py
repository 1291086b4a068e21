"""One licence's backlog never stands before another licence's orders: bulk paths queue without tasks and
the ticker hands orders out in bounded rounds shared between licences."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.catchup import licence_catch_up
from orders.models import Order, OrderState
from orders.sweep import round_shares
from tests.conftest import order_fixture


def test_round_shares_split_places_equally_and_pass_on_what_a_licence_does_not_need():
    assert round_shares({1: 10_000, 2: 1}, 200) == {1: 199, 2: 1}
    assert round_shares({1: 10_000, 2: 10_000}, 200) == {1: 100, 2: 100}
    assert round_shares({1: 3, 2: 4}, 200) == {1: 3, 2: 4}
    assert sum(round_shares({1: 5, 2: 5, 3: 5}, 4).values()) == 4
    assert round_shares({}, 10) == {} and round_shares({1: 5}, 0) == {}


def backlog(pipeline, licence, count, prefix):
    base = order_fixture("a01")["order"]
    for n in range(count):
        order = copy.deepcopy(base)
        order["id"] = f"{prefix}{n:04d}"
        order["internalId"] = 900000 + n
        pipeline.place(licence, order, notify=False)


@pytest.mark.django_db(transaction=True)
def test_a_backlog_of_one_licence_does_not_stand_before_another_licences_orders(pipeline, settings):
    settings.ORDER_HAND_OUT_MAX = 10
    big, small = pipeline.licence(), pipeline.licence()
    backlog(pipeline, big, 60, "B")
    backlog(pipeline, small, 4, "S")
    assert licence_catch_up(big) == 60 and licence_catch_up(small) == 4
    # Queued, but no task yet: the broker holds none of the backlog.
    assert Order.objects.filter(state=OrderState.QUEUED, handed_out_at__isnull=True).count() == 64

    # A new order of the small shop arrives by webhook: handled at once, the big backlog untouched.
    fresh = copy.deepcopy(order_fixture("a01")["order"])
    fresh["id"] = "NEW1"
    pipeline.place(small, fresh)
    assert pipeline.wait(small, "NEW1").state == OrderState.HANDLED
    assert Order.objects.filter(licence=big, state=OrderState.QUEUED).count() == 60

    # One round: ten places, the small shop's four first-come and six of the big backlog.
    call_command("pipeline_ticker", "--once")
    assert Order.objects.filter(licence=small, state=OrderState.HANDLED).count() == 5
    assert Order.objects.filter(licence=big, state=OrderState.HANDLED).count() == 6
    assert Order.objects.filter(licence=big, state=OrderState.QUEUED).count() == 54


@pytest.mark.django_db(transaction=True)
def test_an_order_whose_task_was_lost_is_handed_out_again(pipeline, settings, monkeypatch):
    from django_q.conf import Conf

    from orders.sweep import orders_hand_out_round

    monkeypatch.setattr(Conf, "SYNC", False)
    handed: list[int] = []
    monkeypatch.setattr("orders.sweep.enqueue", lambda task, pk: handed.append(pk))
    licence = pipeline.licence()
    order = Order.objects.create(licence=licence, order_number="L1", state=OrderState.QUEUED)
    Order.objects.filter(pk=order.pk).update(handed_out_at=timezone.now())
    assert orders_hand_out_round() == 0  # its task is out there
    long_ago = timezone.now() - timedelta(seconds=settings.ORDER_LOST_TASK_SECONDS + 1)
    Order.objects.filter(pk=order.pk).update(handed_out_at=long_ago)
    assert orders_hand_out_round() == 1 and handed == [order.pk]
