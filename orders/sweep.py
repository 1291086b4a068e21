"""The periodic sweep: re-queue what is due, take over from workers that died, resume held orders."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from licenses.models import Licence

from .models import Order, OrderEvent, OrderState
from .processing import order_enqueue_due
from .queue import enqueue
from .sync import licence_hold_reason, licence_orders_resume
from .timeline import order_event_add

logger = logging.getLogger(__name__)
LOST_TASK_MINUTES = 10


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
            state_reason="The worker stopped while processing; trying again.",
        )
        if updated:
            order_event_add(
                order, OrderEvent.Kind.STATE, "Worker stopped while processing; handed to another worker."
            )
    return len(stale)


def orders_requeue_lost() -> int:
    """Queued orders whose task vanished (a broker restart) are queued again; the claim keeps it single."""
    cutoff = timezone.now() - timedelta(minutes=LOST_TASK_MINUTES)
    lost = Order.objects.filter(state=OrderState.QUEUED, updated_at__lt=cutoff).values_list("pk", flat=True)
    for pk in lost:
        enqueue("orders.tasks.order_process_task", pk)
    return len(lost)


def licences_resume_held() -> int:
    resumed = 0
    held = Licence.objects.filter(
        orders__state=OrderState.OPEN, orders__wait_code__in=["licence", "shop", "ef", "setup"]
    ).distinct()
    for licence in held:
        if licence_hold_reason(licence) is None:
            resumed += licence_orders_resume(licence)
    return resumed


def orders_sweep() -> dict[str, int]:
    return {
        "reclaimed": orders_reclaim_stale(),
        "due": order_enqueue_due(),
        "lost": orders_requeue_lost(),
        "resumed": licences_resume_held(),
    }
