"""The periodic sweep: re-queue what is due, take over from workers that died, resume held orders."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from connectors.errors import AuthenticationError, ConnectorError
from licenses.models import ConnectionStatus, Licence, LicenceState
from licenses.services import connection_ok, ef_client, shop_client

from .models import FollowUp, Order, OrderEvent, OrderState, WebhookEvent, WebhookOutcome
from .processing import order_enqueue_due
from .queue import enqueue
from .sync import licence_hold_reason, licence_orders_resume, order_queue
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


def orders_requeue_lost() -> int:
    """Queued orders whose task vanished (a broker restart) are queued again; the claim keeps it single."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.ORDER_LOST_TASK_SECONDS)
    lost = list(
        Order.objects.filter(state=OrderState.QUEUED, updated_at__lt=cutoff).values_list("pk", flat=True)
    )
    # Each at most once per period, however long the backlog is.
    Order.objects.filter(pk__in=lost, state=OrderState.QUEUED).update(updated_at=now)
    for pk in lost:
        enqueue("orders.tasks.order_process_task", pk)
    return len(lost)


def webhook_events_requeue_lost() -> int:
    """A stored event whose task vanished (a worker killed with it in hand) is handed out again.

    Without this the order would wait for the next catch-up; handling an event twice is harmless.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.ORDER_LOST_TASK_SECONDS)
    lost = list(
        WebhookEvent.objects.filter(outcome=WebhookOutcome.QUEUED, received_at__lt=cutoff)
        .filter(Q(requeued_at__isnull=True) | Q(requeued_at__lt=cutoff))
        .values_list("pk", flat=True)[:1000]
    )
    WebhookEvent.objects.filter(pk__in=lost).update(requeued_at=now)
    for pk in lost:
        enqueue("orders.tasks.webhook_event_task", pk)
    return len(lost)


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
        order_queue(order, reason=Text(gettext_noop("follow-up to do")))
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
        "lost": orders_requeue_lost(),
        "lost_events": webhook_events_requeue_lost(),
        "follow_ups": follow_ups_left_behind(),
    }


def orders_sweep() -> dict[str, int]:
    return {**pipeline_tick(), "recovered": connections_probe(), "resumed": licences_resume_held()}
