"""'Fetch orders since <date>' (issue #21.1): a merchant who installed on the 15th invoices the month's
earlier orders. Counted first (a dry run), then fed through the normal path page by page, against the
sandboxes; each order is invoiced once, and one EF already holds (our external id) is adopted."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from connectors.eenvoudigfactureren.client import EfClient
from orders.backfill import backfill_count_start, backfill_run_start
from orders.invoice_mapping import external_invoice_id
from orders.models import Backfill, Order, OrderState
from tests.conftest import order_fixture
from tests.factories import licence_for, login

pytestmark = pytest.mark.django_db(transaction=True)
START = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)


def made_on(order: dict, number: str, day: int, month: int = 3, status: str = "PAID") -> dict:
    order = copy.deepcopy(order)
    moment = int(datetime(2026, month, day, 10, 0, tzinfo=UTC).timestamp())
    order.update(id=number, internalId=abs(hash(number)) % 10**8, paymentStatus=status)
    order["createTimestamp"] = order["updateTimestamp"] = moment
    order["createDate"] = order["updateDate"] = f"2026-{month:02d}-{day:02d} 10:00:00 +0000"
    return order


def tick_until_settled(pipeline, licence, numbers, rounds=200):
    """Hand out the licence's rounds until none of these orders is on its way any more."""
    on_the_way = (OrderState.QUEUED, OrderState.PROCESSING, OrderState.RETRYING)
    for _ in range(rounds):
        call_command("pipeline_ticker", "--once")
        states = dict(
            Order.objects.filter(licence=licence, order_number__in=numbers).values_list(
                "order_number", "state"
            )
        )
        if len(states) == len(numbers) and not set(states.values()) & set(on_the_way):
            return states
    raise AssertionError(f"not settled: {states}")


def test_earlier_orders_are_counted_then_invoiced_once_each(pipeline, monkeypatch, client):
    monkeypatch.setattr("orders.backfill.PAGE", 2)  # several pages with a handful of orders
    case = order_fixture("a01")
    licence = pipeline.licence(case, process_from=START)
    shop = {
        "BF-A": made_on(case["order"], "BF-A", 3),  # new: invoiced
        "BF-B": made_on(case["order"], "BF-B", 5),  # invoiced by us before (EF has it): adopted
        "BF-C": made_on(case["order"], "BF-C", 6, status="AWAITING_PAYMENT"),  # not paid: left alone
        "BF-D": made_on(case["order"], "BF-D", 8),  # came by webhook, Ignored before the start date
        "BF-E": made_on(case["order"], "BF-E", 20),  # after the start date: not this backfill's
        "BF-F": made_on(case["order"], "BF-F", 1, month=2),  # before the chosen date
    }
    for number, order in shop.items():
        pipeline.place(licence, order, notify=number == "BF-D")
    assert pipeline.wait(licence, "BF-D", states=(OrderState.IGNORED,)).state == OrderState.IGNORED

    ef = EfClient(api_key=licence.ef_api_key)
    client_id = ef.client_create({"name": "Eerder klant", "email": "eerder@example.be"})
    earlier = ef.invoice_create(
        {
            "client_id": client_id,
            "external_invoice_id": external_invoice_id(licence.pk, "BF-B"),
            "items": [{"description": "Eerder gefactureerd", "amount": 10, "tax_rate": 21}],
        }
    )

    counted = backfill_count_start(licence, date(2026, 3, 1), actor="owner")
    counted.refresh_from_db()
    assert (counted.state, counted.found, counted.will_invoice, counted.not_paid, counted.already) == (
        Backfill.State.COUNTED,
        4,
        3,
        1,
        0,
    )
    assert len(pipeline.ef_invoices(licence)) == 1  # a dry run: nothing made

    backfill_run_start(counted)
    counted.refresh_from_db()
    assert counted.state == Backfill.State.DONE and counted.fed == 4
    licence.refresh_from_db()
    assert timezone.localtime(licence.process_from).isoformat().startswith("2026-03-01T00:00")
    states = tick_until_settled(pipeline, licence, ["BF-A", "BF-B", "BF-C", "BF-D"])
    assert states == {"BF-A": "handled", "BF-B": "handled", "BF-C": "open", "BF-D": "handled"}
    invoices = pipeline.ef_invoices(licence)
    assert len(invoices) == 3  # B's earlier invoice, and one each for A and D
    assert Order.objects.get(licence=licence, order_number="BF-B").ef_invoice_id == earlier
    assert not Order.objects.filter(licence=licence, order_number__in=["BF-E", "BF-F"]).exists()

    again = backfill_count_start(licence, date(2026, 2, 1), actor="owner")
    again.refresh_from_db()
    # The start date is 1 March now: February's one order is what is left to fetch.
    assert (again.found, again.will_invoice) == (1, 1)

    # The page reads as the merchant's language writes it, and nobody else's licence reaches the backfill.
    user = login("backfill-owner@shop.example")
    licence.access.create(user=user)
    client.force_login(user)
    page = client.get(reverse("dashboard-configuration", args=[licence.key]), HTTP_ACCEPT_LANGUAGE="nl")
    html = page.content.decode()
    assert "1 bestelling gevonden van 1-2-2026 tot 1-3-2026" in html, html.split('id="backfill"')[1][:1500]
    other = licence_for(login("someone-else@shop.example"))
    client.force_login(other.access.first().user)
    answer = client.post(
        reverse("dashboard-backfill", args=[other.key]), {"action": "run", "backfill": again.pk}
    )
    assert answer.status_code == 404
    again.refresh_from_db()
    assert again.state == Backfill.State.COUNTED


def test_a_page_the_shop_did_not_answer_is_read_again_by_the_sweep(pipeline):
    from datetime import timedelta

    from orders.backfill import backfills_resume
    from tests.conftest import control

    case = order_fixture("a01")
    licence = pipeline.licence(case, process_from=START)
    pipeline.place(licence, made_on(case["order"], "BF-G", 4), notify=False)
    control(
        pipeline.sandboxes.kmoshops.url, "faults", {"status": 503, "count": 10}
    )  # beyond the client's retries
    backfill = backfill_count_start(licence, date(2026, 3, 1), actor="owner")
    backfill.refresh_from_db()
    assert backfill.state == Backfill.State.COUNTING and backfill.problem  # waiting, not lost
    pipeline.sandboxes.shop.faults.clear()  # the shop answers again
    assert backfills_resume() == 0  # not quiet long enough yet
    Backfill.objects.filter(pk=backfill.pk).update(updated_at=timezone.now() - timedelta(minutes=3))
    assert backfills_resume() == 1
    backfill.refresh_from_db()
    assert (backfill.state, backfill.found, backfill.will_invoice, backfill.problem) == (
        Backfill.State.COUNTED,
        1,
        1,
        "",
    )


def test_an_order_invoiced_under_an_earlier_licence_of_the_store_is_not_invoiced_again(pipeline):
    """Installed again (a new licence for the same store): the old licence's invoices exist already."""
    case = order_fixture("a01")
    licence = pipeline.licence(case, process_from=START)
    pipeline.place(licence, made_on(case["order"], "BF-X", 4), notify=False)
    earlier = licence_for(login("earlier@shop.example"), store_id=licence.store_id, state="cancelled")
    Order.objects.create(
        licence=earlier,
        order_number="BF-X",
        state=OrderState.HANDLED,
        ef_invoice_id=4242,
        ef_invoice_number="2026-00001",
    )
    backfill = backfill_count_start(licence, date(2026, 3, 1), actor="owner")
    backfill.refresh_from_db()
    assert (backfill.found, backfill.will_invoice, backfill.already) == (1, 0, 1)
