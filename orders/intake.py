"""Webhook intake: verify, keep the raw event, deduplicate on eventId, queue; then handle it in a worker."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from connectors.kmoshops.signature import webhook_signature_valid
from licenses.models import Licence
from licenses.services import licence_id_for_store, licence_uninstall

from .models import WebhookEvent, WebhookOutcome
from .queue import enqueue
from .webhook_event import InvalidEvent, ParsedEvent, webhook_event_fresh, webhook_event_parse

logger = logging.getLogger(__name__)
ORDER_EVENTS = ("order.created", "order.updated")


@dataclass(frozen=True)
class WebhookReceipt:
    status: int
    message: str


def webhook_receive(body: bytes, signature: str) -> WebhookReceipt:
    """The fast part, inside the HTTP request: no call to KMO Shops or EF happens here.

    Any body gets an answer below 500: the shape is checked whole before the signature, the signature
    before the age, and only a valid, signed, fresh event is stored.
    """
    try:
        event = webhook_event_parse(body)
    except InvalidEvent as exc:
        return WebhookReceipt(400, f"malformed webhook body: {exc}")
    if not webhook_signature_valid(
        settings.KMOSHOPS_CLIENT_SECRET, event.event_created, event.event_id, signature
    ):
        logger.warning(
            "webhook rejected: bad signature for event %s of store %s", event.event_id, event.store_id
        )
        return WebhookReceipt(401, "invalid signature")
    try:
        webhook_event_fresh(event, now=int(time.time()), max_age_seconds=settings.WEBHOOK_MAX_AGE_SECONDS)
    except InvalidEvent as exc:
        logger.warning("webhook rejected: %s (event %s)", exc, event.event_id)
        return WebhookReceipt(400, str(exc))
    licence_id = licence_id_for_store(event.store_id)
    with transaction.atomic():
        stored_pk = webhook_event_insert(event, licence_id)
        if stored_pk is None:
            WebhookEvent.objects.filter(event_id=event.event_id).update(deliveries=F("deliveries") + 1)
            return WebhookReceipt(200, "duplicate")
        if licence_id is None:
            return WebhookReceipt(200, "ignored")
        enqueue("orders.tasks.webhook_event_task", stored_pk)
    return WebhookReceipt(200, "queued")


def webhook_event_insert(event: ParsedEvent, licence_id: int | None) -> int | None:
    """Store a new event in one statement; None when its eventId was stored before (a redelivery)."""
    table = WebhookEvent._meta.db_table
    vendor = connection.vendor
    body = json.dumps(event.body)
    body_param = "%s::jsonb" if vendor == "postgresql" else "%s"
    sql = (
        f"INSERT INTO {table} (event_id, event_type, store_id, licence_id, body, received_at, deliveries, "  # noqa: S608 - our table name; every value is a parameter
        f"outcome, note) VALUES (%s, %s, %s, %s, {body_param}, %s, 1, %s, %s) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING id"
    )
    outcome, note = (
        (WebhookOutcome.QUEUED, "") if licence_id else (WebhookOutcome.IGNORED, "unknown or cancelled store")
    )
    params = [
        event.event_id,
        event.event_type,
        event.store_id,
        licence_id,
        body,
        timezone.now(),
        outcome,
        note,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else None


def webhook_event_handle(event_pk: int) -> None:
    """The slow part, in a worker: act on one stored event. A failure marks the event failed for staff."""
    event = WebhookEvent.objects.select_related("licence").get(pk=event_pk)
    try:
        _handle(event)
    except Exception as exc:  # noqa: BLE001 - the event must not stay "queued" forever
        logger.exception("webhook event %s: handling failed", event.event_id)
        WebhookEvent.objects.filter(pk=event.pk).update(
            outcome=WebhookOutcome.FAILED, note=f"handling failed: {type(exc).__name__}: {exc}"[:1000]
        )


def _handle(event: WebhookEvent) -> None:
    from .sync import order_mark_deleted, order_refresh

    licence: Licence | None = event.licence
    if licence is None:
        return
    trigger = f"webhook {event.event_type}"
    if event.event_type in ORDER_EVENTS and event.order_number:
        order_refresh(licence, event.order_number, trigger=trigger, webhook=event)
    elif event.event_type == "order.deleted" and event.order_number:
        order_mark_deleted(licence, event.order_number, webhook=event)
    elif event.event_type == "application.uninstalled":
        licence_uninstall(licence)
    else:
        WebhookEvent.objects.filter(pk=event.pk).update(outcome=WebhookOutcome.IGNORED, note="event not used")
        return
    WebhookEvent.objects.filter(pk=event.pk).update(outcome=WebhookOutcome.HANDLED)
