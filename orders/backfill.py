""" "Fetch orders since <date>": the shop's orders from before the start date, counted first, then invoiced
through the normal path.

A merchant who installs on the 15th wants the month's earlier orders invoiced. The Configuration tab counts
the shop's orders created from the chosen date until the current start date (a dry run: how many will be
invoiced), then, when asked, moves the start date back and feeds them to the pipeline one page per task,
queued in the ticker's per-licence rounds (so other licences' orders keep flowing). Each order is invoiced
exactly once: a known order that is unchanged is skipped; an order fetched this way asks EF for an invoice
with its external id before making one, and adopts what it finds. A page that fails is tried again by the
sweep; every step resumes from the stored offset.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from connectors.errors import AuthenticationError, ConnectorError
from licenses.models import ConnectionStatus, Licence
from licenses.services import connection_failing, shop_client

from .after_invoice import FULLY_CREDITED
from .models import Backfill, Order, OrderState
from .queue import enqueue
from .sync import BEFORE_START, HandOut, order_refresh

logger = logging.getLogger(__name__)
PAGE = 100
QUIET = timedelta(minutes=2)  # an active backfill without a step for this long lost its task: resumed
TASK = "orders.tasks.backfill_step_task"


# Known here and not to be fed again (an order Ignored only for the old start date is the exception).
SETTLED = (OrderState.HANDLED, OrderState.IGNORED, OrderState.DELETED, OrderState.PROCESSING)


class BackfillRefused(Exception):
    """Said to the merchant as it is (already translated)."""


# --------------------------------------------------------------------------------------------- the rules
def backfill_class(snapshot: dict[str, Any], known: dict[str, Any] | None, processable: list[str]) -> str:
    """What the run will do with one of the shop's orders: "invoice", "already" (invoiced or settled here)
    or "not_paid" (a payment status the configuration does not invoice)."""
    if known is not None:
        ignored_before_start = known["state"] == OrderState.IGNORED and (known["reason"] or {}).get("t") == (
            BEFORE_START
        )
        if known["invoiced"] or (known["state"] in SETTLED and not ignored_before_start):
            return "already"
    status = str(snapshot.get("paymentStatus") or "")
    if status in FULLY_CREDITED or status not in processable:
        return "not_paid"
    return "invoice"


def backfill_range(licence: Licence, since: date) -> tuple[datetime, datetime]:
    """From the start of `since` (the shop's local day) until the current start date."""
    start = datetime.combine(since, time.min, tzinfo=timezone.get_current_timezone())
    until = licence.process_from or timezone.now()
    if start >= until:
        raise BackfillRefused(
            _("Choose a date before the current start date (%(date)s): later orders are invoiced already.")
            % {"date": date_shown(timezone.localdate(until))}
        )
    if start < until - timedelta(days=settings.BACKFILL_MAX_DAYS):
        raise BackfillRefused(
            _("Choose a date at most %(days)s days before the start date.")
            % {"days": settings.BACKFILL_MAX_DAYS}
        )
    return start, until


# ------------------------------------------------------------------------------------- the merchant's asks
def backfill_count_start(licence: Licence, since: date, *, actor: str) -> Backfill:
    """The dry run: count the shop's orders of the range and what will be invoiced (a task, page by page)."""
    start, until = backfill_range(licence, since)
    with transaction.atomic():
        Licence.objects.select_for_update().filter(pk=licence.pk).first()  # one active backfill per licence
        if Backfill.objects.filter(licence=licence, state__in=Backfill.ACTIVE).exists():
            raise BackfillRefused(_("Earlier orders are being counted or fetched already; see below."))
        # An earlier count nobody ran is replaced by this one (its numbers may no longer hold).
        Backfill.objects.filter(licence=licence, state=Backfill.State.COUNTED).update(
            state=Backfill.State.CANCELLED, finished_at=timezone.now()
        )
        backfill = Backfill.objects.create(licence=licence, since=start, until=until, created_by=actor[:200])
        enqueue(TASK, backfill.pk)
    return backfill


def backfill_run_start(backfill: Backfill) -> None:
    """After the count: move the start date back and fetch the orders (a task, page by page)."""
    with transaction.atomic():
        updated = Backfill.objects.filter(pk=backfill.pk, state=Backfill.State.COUNTED).update(
            state=Backfill.State.RUNNING, offset=0, read=0, fed=0, problem=""
        )
        if not updated:
            raise BackfillRefused(_("This count was used or cancelled already; count again."))
        licence = Licence.objects.select_for_update().get(pk=backfill.licence_id)
        if licence.process_from is None or licence.process_from > backfill.since:
            Licence.objects.filter(pk=licence.pk).update(process_from=backfill.since)
        enqueue(TASK, backfill.pk)


def backfill_cancel(backfill: Backfill) -> None:
    """Stop after the page being read; what was fed goes on (it is invoiced as any order)."""
    Backfill.objects.filter(pk=backfill.pk, state__in=[*Backfill.ACTIVE, Backfill.State.COUNTED]).update(
        state=Backfill.State.CANCELLED, finished_at=timezone.now()
    )


# ------------------------------------------------------------------------------------------------ the work
def backfill_step(backfill_pk: int) -> None:
    """Read one page of the shop's orders and count or feed it; then hand the next page to a new task."""
    backfill = Backfill.objects.select_related("licence").filter(pk=backfill_pk).first()
    if backfill is None or not backfill.active:
        return
    licence = backfill.licence
    try:
        page = shop_client(licence).orders_created_page(
            created_from=backfill.since,
            created_to=backfill.until - timedelta(seconds=1),  # the shop's createdTo is inclusive
            offset=backfill.offset,
            limit=PAGE,
        )
    except AuthenticationError as exc:
        connection_failing(licence, "shop", exc.message)
        Backfill.objects.filter(pk=backfill.pk).update(problem=exc.message[:500])  # resumed once reconnected
        return
    except ConnectorError as exc:
        logger.warning("backfill %s: page at %s failed: %s", backfill.pk, backfill.offset, exc.summary())
        Backfill.objects.filter(pk=backfill.pk).update(problem=exc.summary()[:500])  # the sweep resumes it
        return
    items = [item for item in page.get("items") or [] if item.get("id")]
    counts = _count(licence, items) if backfill.state == Backfill.State.COUNTING else {}
    fed = _feed(licence, backfill, items) if backfill.state == Backfill.State.RUNNING else 0
    offset = backfill.offset + int(page.get("count", len(items)))
    last = not items or offset >= int(page.get("total", 0))
    fields: dict[str, Any] = {"offset": offset, "read": backfill.read + len(items), "problem": ""}
    if backfill.state == Backfill.State.COUNTING:
        fields.update(
            found=int(page.get("total", 0)),
            will_invoice=backfill.will_invoice + counts.get("invoice", 0),
            already=backfill.already + counts.get("already", 0),
            not_paid=backfill.not_paid + counts.get("not_paid", 0),
        )
    else:
        fields["fed"] = backfill.fed + fed
    if last:
        fields["state"] = (
            Backfill.State.COUNTED if backfill.state == Backfill.State.COUNTING else Backfill.State.DONE
        )
        fields["finished_at"] = timezone.now() if fields["state"] == Backfill.State.DONE else None
    # Only the step that read this page moves the offset on (a duplicate task finds it moved and stops).
    with transaction.atomic():
        moved = Backfill.objects.filter(pk=backfill.pk, state=backfill.state, offset=backfill.offset).update(
            **fields, updated_at=timezone.now()
        )
        if moved and not last:
            enqueue(TASK, backfill.pk)


def _known(licence: Licence, items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """This page's orders as known here, and as invoiced under an earlier licence of the same store (a
    merchant who installed again: those invoices exist, under that licence's external ids)."""
    numbers = [str(item["id"]) for item in items]
    rows = Order.objects.filter(licence=licence, order_number__in=numbers).values(
        "order_number", "state", "ef_invoice_id", "state_reason_text"
    )
    known = {
        row["order_number"]: {
            "state": row["state"],
            "invoiced": row["ef_invoice_id"] is not None,
            "reason": row["state_reason_text"],
        }
        for row in rows
    }
    earlier = (
        Order.objects.filter(
            licence__store_id=licence.store_id, order_number__in=numbers, ef_invoice_id__isnull=False
        )
        .exclude(licence=licence)
        .values_list("order_number", flat=True)
    )
    for number in earlier:
        known[number] = {"state": OrderState.HANDLED, "invoiced": True, "reason": {}}
    return known


def _count(licence: Licence, items: list[dict[str, Any]]) -> dict[str, int]:
    known = _known(licence, items)
    counted: dict[str, int] = {}
    for item in items:
        kind = backfill_class(item, known.get(str(item["id"])), list(licence.processable_statuses))
        counted[kind] = counted.get(kind, 0) + 1
    return counted


def _feed(licence: Licence, backfill: Backfill, items: list[dict[str, Any]]) -> int:
    """Each order through the normal path, queued for the licence's rounds; settled ones are left alone."""
    licence.refresh_from_db()  # the start date was moved back
    known = _known(licence, items)
    fed = 0
    for item in items:
        number = str(item["id"])
        row = known.get(number)
        if row is not None and backfill_class(item, row, list(licence.processable_statuses)) == "already":
            continue
        if row is not None and row["state"] == OrderState.IGNORED:
            # Left out only because of the old start date: decided again, as a new order would be.
            Order.objects.filter(licence=licence, order_number=number, state=OrderState.IGNORED).update(
                state=OrderState.OPEN
            )
        order_refresh(
            licence,
            number,
            trigger="backfill",
            snapshot=item,
            hand_out=HandOut.ROUND,
            backfill_id=backfill.pk,
        )
        fed += 1
    return fed


def backfills_resume() -> int:
    """Active backfills whose step was lost (a killed worker, a page that failed) get a new one."""
    quiet = Backfill.objects.filter(state__in=Backfill.ACTIVE, updated_at__lt=timezone.now() - QUIET)
    resumed = 0
    for backfill in quiet.select_related("licence"):
        if backfill.licence.shop_status != ConnectionStatus.OK:
            continue  # waits for ReConnect
        Backfill.objects.filter(pk=backfill.pk).update(updated_at=timezone.now())
        enqueue(TASK, backfill.pk)
        resumed += 1
    return resumed


# ------------------------------------------------------------------------------------------------ the page
@dataclass
class Progress:
    handled: int = 0
    waiting: int = 0
    errors: int = 0
    ignored: int = 0


def backfill_progress(backfill: Backfill) -> Progress:
    """What became of the orders this backfill fed: invoiced, still on their way, in Errors."""
    by_state = dict(
        Order.objects.filter(licence_id=backfill.licence_id, backfill=backfill)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return Progress(
        handled=by_state.get(OrderState.HANDLED, 0),
        errors=by_state.get(OrderState.ERROR, 0),
        ignored=by_state.get(OrderState.IGNORED, 0) + by_state.get(OrderState.DELETED, 0),
        waiting=sum(
            n
            for state, n in by_state.items()
            if state not in (OrderState.HANDLED, OrderState.ERROR, OrderState.IGNORED, OrderState.DELETED)
        ),
    )


def backfill_latest(licence: Licence) -> Backfill | None:
    return Backfill.objects.filter(licence=licence).order_by("-created_at").first()


def date_shown(day: date) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")
