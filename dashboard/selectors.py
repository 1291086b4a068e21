"""Everything a merchant page reads goes through these: scoped to a licence the login may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.functional import cached_property

from licenses.models import Licence
from orders.models import OPEN_STATES, FollowUp, Order, OrderState

TABS = {
    "open": list(OPEN_STATES),
    "report": [OrderState.HANDLED],
    "errors": [OrderState.ERROR],
    "ignored": [OrderState.IGNORED, OrderState.DELETED],
}
# The API also lists every order at once.
API_TABS = {**TABS, "all": list(OrderState)}


def licences_for_user(user: Any) -> QuerySet[Licence]:
    return Licence.objects.filter(access__user=user, access__hidden=False).order_by("created_at")


def licence_for_user(user: Any, key: str) -> Licence:
    """404 for any licence this login does not (or no longer) see."""
    return get_object_or_404(licences_for_user(user), key=key)


def order_for_licence(licence: Licence, pk: int) -> Order:
    return get_object_or_404(Order, licence=licence, pk=pk)


def order_ids_for_licence(licence: Licence, ids: list[int]) -> list[int]:
    """The selected orders, all of this licence: one id of another licence (or none at all) is a 404."""
    wanted = set(ids)
    found = set(Order.objects.filter(licence=licence, pk__in=wanted).values_list("pk", flat=True))
    if found != wanted:
        raise Http404
    return sorted(found)


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def this_month(cls) -> Period:
        today = timezone.localdate()
        first = today.replace(day=1)
        next_first = (first + timedelta(days=32)).replace(day=1)
        return cls(first, next_first - timedelta(days=1))

    @classmethod
    def from_query(cls, query: Any) -> Period:
        default = cls.this_month()
        try:
            start = date.fromisoformat(query.get("from", "")) if query.get("from") else default.start
            end = date.fromisoformat(query.get("to", "")) if query.get("to") else default.end
        except ValueError:
            return default
        return cls(start, end) if start <= end else cls(end, start)

    def bounds(self) -> tuple[datetime, datetime]:
        tz = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz),
        )


def period_for_tab(tab: str, query: Any) -> Period | None:
    """Report (a bookkeeping view) shows this month unless a period is chosen; Open, Errors and Ignored show
    every date unless one is: an order that needs the merchant, or was left out before the start date, is
    never hidden by the calendar."""
    if tab == "report" or query.get("from") or query.get("to"):
        return Period.from_query(query)
    return None


@dataclass
class Elsewhere:
    """A tab's orders outside the chosen period: how many, and the dates they span."""

    count: int
    start: date | None = None
    end: date | None = None


def orders_elsewhere(licence: Licence, tab: str, *, search: str = "") -> Elsewhere:
    """Where a tab's orders are when the chosen period holds none of them."""
    orders = orders_for_tab(licence, tab, period=None, search=search).order_by()
    moment = F("handled_at") if tab == "report" else Coalesce("order_created_at", "created_at")
    found = orders.aggregate(count=Count("pk"), first=Min(moment), last=Max(moment))
    if not found["count"]:
        return Elsewhere(0)
    local = timezone.get_current_timezone()
    return Elsewhere(
        found["count"], found["first"].astimezone(local).date(), found["last"].astimezone(local).date()
    )


def orders_for_tab(licence: Licence, tab: str, *, period: Period | None, search: str = "") -> QuerySet[Order]:
    """A tab's orders (Report by handled time, the others by creation), in a period when one is given."""
    # List pages and exports never need the order's JSON snapshot (a few KB a row).
    orders = Order.objects.filter(licence=licence, state__in=API_TABS[tab]).defer(
        "snapshot", "ef_invoice_payload"
    )
    if tab == "report":
        orders = orders.order_by("-handled_at")
        if period is not None:
            start, end = period.bounds()
            orders = orders.filter(handled_at__gte=start, handled_at__lt=end)
    else:
        orders = orders.order_by("-created_at")
        if period is not None:
            start, end = period.bounds()
            in_period = Q(order_created_at__gte=start, order_created_at__lt=end) | Q(
                order_created_at__isnull=True, created_at__gte=start, created_at__lt=end
            )
            orders = orders.filter(in_period)
    search = search.strip()
    if search:
        orders = orders.filter(
            Q(order_number__icontains=search)
            | Q(customer_name__icontains=search)
            | Q(customer_email__icontains=search)
            | Q(ef_invoice_number__icontains=search)
            | Exists(  # an invoice "Credit and re-invoice" replaced is found under its order
                FollowUp.objects.filter(
                    order_id=OuterRef("pk"),
                    kind=FollowUp.Kind.CREDIT_NOTE,
                    plan__invoice_number__icontains=search,
                )
            )
        )
    return orders


class CappedPaginator(Paginator):
    """Counts only up to `cap` rows: a deep page of a broad search never counts every match.

    `count_capped` tells the page that there are more pages than it shows ("Page 40 of 50+").
    """

    def __init__(self, object_list: Any, per_page: int, *, cap: int) -> None:
        super().__init__(object_list, per_page)
        self.cap, self.count_capped = cap, False

    @cached_property
    def count(self) -> int:
        found = self.object_list[: self.cap + 1].count()
        self.count_capped = found > self.cap
        return min(found, self.cap)


SEARCH_LOOKAHEAD_PAGES = 10


def _page_number(number: Any) -> int:
    return int(number) if isinstance(number, str) and number.isdigit() and len(number) < 7 else 1


def orders_page(orders: QuerySet[Order], number: Any, size: int, *, search: bool = False) -> Page:
    """One page of a tab: the page's ids first (an index-only walk, however deep the page), then its rows.

    A search counts its matches only as far as ten pages past the one asked for.
    """
    ids_query = orders.values_list("pk", flat=True)
    if search:
        cap = (_page_number(number) + SEARCH_LOOKAHEAD_PAGES) * size
        paginator: Paginator = CappedPaginator(ids_query, size, cap=cap)
    else:
        paginator = Paginator(ids_query, size)
    page = paginator.get_page(number)
    ids = list(page.object_list)
    done = Prefetch(
        "follow_ups", queryset=FollowUp.objects.filter(state=FollowUp.State.DONE), to_attr="done_follow_ups"
    )
    rows = {
        order.pk: order
        for order in Order.objects.filter(pk__in=ids)
        .defer("snapshot", "ef_invoice_payload")
        .prefetch_related(done)
    }
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


@dataclass
class AfterInvoice:
    """For a set of orders: how each invoice went out, its credit notes (number, amount), and the invoices
    "Credit and re-invoice" replaced (number, the credit note that cancelled it)."""

    sent: dict[int, str] = field(default_factory=dict)
    credits: dict[int, list[tuple[str, Decimal]]] = field(default_factory=dict)
    replaced: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


def after_invoice_by_order(order_ids: list[int]) -> AfterInvoice:
    """What happened after the invoice of these orders, in one query."""
    found = AfterInvoice()
    done = FollowUp.objects.filter(order_id__in=order_ids, state=FollowUp.State.DONE).order_by("pk")
    for order_id, kind, plan, result in done.values_list("order_id", "kind", "plan", "result"):
        if kind == FollowUp.Kind.SEND and plan.get("document") == "invoice":
            found.sent[order_id] = str(result.get("channel") or "")
        elif kind == FollowUp.Kind.CREDIT_NOTE:
            number = str(result.get("number") or "")
            found.credits.setdefault(order_id, []).append((number, Decimal(plan["amount"])))
            if plan.get("reinvoice"):
                found.replaced.setdefault(order_id, []).append(
                    (str(plan.get("invoice_number") or ""), number)
                )
    return found


def tab_counts(licence: Licence) -> dict[str, int]:
    return {
        "open": Order.objects.filter(licence=licence, state__in=TABS["open"]).count(),
        "errors": Order.objects.filter(licence=licence, state=OrderState.ERROR).count(),
    }


def tickets_for_licence(licence: Licence) -> QuerySet[Any]:
    from .models import Ticket

    return Ticket.objects.filter(licence=licence).select_related("order").order_by("-created_at")[:200]
