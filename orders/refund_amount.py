"""A partial refund the shop gave no amount for (Ecwid fills `refunds[]` only for its own payment
services): the merchant enters the amount on More info, and the credit note is made for it, once."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from licenses.models import Licence

from .actions import order_process_again
from .domain import money
from .follow_ups import credited_on
from .labels import money_shown
from .models import FollowUp, Order, OrderEvent
from .texts import Text
from .timeline import order_event_add


class AmountRefused(Exception):
    """Said to the merchant as it is (already translated); nothing was changed."""


def refund_amount_parse(text: str) -> Decimal:
    """ "12,50", "12.50" or "1.234,50" as the merchant types it; a positive amount in cents."""
    cleaned = text.strip().replace("€", "").replace(" ", "").replace("\xa0", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise AmountRefused(_("Type the refunded amount, for example 12,50.")) from None
    if not amount.is_finite() or amount <= 0:
        raise AmountRefused(_("Type the refunded amount, for example 12,50."))
    return money(amount)


def refund_amount_enter(*, licence: Licence, order_pk: int, amount: Decimal, actor: str) -> Order:
    """Give the waiting credit note its amount (at most what is left of the invoice), then Process."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_pk, licence=licence)
        row = (
            order.follow_ups.select_for_update()
            .filter(kind=FollowUp.Kind.CREDIT_NOTE, plan__needs_amount=True)
            .exclude(state=FollowUp.State.DONE)
            .first()
        )
        if row is None:
            raise AmountRefused(_("This order is not waiting for a refunded amount."))
        others = order.follow_ups.filter(kind=FollowUp.Kind.CREDIT_NOTE).exclude(pk=row.pk)
        credited = credited_on(others, row.plan.get("invoice_id"))
        invoiced = order.invoice_amount or Decimal(0)
        left = invoiced - credited
        if amount > left:
            raise AmountRefused(
                _("The invoice has %(left)s left to credit; the refunded amount cannot be more.")
                % {"left": money_shown(left)}
            )
        row.plan = {**row.plan, "amount": str(amount), "needs_amount": False, "mirror": amount == invoiced}
        row.save(update_fields=["plan"])
        order_event_add(
            order,
            OrderEvent.Kind.ACTION,
            Text(gettext_noop("Refunded amount entered: %(amount)s."), amount=f"€{amount}"),
            actor=actor,
        )
    order_process_again(licence=licence, order_ids=[order.pk], actor=actor)
    return order
