"""The stored webhook event is the queue: the webhook answers after one INSERT and queues no task; the ticker
hands each new event to the workers exactly once, also when tickers run on several hosts at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

from licenses.models import Licence
from orders.intake import webhook_events_handle
from orders.models import WebhookEvent, WebhookOutcome
from orders.sweep import webhook_batches, webhook_events_hand_out
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


def handed_out(broker) -> list[list[int]]:
    """The events each queued task carries, in queue order (the tasks are taken off the broker)."""
    batches = []
    while broker.queue_size():
        for task_id, payload in broker.dequeue() or []:
            task = SignedPackage.loads(payload)
            assert task["func"] == "orders.tasks.webhook_events_task"
            batches.append(list(task["args"][0]))
            broker.acknowledge(task_id)
    return batches


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
    assert workers_elsewhere.queue_size() == 2  # two workers: a task each, the events in their order
    assert webhook_events_hand_out() == 0  # their tasks are out: not again until presumed lost
    ids = list(WebhookEvent.objects.filter(licence=licence).order_by("pk").values_list("pk", flat=True))
    assert handed_out(workers_elsewhere) == [ids[:2], ids[2:]]
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
    events = [pk for batch in handed_out(workers_elsewhere) for pk in batch]
    assert sorted(events) == sorted(WebhookEvent.objects.values_list("pk", flat=True))  # each exactly once


@pytest.mark.parametrize(
    ("count", "workers", "most", "sizes"),
    [
        (0, 2, 10, []),
        (1, 2, 10, [1]),  # a quiet moment: the event goes out alone, at once
        (3, 2, 10, [2, 1]),  # fewer than a batch: still one task per worker
        (12, 2, 10, [6, 6]),
        (45, 2, 10, [9, 9, 9, 9, 9]),  # a burst: at most `most` per task
        (7, 4, 1, [1] * 7),  # WEBHOOK_BATCH_MAX=1: a task per event, as before batches
    ],
)
def test_events_handed_out_together_are_split_over_the_workers(count, workers, most, sizes):
    ids = list(range(100, 100 + count))
    batches = webhook_batches(ids, workers, most)
    assert [len(batch) for batch in batches] == sizes
    assert [pk for batch in batches for pk in batch] == ids  # none lost, none twice, in their order


def stored(licence: Licence, event_type: str, order_id: str) -> WebhookEvent:
    body = event(licence.store_id, event_type=event_type, order_id=order_id)
    return WebhookEvent.objects.create(
        event_id=body["eventId"], event_type=event_type, store_id=licence.store_id, licence=licence, body=body
    )


@pytest.mark.django_db
def test_a_failing_event_does_not_stop_the_rest_of_its_batch(monkeypatch):
    licence = Licence.objects.create(store_id=97512004, company_name="Shop")
    failing, unused = stored(licence, "order.created", "B1"), stored(licence, "profile.updated", "B2")

    def broken(*args, **kwargs):
        raise RuntimeError("bug in order_refresh")

    monkeypatch.setattr("orders.sync.order_refresh", broken)  # a bug, injected
    webhook_events_handle([failing.pk, unused.pk])
    failing.refresh_from_db()
    unused.refresh_from_db()
    assert failing.outcome == WebhookOutcome.FAILED and "bug in order_refresh" in failing.note
    assert unused.outcome == WebhookOutcome.IGNORED


@pytest.mark.django_db(transaction=True)
def test_a_batch_out_of_time_gives_its_other_events_back_to_the_ticker(workers_elsewhere, settings):
    licence = Licence.objects.create(store_id=97512005, company_name="Shop")
    events = [stored(licence, "profile.updated", f"T{n}") for n in range(3)]
    assert webhook_events_hand_out() == 3
    handed_out(workers_elsewhere)
    settings.WEBHOOK_BATCH_SECONDS = 0  # the first event used the batch's time up
    webhook_events_handle([e.pk for e in events])
    outcomes = dict(WebhookEvent.objects.values_list("pk", "outcome"))
    assert [outcomes[e.pk] for e in events] == [WebhookOutcome.IGNORED, "queued", "queued"]
    assert webhook_events_hand_out() == 2  # the next round hands the two out again, not after 2 minutes
    assert sorted(pk for batch in handed_out(workers_elsewhere) for pk in batch) == [e.pk for e in events[1:]]
