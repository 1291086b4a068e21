"""What a merchant (or staff) can do to orders: process again, ignore. Always scoped to one licence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from licenses.models import Licence

from .follow_ups import follow_ups_retry_failed, reinvoice_plan
from .models import Order, OrderEvent, OrderState
from .sync import HandOut, may_invoice, order_queue, retry_pending, waiting_for_payment
from .texts import Text, text_fields
from .timeline import order_event_add

INTERACTIVE_MAX = 20
AGAIN_FROM = (OrderState.ERROR, OrderState.OPEN, OrderState.IGNORED, OrderState.DELETED, OrderState.RETRYING)


@dataclass
class ActionResult:
    done: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # order number -> why


def order_process_again(*, licence: Licence, order_ids: Iterable[int], actor: str) -> ActionResult:
    """The Process button: read the order again and run it through checks and EF. Never a second invoice.

    An order whose invoice EF already made but which did not finish (its number could not be read back)
    is finished: the invoice is read again, never created again.
    """
    result = ActionResult()
    ids = list(order_ids)
    # A few orders go to the workers at once; a long selection waits for the licence's rounds.
    hand_out = HandOut.NOW if len(ids) <= INTERACTIVE_MAX else HandOut.ROUND
    for order in Order.objects.filter(licence=licence, pk__in=ids).select_related("licence"):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order.pk)
            if order.state == OrderState.HANDLED:
                result.refused[order.order_number] = Text(gettext_noop("already invoiced"))
                continue
            if order.state not in AGAIN_FROM:
                result.refused[order.order_number] = Text(
                    gettext_noop("not possible in the state %(state)s"), state=order.state
                )
                continue
            if retry_pending(order):
                result.refused[order.order_number] = Text(
                    gettext_noop(
                        "already planned to be retried at %(time)s; the pause after a failure is kept"
                    ),
                    time=f"{timezone.localtime(order.next_attempt_at):%H:%M}",
                )
                continue
            if (
                not order.is_invoiced
                and order.payment_status
                and not may_invoice(licence, order.payment_status)
            ):
                result.refused[order.order_number] = waiting_for_payment(licence, order.payment_status)
                continue
            Order.objects.filter(pk=order.pk).update(
                attempts=0,
                error_code="",
                error_message="",
                ef_answer="",
                needs_read=True,
                next_attempt_at=None,
            )
            follow_ups_retry_failed(order)
            order_event_add(
                order, OrderEvent.Kind.ACTION, Text(gettext_noop("Process pressed.")), actor=actor
            )
            order_queue(order, reason=Text(gettext_noop("processed again on request")), hand_out=hand_out)
            result.done.append(order.order_number)
    return result


def order_ignore(*, licence: Licence, order_ids: Iterable[int], actor: str) -> ActionResult:
    result = ActionResult()
    for order in Order.objects.filter(licence=licence, pk__in=list(order_ids)):
        updated = (
            Order.objects.filter(pk=order.pk, ef_invoice_id__isnull=True)
            .exclude(state__in=[OrderState.HANDLED, OrderState.PROCESSING])
            .update(
                **text_fields(
                    state=OrderState.IGNORED,
                    state_reason=Text(
                        gettext_noop("Ignored by %(actor)s on %(date)s. Process undoes it."),
                        actor=actor,
                        date=f"{timezone.localdate():%Y-%m-%d}",
                    ),
                    wait_code="",
                    next_attempt_at=None,
                )
            )
        )
        if updated:
            order_event_add(order, OrderEvent.Kind.ACTION, Text(gettext_noop("Ignore pressed.")), actor=actor)
            result.done.append(order.order_number)
        else:
            result.refused[order.order_number] = Text(gettext_noop("already invoiced or being processed"))
    return result


def order_credit_and_reinvoice(*, licence: Licence, order_ids: Iterable[int], actor: str) -> ActionResult:
    """For an order changed after invoicing: a credit note for the invoice, then a new invoice for the
    order as the shop has it now. Never two invoices standing for one order."""
    result = ActionResult()
    for order in Order.objects.filter(licence=licence, pk__in=list(order_ids)).select_related("licence"):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order.pk)
            if not order.changed_after_invoicing:
                result.refused[order.order_number] = Text(gettext_noop("not changed after invoicing"))
                continue
            if order.state not in (OrderState.HANDLED, OrderState.ERROR) or reinvoice_plan(order) is None:
                result.refused[order.order_number] = Text(gettext_noop("already being processed"))
                continue
            Order.objects.filter(pk=order.pk).update(attempts=0, needs_read=True, next_attempt_at=None)
            order_event_add(
                order,
                OrderEvent.Kind.ACTION,
                Text(gettext_noop("Credit and re-invoice pressed.")),
                actor=actor,
            )
            order_queue(order, reason=Text(gettext_noop("credit and re-invoice")))
            result.done.append(order.order_number)
    return result
