"""The stored webhook event is the queue: the webhook answers after one INSERT and queues no task; the ticker
hands each new event to the workers exactly once, also when tickers run on several hosts at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.brokers import get_broker
from django_q.conf import Conf

from licenses.models import Licence
from orders.models import WebhookEvent, WebhookOutcome
from orders.sweep import webhook_events_hand_out
from tests.concurrency import at_once
from tests.orders.test_webhook_endpoint import event, post


@pytest.fixture
def workers_elsewhere(monkeypatch):
    """As deployed: tasks go to the broker for worker processes (not run inline as in the other tests)."""
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    broker.purge_queue()
    yield broker
    broker.purge_queue()


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_one_insert_and_queues_no_task(client, workers_elsewhere):
    licence = Licence.objects.create(store_id=97512001, company_name="Shop")
    body = event(licence.store_id)
    with CaptureQueriesContext(connection) as queries:
        response = post(client, body)
    assert response.status_code == 200 and response.json() == {"status": "queued"}
    writes = [
        q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert len(queries.captured_queries) == 1, (
        writes
    )  # the event, its licence looked up in the same statement
    assert workers_elsewhere.queue_size() == 0
    stored = WebhookEvent.objects.get(event_id=body["eventId"])
    assert stored.outcome == WebhookOutcome.QUEUED and stored.handed_out_at is None


@pytest.mark.django_db(transaction=True)
def test_the_ticker_hands_each_new_event_out_once(client, workers_elsewhere):
    licence = Licence.objects.create(store_id=97512002, company_name="Shop")
    bodies = [event(licence.store_id, order_id=f"H{n}") for n in range(3)]
    for body in bodies:
        assert post(client, body).status_code == 200
    assert post(client, bodies[0]).json() == {"status": "duplicate"}  # a redelivery adds nothing to hand out
    assert post(client, event(97599999)).json() == {"status": "ignored"}  # unknown store: nothing either

    assert webhook_events_hand_out() == 3
    assert workers_elsewhere.queue_size() == 3
    assert webhook_events_hand_out() == 0  # their tasks are out: not again until presumed lost
    assert workers_elsewhere.queue_size() == 3
    assert not WebhookEvent.objects.filter(outcome=WebhookOutcome.QUEUED, handed_out_at__isnull=True).exists()


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="concurrent tickers need PostgreSQL's row locks; .ci/run runs it"
)
@pytest.mark.django_db(transaction=True)
def test_tickers_on_several_hosts_never_hand_out_an_event_twice(client, workers_elsewhere):
    licence = Licence.objects.create(store_id=97512003, company_name="Shop")
    for n in range(60):
        assert post(client, event(licence.store_id, order_id=f"C{n}")).status_code == 200

    def ticker() -> int:
        return sum(webhook_events_hand_out(limit=7) for _ in range(5))

    counts = at_once(*[ticker] * 4)
    assert sum(counts) == 60
    assert workers_elsewhere.queue_size() == 60
