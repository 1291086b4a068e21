"""Keep our order rows in step with the shop: read the order, store the snapshot, decide what happens next."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from connectors.errors import AuthenticationError, ConnectorError, NotFoundError, TransientError
from connectors.values import as_decimal, as_int
from licenses.models import ConnectionStatus, Licence
from licenses.services import connection_failing, shop_client

from .after_invoice import FULLY_CREDITED
from .call_log import order_attempt_recorded, order_attempt_store_now
from .follow_ups import credits_plan, follow_ups_waiting
from .models import Order, OrderEvent, OrderState, WebhookEvent, WebhookOutcome
from .outcomes import retry_schedule
from .queue import enqueue
from .rows import row_insert_unless_exists, row_update, row_update_statement
from .texts import Text, text_fields
from .timeline import order_event_add

logger = logging.getLogger(__name__)


class HandOut(StrEnum):
    NOW = "now"  # a task at once: one order, someone waiting for it
    CALLER = "caller"  # claimed for the calling worker in the read's commit (the webhook's worker)
    ROUND = "round"  # the ticker hands it out in bounded per-licence rounds (catch-up, resume, retries)


# Why an order older than the configuration's start date is Ignored ("fetch orders since" re-decides these).
BEFORE_START = gettext_noop("Created before %(when)s, the start date in the configuration.")


class WaitCode:
    STATUS = "status"
    LICENCE = "licence"
    SHOP = "shop"
    EF = "ef"
    SETUP = "setup"


def _order_found_or_new(licence: Licence, order_number: str, *, look: bool = True) -> Order:
    """The order's row, or an unsaved Order for one we have never seen (`_order_insert` makes its row).
    `look=False` skips the look-up: the INSERT that makes the row takes over one that exists after all."""
    number = order_number[:100]
    found = Order.objects.filter(licence=licence, order_number=number).first() if look else None
    return found or Order(licence=licence, order_number=number)


# The order fields `snapshot_store` sets (written with `save(update_fields=...)`, not the whole row).
SNAPSHOT_FIELDS = (
    "snapshot",
    "snapshot_at",
    "needs_read",
    "internal_id",
    "payment_status",
    "order_created_at",
    "customer_name",
    "customer_email",
    "total",
)


def snapshot_store(order: Order, snapshot: dict[str, Any]) -> None:
    person = snapshot.get("billingPerson") or snapshot.get("shippingPerson") or {}
    stamp = as_int(snapshot.get("createTimestamp"))
    order.snapshot = snapshot
    order.snapshot_at = timezone.now()
    order.needs_read = False
    order.internal_id = as_int(snapshot.get("internalId"))
    order.payment_status = str(snapshot.get("paymentStatus") or "")[:40]
    order.order_created_at = datetime.fromtimestamp(stamp, UTC) if stamp else None
    order.customer_name = str(person.get("companyName") or person.get("name") or "")[:200]
    order.customer_email = str(snapshot.get("email") or "")[:254]
    total = as_decimal(snapshot.get("total"))
    order.total = total.quantize(Decimal("0.01")) if total is not None else None


def order_refresh(
    licence: Licence,
    order_number: str,
    *,
    trigger: str,
    snapshot: dict[str, Any] | None = None,
    webhook: WebhookEvent | None = None,
    hand_out: str = HandOut.NOW,
    backfill_id: int | None = None,
) -> Order:
    """Read the order (unless the caller already holds a fresh copy), store it, decide.

    `hand_out` says how a queued order reaches a worker (see HandOut); `backfill_id` marks an order fetched by
    "fetch orders since" (EF is asked for its invoice before one is made).
    """
    # An order.created webhook is mostly about an order we have never seen: no look-up first. A new order's
    # row is made in the commit that stores what the read found.
    new_likely = webhook is not None and webhook.event_type == "order.created"
    order = _order_found_or_new(licence, order_number, look=not new_likely)
    if backfill_id is not None and not order.is_invoiced:
        order.backfill_id = backfill_id
    with order_attempt_recorded(order):  # its timeline lines and calls in one commit
        return _order_refresh(
            licence, order, trigger=trigger, snapshot=snapshot, webhook=webhook, hand_out=hand_out
        )


def _order_refresh(
    licence: Licence,
    order: Order,
    *,
    trigger: str,
    snapshot: dict[str, Any] | None,
    webhook: WebhookEvent | None,
    hand_out: str,
) -> Order:
    order_number = order.order_number
    if webhook is not None:
        data = webhook.body.get("data") or {}
        order_event_add(
            order,
            OrderEvent.Kind.WEBHOOK,
            Text(gettext_noop("%(event)s received"), event=webhook.event_type),
            detail={"eventId": webhook.event_id, "data": data},
        )
    if snapshot is None:
        try:
            snapshot = shop_client(licence).order_get(order_number)
        except AuthenticationError as exc:
            _order_insert_once(order)
            connection_failing(licence, "shop", exc.message)
            _read_failed(order, exc)
            _wait(order, *HOLD_SHOP)
            return order
        except NotFoundError as exc:
            _order_insert_once(order)
            order_event_add(
                order,
                OrderEvent.Kind.READ,
                Text(gettext_noop("The order no longer exists in the shop."), said=exc.message),
            )
            if not order.is_invoiced and order.state != OrderState.HANDLED:
                _set_state(
                    order, OrderState.DELETED, Text(gettext_noop("The order was deleted in the shop."))
                )
            return order
        except ConnectorError as exc:
            _order_insert_once(order)
            _read_failed(order, exc)
            Order.objects.filter(pk=order.pk).update(needs_read=True)
            if isinstance(exc, TransientError) and order.state not in (
                OrderState.HANDLED,
                OrderState.PROCESSING,
            ):
                retry_schedule(order, exc, code="SHOP_UNREACHABLE", count_attempt=True)
            return order
        template = gettext_noop("Read from KMO Shops (%(trigger)s): %(status)s, total €%(total)s")
    else:
        template = gettext_noop("Found by %(trigger)s: %(status)s, total €%(total)s")
    status, total = str(snapshot.get("paymentStatus") or ""), str(snapshot.get("total"))
    order_event_add(order, OrderEvent.Kind.READ, Text(template, trigger=trigger, status=status, total=total))
    with transaction.atomic():
        if order.pk is None:
            snapshot_store(order, snapshot)
        # A new order's row is one INSERT with its snapshot (this transaction holds it); False when a duplicate
        # event's worker made it first: then it is read under the lock like any other.
        new = order.pk is None and _order_insert(order)
        if new:
            changed = True
        else:
            backfill_id = order.backfill_id
            order = Order.objects.select_for_update().get(pk=order.pk)
            order.licence = licence  # read a moment ago: no second look-up
            changed = (order.snapshot or {}).get("updateTimestamp") != snapshot.get("updateTimestamp")
            snapshot_store(order, snapshot)
            marked = []
            if backfill_id is not None and not order.is_invoiced and order.backfill_id != backfill_id:
                order.backfill_id, marked = backfill_id, ["backfill"]
            order.save(update_fields=[*SNAPSHOT_FIELDS, *marked, "updated_at"])
        order_decide(order, changed=changed, hand_out=hand_out)
        # The read's lines and call commit with what it decided, and so does the event's outcome.
        handled = (
            [row_update_statement(WebhookEvent, webhook.pk, {"outcome": WebhookOutcome.HANDLED})]
            if webhook is not None
            else []
        )
        order_attempt_store_now(order.pk, *handled)
    return order


def _order_insert(order: Order) -> bool:
    """Make the row of an order first seen now. False when a worker with a duplicate event made it first:
    `order` then holds that row's values (its timeline lines, collected on this object, follow it)."""
    if row_insert_unless_exists(order, ("licence", "order_number")):
        return True
    existing = Order.objects.get(licence_id=order.licence_id, order_number=order.order_number)
    for field in Order._meta.concrete_fields:
        setattr(order, field.attname, getattr(existing, field.attname))
    order._state.adding = False
    return False


def _order_insert_once(order: Order) -> None:
    """Before anything is written down about an order first seen now, its row must exist."""
    if order.pk is None:
        _order_insert(order)


def state_change(previous: str, state: str, reason: str = "") -> Text:
    """A timeline line for a state change, with its reason (both shown in the merchant's language)."""
    if reason:
        return Text(
            gettext_noop("%(previous)s → %(state)s: %(reason)s"),
            previous=previous,
            state=state,
            reason=reason,
        )
    return Text(gettext_noop("%(previous)s → %(state)s"), previous=previous, state=state)


def _read_failed(order: Order, exc: ConnectorError) -> None:
    order_event_add(
        order,
        OrderEvent.Kind.READ,
        Text(gettext_noop("Could not read the order from KMO Shops."), said=exc.summary()),
    )


def _set_state(order: Order, state: str, reason: str, *, wait_code: str = "") -> None:
    previous = order.state
    row_update(Order, order.pk, text_fields(state=state, state_reason=reason, wait_code=wait_code))
    order.state, order.state_reason, order.wait_code = state, reason, wait_code
    if previous != state or reason:
        order_event_add(order, OrderEvent.Kind.STATE, state_change(previous, state, reason))


def _wait(order: Order, code: str, reason: str) -> None:
    if order.is_invoiced or order.state in (OrderState.HANDLED, OrderState.PROCESSING):
        return
    _set_state(order, OrderState.OPEN, reason, wait_code=code)


HOLD_SHOP = (
    WaitCode.SHOP,
    Text(gettext_noop("Held: the KMO Shops connection is failing; reconnect it to continue.")),
)
HOLD_EF = (
    WaitCode.EF,
    Text(gettext_noop("Held: the EenvoudigFactureren connection is failing; reconnect it to continue.")),
)


def licence_hold_reason(licence: Licence) -> tuple[str, str] | None:
    """Why this licence's orders must wait now, or None when they may be processed."""
    if not licence.may_process:
        reason = gettext_noop("Held: the licence has expired; orders continue once it is active again.")
        return WaitCode.LICENCE, Text(reason)
    if licence.shop_status == ConnectionStatus.FAILING:
        return HOLD_SHOP
    if licence.ef_status != ConnectionStatus.OK:
        if licence.ef_status == ConnectionStatus.FAILING:
            return HOLD_EF
        return WaitCode.SETUP, Text(
            gettext_noop("Waiting for the installation: connect EenvoudigFactureren.")
        )
    if licence.configured_at is None:
        return WaitCode.SETUP, Text(gettext_noop("Waiting for the installation: save the configuration."))
    return None


def order_decide(order: Order, *, changed: bool = True, hand_out: str = HandOut.NOW) -> None:
    """Given a fresh snapshot: wait in Open, queue for processing, or only note the update."""
    licence = order.licence
    if order.is_invoiced or order.state == OrderState.HANDLED:
        _invoiced_order_updated(order, changed=changed, hand_out=hand_out)
        return
    if order.state in (OrderState.PROCESSING, OrderState.IGNORED):
        order_event_add(
            order,
            OrderEvent.Kind.STATE,
            Text(gettext_noop("Update noted while the order is %(state)s."), state=order.state),
        )
        return
    if order.state == OrderState.ERROR and not changed:
        return
    status = order.payment_status
    if status in FULLY_CREDITED:
        reason = Text(gettext_noop("%(status)s before it was invoiced: no invoice is made."), status=status)
        _set_state(order, OrderState.IGNORED, reason)
        return
    if not may_invoice(licence, status):
        reason = waiting_for_payment(licence, status)
        _set_state(order, OrderState.OPEN, reason, wait_code=WaitCode.STATUS)
        return
    if licence.process_from and order.order_created_at and order.order_created_at < licence.process_from:
        when = timezone.localtime(licence.process_from).strftime("%Y-%m-%d %H:%M")
        reason = Text(BEFORE_START, when=when)
        _set_state(order, OrderState.IGNORED, reason)
        return
    hold = licence_hold_reason(licence)
    if hold:
        _wait(order, *hold)
        return
    if retry_pending(order):
        # A webhook or the catch-up does not hurry a retry: EF's Retry-After and the backoff stand, and an
        # earlier create may still be landing. The retry reads the snapshot just stored.
        order_event_add(
            order,
            OrderEvent.Kind.STATE,
            Text(
                gettext_noop("Update noted; the retry at %(time)s stands."),
                time=f"{timezone.localtime(order.next_attempt_at):%H:%M:%S}",
            ),
        )
        return
    order_queue(order, hand_out=hand_out)


def retry_pending(order: Order) -> bool:
    """The order waits for a retry whose time has not come."""
    return (
        order.state == OrderState.RETRYING
        and order.next_attempt_at is not None
        and order.next_attempt_at > timezone.now()
    )


def may_invoice(licence: Licence, status: str) -> bool:
    """An order with this payment status is invoiced. Partly refunded means it was paid: it is invoiced
    (and the refund credited) whenever paid orders are."""
    if status == "PARTIALLY_REFUNDED":
        return "PAID" in licence.processable_statuses or status in licence.processable_statuses
    return status in licence.processable_statuses


def _invoiced_order_updated(order: Order, *, changed: bool, hand_out: str) -> None:
    """A new snapshot of an invoiced order: credit notes for refunds, a note when the amounts changed.

    Never a second invoice: "Credit and re-invoice" is the merchant's decision.
    """
    if changed and order.changed_after_invoicing:
        order_event_add(
            order,
            OrderEvent.Kind.STATE,
            Text(
                gettext_noop(
                    "Changed after invoicing: invoiced €%(invoiced)s, the shop now says €%(total)s. "
                    "No second invoice is made; use Credit and re-invoice if the invoice must follow."
                ),
                invoiced=str(order.invoiced_total),
                total=str(order.total),
            ),
        )
    credits = credits_plan(order, order.licence)
    # In Errors while something still waits (a re-invoice whose new order failed a check): try again.
    retry = order.state == OrderState.ERROR and changed and follow_ups_waiting(order)
    if credits or retry:
        if order.state in (OrderState.HANDLED, OrderState.ERROR):
            order_queue(order, reason=Text(gettext_noop("credit note to make")), hand_out=hand_out)
        return
    if not (changed and order.changed_after_invoicing):
        order_event_add(
            order,
            OrderEvent.Kind.STATE,
            Text(gettext_noop("Update noted; the order is already invoiced, no second invoice is made.")),
        )


def waiting_for_payment(licence: Licence, status: str) -> Text:
    """Why an order waits in Open: its payment status, and the setting that decides it."""
    return Text(
        gettext_noop(
            "Waiting for payment: the order is “%(status)s”. Orders are processed once they are “%(wanted)s” "
            "(Configuration → payment statuses)."
        ),
        status=status or "-",
        wanted="|".join(licence.processable_statuses),
    )


def order_queue(order: Order, *, reason: str = "", hand_out: str = HandOut.NOW) -> None:
    """Queued: `NOW` a task at once, `ROUND` the ticker hands it out in per-licence rounds (bulk paths: one
    licence's backlog never stands before another's orders); `CALLER`: claimed at once for the calling
    worker, which processes it next (`order.claimed_by_caller` says so).
    """
    now = timezone.now()
    if hand_out == HandOut.CALLER and _claim_for_caller(order, now):
        return
    handed_out_at = None if hand_out == HandOut.ROUND else now
    fields = text_fields(state=OrderState.QUEUED, state_reason=reason, wait_code="", next_attempt_at=None)
    row_update(Order, order.pk, {**fields, "handed_out_at": handed_out_at})
    previous, order.state, order.handed_out_at = order.state, OrderState.QUEUED, handed_out_at
    order_event_add(order, OrderEvent.Kind.STATE, state_change(previous, OrderState.QUEUED, reason))
    if hand_out != HandOut.ROUND:
        enqueue("orders.tasks.order_process_task", order.pk)


def _claim_for_caller(order: Order, now: datetime) -> bool:
    """Inside order_refresh's transaction, under its row lock: the order goes straight to `processing` for
    the worker that read it, with no task, no second claim and no second read of the row. The UPDATE
    still checks the state it read, so without that lock it claims nothing (and the order is queued)."""
    if not transaction.get_connection().in_atomic_block:
        return False
    fields = text_fields(
        state=OrderState.PROCESSING,
        state_reason="",
        wait_code="",
        next_attempt_at=None,
        claimed_at=now,
        handed_out_at=now,
    )
    claimed = row_update(Order, order.pk, fields, when={"state": order.state}, add_one=("attempts",))
    if not claimed:
        return False
    previous = order.state
    for name, value in fields.items():
        setattr(order, name, value)
    order.attempts += 1  # exact: the row was read under the lock this transaction holds
    order.claimed_by_caller = True
    order_event_add(order, OrderEvent.Kind.STATE, state_change(previous, OrderState.QUEUED))
    return True


def order_mark_deleted(licence: Licence, order_number: str, *, webhook: WebhookEvent | None = None) -> None:
    order = _order_found_or_new(licence, order_number)
    _order_insert_once(order)
    if webhook is not None:
        order_event_add(
            order,
            OrderEvent.Kind.WEBHOOK,
            Text(gettext_noop("%(event)s received"), event="order.deleted"),
            detail={"eventId": webhook.event_id},
        )
    if order.is_invoiced or order.state in (OrderState.HANDLED, OrderState.PROCESSING):
        order_event_add(
            order,
            OrderEvent.Kind.STATE,
            Text(gettext_noop("Deleted in the shop after invoicing; the EF invoice stays.")),
        )
        return
    _set_state(
        order,
        OrderState.DELETED,
        Text(gettext_noop("The order was deleted in the shop; it will not be invoiced.")),
    )


def licence_orders_resume(licence: Licence) -> int:
    """After a reconnect or activation: decide again for every order that waited on the licence."""
    waiting = Order.objects.filter(
        licence=licence,
        state=OrderState.OPEN,
        wait_code__in=[WaitCode.LICENCE, WaitCode.SHOP, WaitCode.EF, WaitCode.SETUP],
    )
    count = 0
    for order in waiting.select_related("licence"):
        order.licence = licence
        if order.needs_read or not order.snapshot:
            order_refresh(licence, order.order_number, trigger="resume", hand_out=HandOut.ROUND)
        else:
            order_decide(order, hand_out=HandOut.ROUND)
        count += 1
    return count
