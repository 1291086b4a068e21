"""The periodic sweep: re-queue what is due, take over from workers that died, resume held orders."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from connectors.errors import AuthenticationError, ConnectorError
from licenses.models import ConnectionStatus, Licence, LicenceState
from licenses.services import connection_ok, ef_client, shop_client
from licenses.throttle import throttle_counts_expire

from .backfill import backfills_resume
from .call_log import order_calls_expire
from .models import FollowUp, Order, OrderEvent, OrderState, WebhookEvent, WebhookOutcome
from .processing import order_enqueue_due
from .queue import enqueue
from .sync import HandOut, licence_hold_reason, licence_orders_resume, order_queue
from .texts import Text, payload_of
from .timeline import order_event_add

logger = logging.getLogger(__name__)
STOPPED = Text(gettext_noop("The worker stopped while processing; trying again."))
PROBE_EVERY = timedelta(minutes=5)


def orders_reclaim_stale() -> int:
    """A worker that claimed an order and then died leaves it in `processing`: give it to another one.

    The new attempt looks in EF by external_invoice_id before any create, so a crash right after EF made
    the invoice does not produce a second one.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_CLAIM_STALE_SECONDS)
    stale = list(Order.objects.filter(state=OrderState.PROCESSING, claimed_at__lt=cutoff))
    for order in stale:
        updated = Order.objects.filter(
            pk=order.pk, state=OrderState.PROCESSING, claimed_at=order.claimed_at
        ).update(
            state=OrderState.RETRYING,
            next_attempt_at=timezone.now(),
            claimed_at=None,
            state_reason=STOPPED,
            state_reason_text=payload_of(STOPPED),
        )
        if updated:
            order_event_add(
                order,
                OrderEvent.Kind.STATE,
                Text(gettext_noop("Worker stopped while processing; handed to another worker.")),
            )
    return len(stale)


def round_shares(waiting: dict[int, int], free: int) -> dict[int, int]:
    """How many of each licence's waiting orders go out in this round: `free` places shared equally, a
    licence that needs fewer leaving its places to the others. Pure."""
    shares = dict.fromkeys(waiting, 0)
    left = free
    while left > 0:
        hungry = [licence for licence, count in waiting.items() if shares[licence] < count]
        if not hungry:
            break
        each = max(1, left // len(hungry))
        for licence in hungry:
            take = min(each, waiting[licence] - shares[licence], left)
            shares[licence] += take
            left -= take
            if left == 0:
                break
    return {licence: share for licence, share in shares.items() if share}


def orders_hand_out_round() -> int:
    """Give queued orders to the workers in rounds: never more than `ORDER_HAND_OUT_MAX` tasks outstanding,
    shared equally between the licences that have orders waiting.

    Bulk paths (catch-up, resume, due retries) queue without a task; this keeps the broker's queue short,
    so a 10,000-order backlog of one licence never stands before another licence's new order (webhooks
    have tasks of their own). An order whose task vanished (a killed worker, a broker restart) is waiting
    again after `ORDER_LOST_TASK_SECONDS`; the claim keeps a second task harmless.
    """
    now = timezone.now()
    lost_before = now - timedelta(seconds=settings.ORDER_LOST_TASK_SECONDS)
    queued = Order.objects.filter(state=OrderState.QUEUED)
    outstanding = queued.filter(handed_out_at__gte=lost_before).count()
    free = settings.ORDER_HAND_OUT_MAX - outstanding
    if free <= 0:
        return 0
    waiting = queued.filter(Q(handed_out_at__isnull=True) | Q(handed_out_at__lt=lost_before))
    per_licence = dict(
        waiting.values_list("licence_id").annotate(n=Count("id")).values_list("licence_id", "n")
    )
    handed = 0
    for licence_id, share in round_shares(per_licence, free).items():
        ids = list(
            waiting.filter(licence_id=licence_id)
            .order_by("updated_at", "pk")
            .values_list("pk", flat=True)[:share]
        )
        taken = waiting.filter(pk__in=ids).update(handed_out_at=now)
        if taken:
            for pk in ids:
                enqueue("orders.tasks.order_process_task", pk)
            handed += taken
    return handed


def webhook_events_hand_out(limit: int = 1000) -> int:
    """Give newly stored webhook events to the workers, in a task per worker (`webhook_batches`): the stored
    event is the queue.

    The webhook answers after one INSERT; this runs several times a second in `pipeline_ticker` (and in
    every sweep). Tickers on several hosts never hand out the same event: the rows are taken with
    SKIP LOCKED and marked in the transaction that queues their tasks (with the ORM broker the task rows
    commit with the marks; with Redis a ticker killed between the commit and the push leaves events that
    `webhook_events_requeue_lost` hands out again).
    """
    waiting = WebhookEvent.objects.filter(outcome=WebhookOutcome.QUEUED, handed_out_at__isnull=True)
    return _events_hand_out(waiting, limit)


def webhook_events_requeue_lost() -> int:
    """A stored event whose task vanished (a worker killed with it in hand) is handed out again.

    Without this the order would wait for the next catch-up; handling an event twice is harmless.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_LOST_TASK_SECONDS)
    lost = WebhookEvent.objects.filter(outcome=WebhookOutcome.QUEUED, handed_out_at__lt=cutoff)
    return _events_hand_out(lost, 1000)


def _events_hand_out(events: QuerySet[WebhookEvent], limit: int) -> int:
    if not events.exists():  # the usual answer several times a second: no transaction for it
        return 0
    with transaction.atomic():
        ids = list(
            events.order_by("pk").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookEvent.objects.filter(pk__in=ids).update(handed_out_at=timezone.now())
            for batch in webhook_batches(ids, settings.Q_CLUSTER["workers"], settings.WEBHOOK_BATCH_MAX):
                enqueue("orders.tasks.webhook_events_task", batch)
    return len(ids)


def webhook_batches(ids: list[int], workers: int, most: int) -> list[list[int]]:
    """Split events handed out together into tasks: at least one per worker while there are enough events
    (no worker idles while another holds a queue of them), at most `most` events per task (one task per
    event costs the queue more than the event's own database work), in the order they came."""
    if not ids:
        return []
    count = min(len(ids), max(workers, 1, -(-len(ids) // max(most, 1))))
    size, extra = divmod(len(ids), count)
    batches, start = [], 0
    for n in range(count):
        end = start + size + (1 if n < extra else 0)
        batches.append(ids[start:end])
        start = end
    return batches


def follow_ups_left_behind() -> int:
    """A refund decided in the moment a worker finished the order leaves a follow-up on a handled order:
    queue the order again so that its worker does it."""
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_TICK_SECONDS)
    orders = Order.objects.filter(
        state=OrderState.HANDLED,
        follow_ups__state=FollowUp.State.PENDING,
        follow_ups__created_at__lt=cutoff,
    ).distinct()
    count = 0
    for order in orders[:1000]:
        order_queue(order, reason=Text(gettext_noop("follow-up to do")), hand_out=HandOut.ROUND)
        count += 1
    return count


def licences_resume_held() -> int:
    resumed = 0
    held = Licence.objects.filter(
        orders__state=OrderState.OPEN, orders__wait_code__in=["licence", "shop", "ef", "setup"]
    ).distinct()
    for licence in held:
        if licence_hold_reason(licence) is None:
            resumed += licence_orders_resume(licence)
    return resumed


def connections_probe() -> int:
    """A failing connection that works again (a passing EF or shop outage) turns green by itself."""
    cutoff = timezone.now() - PROBE_EVERY
    failing_since = Q(shop_status=ConnectionStatus.FAILING, shop_checked_at__lt=cutoff) | Q(
        ef_status=ConnectionStatus.FAILING, ef_checked_at__lt=cutoff
    )
    recovered = 0
    for licence in Licence.objects.exclude(state=LicenceState.CANCELLED).filter(failing_since):
        probes = {
            "shop": lambda lic=licence: shop_client(lic).profile(),
            "ef": lambda lic=licence: ef_client(lic).account_current(),
        }
        for which, probe in probes.items():
            if getattr(licence, f"{which}_status") != ConnectionStatus.FAILING or (
                which == "shop" and not licence.shop_token
            ):
                continue
            try:
                probe()
            except AuthenticationError:
                Licence.objects.filter(pk=licence.pk).update(**{f"{which}_checked_at": timezone.now()})
                continue
            except ConnectorError:
                continue  # not reachable now: try again next time
            connection_ok(licence, which)
            recovered += 1
    return recovered


def pipeline_tick() -> dict[str, int]:
    """The time-critical part, every few seconds (`manage.py pipeline_ticker`) and in every sweep."""
    return {
        "reclaimed": orders_reclaim_stale(),
        "due": order_enqueue_due(),
        "handed_out": orders_hand_out_round(),
        "events": webhook_events_hand_out(),
        "lost_events": webhook_events_requeue_lost(),
        "follow_ups": follow_ups_left_behind(),
    }


def orders_sweep() -> dict[str, int]:
    # Connections and held orders first, so that what they resume goes out in this same round.
    recovered, resumed = connections_probe(), licences_resume_held()
    return {
        **pipeline_tick(),
        "recovered": recovered,
        "resumed": resumed,
        "calls_expired": order_calls_expire(),
        "throttles_expired": throttle_counts_expire(),
        "backfills_resumed": backfills_resume(),
    }
