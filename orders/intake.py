"""Webhook intake: verify, keep the raw event (deduplicated on eventId); it waits there until the ticker hands it
to a worker, which handles it."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django_q.conf import Conf

from connectors.kmoshops.signature import webhook_signature_valid
from licenses.models import Licence
from licenses.services import licence_uninstall

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
    # The stored event is the queue: one INSERT, no task here; the ticker hands it to a worker within a
    # fraction of a second (`webhook_events_hand_out`). Without workers (sync mode) it is handled at once.
    stored = webhook_event_insert(event)
    if stored is None:
        WebhookEvent.objects.filter(event_id=event.event_id).update(deliveries=F("deliveries") + 1)
        return WebhookReceipt(200, "duplicate")
    stored_pk, licence_id = stored
    if licence_id is None:
        return WebhookReceipt(200, "ignored")
    if Conf.SYNC:
        enqueue("orders.tasks.webhook_event_task", stored_pk)
    return WebhookReceipt(200, "queued")


# One statement finds the store's live licence and stores the event (or nothing, for a redelivery).
_INSERT = """
INSERT INTO {events} (event_id, event_type, store_id, licence_id, body, received_at, deliveries, outcome, note)
SELECT %s, %s, %s, live.id, {body}, %s, 1,
       CASE WHEN live.id IS NULL THEN 'ignored' ELSE 'queued' END,
       CASE WHEN live.id IS NULL THEN 'unknown or cancelled store' ELSE '' END
FROM (SELECT (SELECT id FROM {licences} WHERE store_id = %s AND state <> 'cancelled' ORDER BY id LIMIT 1)
      AS id) AS live
WHERE true
ON CONFLICT (event_id) DO NOTHING
RETURNING id, licence_id
"""


def webhook_event_insert(event: ParsedEvent) -> tuple[int, int | None] | None:
    """Store a new event with its licence (None: unknown or cancelled store); None for a redelivery."""
    sql = _INSERT.format(
        events=WebhookEvent._meta.db_table,
        licences=Licence._meta.db_table,
        body="%s::jsonb" if connection.vendor == "postgresql" else "%s",
    )
    params = [event.event_id, event.event_type, event.store_id, json.dumps(event.body), timezone.now()]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, event.store_id])
        row = cursor.fetchone()
    return (int(row[0]), row[1]) if row else None


def webhook_event_handle(event_pk: int) -> None:
    """The slow part, in a worker: act on one stored event. A failure marks the event failed for staff."""
    webhook_events_handle([event_pk])


def webhook_events_handle(event_pks: list[int]) -> None:
    """Act on a batch of stored events one after another, read in one query. Events of one licence share
    its row, so that what one event learns (a connection failing) holds for the next. After
    WEBHOOK_BATCH_SECONDS the events not started yet go back to the ticker, which hands them out again."""
    deadline = time.monotonic() + settings.WEBHOOK_BATCH_SECONDS
    events = list(WebhookEvent.objects.select_related("licence").filter(pk__in=event_pks).order_by("pk"))
    licences: dict[int, Licence] = {}
    for n, event in enumerate(events):
        if n and time.monotonic() > deadline:
            webhook_events_give_back([later.pk for later in events[n:]])
            return
        if event.licence is not None:
            event.licence = licences.setdefault(event.licence.pk, event.licence)
        _handle_one(event)


def webhook_events_give_back(event_pks: list[int]) -> int:
    """Events handed out but not started go back to the ticker's next round."""
    return WebhookEvent.objects.filter(pk__in=event_pks, outcome=WebhookOutcome.QUEUED).update(
        handed_out_at=None
    )


def _handle_one(event: WebhookEvent) -> None:
    if event.outcome != WebhookOutcome.QUEUED:
        return  # handled already (a task handed out again after it was thought lost)
    try:
        _handle(event)
    except Exception as exc:  # noqa: BLE001 - the event must not stay "queued" forever
        logger.exception("webhook event %s: handling failed", event.event_id)
        WebhookEvent.objects.filter(pk=event.pk).update(
            outcome=WebhookOutcome.FAILED, note=f"handling failed: {type(exc).__name__}: {exc}"[:1000]
        )


def _handle(event: WebhookEvent) -> None:
    from .processing import order_process_claimed
    from .sync import HandOut, order_mark_deleted, order_refresh

    licence: Licence | None = event.licence
    if licence is None:
        return
    trigger = f"webhook {event.event_type}"
    if event.event_type in ORDER_EVENTS and event.order_number:
        # This worker goes on to process the order itself: one task per order instead of two.
        order = order_refresh(
            licence, event.order_number, trigger=trigger, webhook=event, hand_out=HandOut.CALLER
        )
        if order.claimed_by_caller:  # the event was marked handled in the read's commit
            order_process_claimed(order)
            return
    elif event.event_type == "order.deleted" and event.order_number:
        order_mark_deleted(licence, event.order_number, webhook=event)
    elif event.event_type == "application.uninstalled":
        licence_uninstall(licence)
    else:
        WebhookEvent.objects.filter(pk=event.pk).update(outcome=WebhookOutcome.IGNORED, note="event not used")
        return
    WebhookEvent.objects.filter(pk=event.pk).update(outcome=WebhookOutcome.HANDLED)
