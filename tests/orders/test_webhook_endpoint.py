"""The webhook endpoint: signature, malformed input, unknown stores, size, duplicates."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import Client

from connectors.kmoshops.signature import webhook_signature
from licenses.models import Licence, LicenceState
from orders.models import Order, WebhookEvent, WebhookOutcome

URL = "/webhooks/kmoshops/"
SECRET = "test_client_secret_abc123"  # the test settings' KMOSHOPS_CLIENT_SECRET


def event(store_id: int, event_type: str = "order.created", order_id: str = "X1", **extra) -> dict:
    return {
        "eventId": str(uuid.uuid4()),
        "eventCreated": int(time.time()),
        "storeId": store_id,
        "entityId": 1,
        "eventType": event_type,
        "data": {"orderId": order_id, "newPaymentStatus": "PAID"},
        **extra,
    }


def post(client: Client, body: dict | bytes, signature: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if signature is None and isinstance(body, dict):
        signature = webhook_signature(SECRET, body["eventCreated"], body["eventId"])
    headers = {"HTTP_X_ECWID_WEBHOOK_SIGNATURE": signature or ""}
    return client.post(f"{URL}?eventtype=order.created", raw, content_type="application/json", **headers)


@pytest.fixture
def licence(db):
    return Licence.objects.create(store_id=97512345, company_name="Shop")


def test_a_wrong_signature_is_rejected_and_nothing_is_kept(client, licence, caplog):
    body = event(licence.store_id)
    response = post(client, body, signature=webhook_signature("wrong", body["eventCreated"], body["eventId"]))
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert "bad signature" in caplog.text
    assert SECRET not in caplog.text


def test_a_missing_signature_is_rejected(client, licence):
    assert post(client, event(licence.store_id), signature="").status_code == 401


def test_signing_someone_elses_event_id_does_not_pass(client, licence):
    body = event(licence.store_id)
    other = event(licence.store_id)
    assert (
        post(
            client, body, signature=webhook_signature(SECRET, other["eventCreated"], other["eventId"])
        ).status_code
        == 401
    )


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"\xff\xfe", b'{"eventId": "x"}', b""])
def test_malformed_bodies_get_400(client, licence, raw):
    assert post(client, raw, signature="x").status_code == 400
    assert not WebhookEvent.objects.exists()


def test_an_oversized_body_gets_413(client, licence, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1000
    body = event(licence.store_id, padding="x" * 2000)
    assert post(client, body).status_code == 413


@pytest.mark.django_db
def test_an_unknown_store_is_acknowledged_and_ignored(client):
    response = post(client, event(11111111))
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.outcome == WebhookOutcome.IGNORED
    assert not Order.objects.exists()


def test_a_cancelled_licence_is_acknowledged_and_ignored(client, licence):
    Licence.objects.filter(pk=licence.pk).update(state=LicenceState.CANCELLED)
    assert post(client, event(licence.store_id)).status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.IGNORED


def test_a_duplicate_event_is_kept_once_and_counted(client, licence, django_capture_on_commit_callbacks):
    body = event(licence.store_id)
    with django_capture_on_commit_callbacks() as callbacks:
        assert post(client, body).status_code == 200
        assert post(client, body).status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.deliveries == 2
    assert len(callbacks) == 1  # queued once


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405
