"""Webhook intake: verify, keep the raw event, deduplicate on eventId, queue; then handle it in a worker."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from connectors.kmoshops.signature import webhook_signature_valid
from licenses.models import Licence
from licenses.services import licence_for_store, licence_uninstall

from .models import WebhookEvent, WebhookOutcome
from .queue import enqueue

logger = logging.getLogger(__name__)
REQUIRED_FIELDS = ("eventId", "eventCreated", "storeId", "eventType")
ORDER_EVENTS = ("order.created", "order.updated")


@dataclass(frozen=True)
class WebhookReceipt:
    status: int
    message: str


def _parse(body: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(event, dict) or any(event.get(name) in (None, "") for name in REQUIRED_FIELDS):
        return None
    return event


def webhook_receive(body: bytes, signature: str) -> WebhookReceipt:
    """The fast part, inside the HTTP request: no call to KMO Shops or EF happens here."""
    event = _parse(body)
    if event is None:
        return WebhookReceipt(400, "malformed webhook body")
    if not webhook_signature_valid(
        settings.KMOSHOPS_CLIENT_SECRET, event["eventCreated"], str(event["eventId"]), signature
    ):
        logger.warning(
            "webhook rejected: bad signature for event %s of store %s", event["eventId"], event["storeId"]
        )
        return WebhookReceipt(401, "invalid signature")
    try:
        store_id = int(event["storeId"])
    except (TypeError, ValueError):
        return WebhookReceipt(400, "storeId is not a number")
    with transaction.atomic():
        licence = licence_for_store(store_id)
        try:
            with transaction.atomic():
                stored = WebhookEvent.objects.create(
                    event_id=str(event["eventId"])[:100],
                    event_type=str(event["eventType"])[:60],
                    store_id=store_id,
                    licence=licence,
                    body=event,
                    outcome=WebhookOutcome.QUEUED if licence else WebhookOutcome.IGNORED,
                    note="" if licence else "unknown or cancelled store",
                )
        except IntegrityError:
            WebhookEvent.objects.filter(event_id=str(event["eventId"])[:100]).update(
                deliveries=F("deliveries") + 1
            )
            return WebhookReceipt(200, "duplicate")
        if licence is None:
            return WebhookReceipt(200, "ignored")
        enqueue("orders.tasks.webhook_event_task", stored.pk)
    return WebhookReceipt(200, "queued")


def webhook_event_handle(event_pk: int) -> None:
    """The slow part, in a worker: act on one stored event."""
    from .sync import order_mark_deleted, order_refresh

    event = WebhookEvent.objects.select_related("licence").get(pk=event_pk)
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
