"""Any webhook body gets a 4xx or 2xx, never a 5xx; only a valid, signed, fresh event is ever stored."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from connectors.kmoshops.signature import webhook_signature
from licenses.models import Licence
from orders.intake import webhook_event_handle
from orders.models import WebhookEvent, WebhookOutcome
from tests.orders.test_webhook_endpoint import SECRET, event, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def licence(settings):
    settings.KMOSHOPS_API_URL = "http://127.0.0.1:9"  # nothing listens: reading the order fails at once
    return Licence.objects.create(store_id=97512345, company_name="Shop")


def test_a_deeply_nested_body_is_refused_without_a_signature_check(client, licence):
    depth = 1000
    response = post(client, b"[" * depth + b"]" * depth, signature="")
    assert response.status_code == 400
    response = post(client, b'{"a":' * depth + b"1" + b"}" * depth, signature="")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "change",
    [
        {"data": {"orderId": "X1\x00"}},
        {"data": {"note\x00": "x"}},
        {"storeId": 2**64},
        {"storeId": -5},
        {"entityId": 2**70},
        {"data": "order X1"},
        {"data": ["X1"]},
        {"data": {"orderId": {"nested": 1}}},
        {"eventType": 5},
        {"eventCreated": "yesterday"},
    ],
    ids=repr,
)
def test_signed_events_of_the_wrong_shape_get_400_and_are_not_stored(client, licence, change):
    body = {**event(licence.store_id), **change}
    signature = webhook_signature(SECRET, body["eventCreated"], body["eventId"])
    response = post(client, json.dumps(body).encode(), signature=signature)
    assert response.status_code == 400, response.content
    assert "malformed" in response.json()["status"]
    assert not WebhookEvent.objects.exists()


def test_a_replayed_old_signed_event_is_refused(client, licence):
    old = event(licence.store_id, eventCreated=int(time.time()) - 3 * 24 * 3600)
    response = post(client, old)
    assert response.status_code == 400 and "replay" in response.json()["status"]
    assert not WebhookEvent.objects.exists()


def test_an_event_from_the_far_future_is_refused(client, licence):
    assert post(client, event(licence.store_id, eventCreated=int(time.time()) + 86400)).status_code == 400


def test_an_event_whose_handling_fails_is_marked_failed_for_staff(client, licence, monkeypatch):
    body = event(licence.store_id)
    stored = WebhookEvent.objects.create(
        event_id=body["eventId"],
        event_type="order.created",
        store_id=licence.store_id,
        licence=licence,
        body=body,
    )

    def broken(*args, **kwargs):
        raise RuntimeError("bug in order_refresh")

    monkeypatch.setattr("orders.sync.order_refresh", broken)  # a bug, injected
    webhook_event_handle(stored.pk)
    stored.refresh_from_db()
    assert stored.outcome == WebhookOutcome.FAILED
    assert "bug in order_refresh" in stored.note


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
events = st.fixed_dictionaries(
    {
        "eventId": st.one_of(st.uuids().map(str), st.text(max_size=120), st.integers(), json_values),
        "eventCreated": st.one_of(st.just(int(time.time())), st.integers(), json_values),
        "storeId": st.one_of(st.just(97512345), st.integers(), st.text(max_size=25), json_values),
        "eventType": st.one_of(
            st.sampled_from(["order.created", "order.updated", "order.deleted"]), json_values
        ),
    },
    optional={"entityId": json_values, "data": json_values, "extra": json_values},
)
bodies = st.one_of(
    events.map(lambda e: ("event", e)),
    st.binary(max_size=200).map(lambda b: ("bytes", b)),
    st.integers(1, 5000).map(lambda n: ("bytes", b"[" * n + b"]" * n)),
    st.text(max_size=200).map(lambda t: ("bytes", t.encode("utf-8", "surrogatepass"))),
)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, signed=st.booleans())
def test_arbitrary_bodies_never_get_a_5xx_and_unsigned_ones_store_nothing(client, licence, body, signed):
    kind, value = body
    if kind == "event":
        raw = json.dumps(value, allow_nan=True).encode()
        signature = webhook_signature(SECRET if signed else "wrong", value["eventCreated"], value["eventId"])
        event_id = str(value["eventId"])[:100]
    else:
        raw, signature, event_id = value, ("x" if signed else ""), str(uuid.uuid4())
    before = WebhookEvent.objects.count()
    response = post(client, raw, signature=signature)
    assert response.status_code < 500, response.content
    if not signed:
        assert response.status_code in (400, 401)
        assert WebhookEvent.objects.count() == before
    if response.status_code == 200:
        assert WebhookEvent.objects.filter(event_id=event_id).exists()
