"""Process one order: claim it, check it, match the EF client, create the invoice exactly once.

Exactly once rests on three things: a guarded UPDATE claims the order for one worker at a time;
`ef_create_started_at` is committed before the invoice create, so any later attempt (a retry, a webhook,
Process, catch-up, a worker that took over from a crashed one) first looks in EF by `external_invoice_id`;
and after a create whose outcome we never heard, no attempt creates again until a look-up made after EF
must have finished with it (`uncertain_create_settles_at`) has found nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from connectors.eenvoudigfactureren.client import SERVICE as EF_SERVICE
from connectors.eenvoudigfactureren.client import EfClient
from connectors.errors import AuthenticationError, ConnectorError, PermanentError, TransientError
from connectors.kmoshops.client import SERVICE as SHOP_SERVICE
from connectors.vies.client import SERVICE as VIES_SERVICE
from connectors.vies.client import VatStatus, vies_check
from licenses.models import Licence
from licenses.services import connection_failing, ef_client, shop_client

from .call_log import order_attempt_recorded
from .checks import CheckFailure, ErrorCode, order_checks, rate_refused_message
from .domain import DomainOrder
from .ecwid_mapping import domain_order_from_ecwid
from .ef_client_match import client_match_forget, client_match_or_create
from .ef_create import Deferred, earlier_create_find, marks_after_failure, uncertain_create_settles_at
from .follow_ups import credits_plan, follow_ups_run, invoice_follow_ups_plan, reinvoice_pending
from .invoice_mapping import (
    AmountsMode,
    InvoiceOptions,
    external_invoice_id,
    invoice_payload_build,
)
from .models import FollowUp, Order, OrderEvent, OrderState
from .oss import oss_evidence, oss_sale
from .outcomes import order_error, order_update, retry_later, retry_schedule
from .sync import (
    HOLD_EF,
    HOLD_SHOP,
    SNAPSHOT_FIELDS,
    licence_hold_reason,
    may_invoice,
    snapshot_store,
    state_change,
)
from .texts import Text, text_fields, text_from
from .timeline import order_event_add

logger = logging.getLogger(__name__)
CLAIMABLE = (OrderState.QUEUED, OrderState.RETRYING)


class Hold(Exception):
    """The order must wait in Open (connection failing, licence expired); it resumes by itself."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class Refused(Exception):
    """A check failed or EF refused: the order goes to Errors with this code and message."""

    def __init__(self, code: str, message: str, ef_answer: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.ef_answer = code, message, ef_answer


class NoLongerProcessable(Exception):
    """The fresh snapshot shows the order should not be invoiced now (status changed)."""


def order_claim(order_pk: int) -> bool:
    """One worker at a time: only the UPDATE that finds the order claimable wins."""
    now = timezone.now()
    claimed = (
        Order.objects.filter(pk=order_pk, state__in=CLAIMABLE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            **text_fields(state=OrderState.PROCESSING, claimed_at=now, state_reason=""),
            attempts=F("attempts") + 1,
        )
    )
    return claimed == 1


def order_process(order_pk: int) -> None:
    if not order_claim(order_pk):
        return
    order_process_claimed(Order.objects.select_related("licence").get(pk=order_pk))


def order_process_claimed(order: Order) -> None:
    """Process an order this worker has claimed; `order` is the row as it was when claimed, with its licence."""
    with order_attempt_recorded(order):
        _order_process_claimed(order)


def _order_process_claimed(order: Order) -> None:
    order_event_add(
        order,
        OrderEvent.Kind.STATE,
        Text(gettext_noop("Processing, attempt %(attempt)s."), attempt=order.attempts),
    )
    try:
        _process(order)
    except Hold as hold:
        order_event_add(  # committed with the state
            order, OrderEvent.Kind.STATE, state_change(OrderState.PROCESSING, OrderState.OPEN, hold.reason)
        )
        order_update(
            order, state=OrderState.OPEN, state_reason=hold.reason, wait_code=hold.code, claimed_at=None
        )
    except Refused as refused:
        order_error(order, refused.code, refused.message, ef_answer=refused.ef_answer)
    except Deferred as deferred:
        # Not an attempt: the claim counted one, give it back.
        event = state_change(OrderState.PROCESSING, OrderState.RETRYING, deferred.reason)
        retry_later(order, deferred.at, deferred.reason, attempts=max(0, order.attempts - 1), event=event)
    except NoLongerProcessable:
        from .sync import order_decide

        order_update(order, state=OrderState.QUEUED, claimed_at=None)
        order_decide(order)
    except TransientError as exc:
        retry_schedule(order, exc, code=UNREACHABLE_CODES.get(exc.service, ErrorCode.EF_UNREACHABLE))
    except Exception:  # noqa: BLE001 - a bug must not leave the order stuck in processing
        # Logged at ERROR: settings.LOGGING mails it to ADMINS (with the traceback) when there are any.
        logger.exception("order %s (licence %s): unexpected failure", order.order_number, order.licence_id)
        told = "support has been notified" if settings.ADMINS else "it was logged for support"
        retry_schedule(
            order,
            TransientError(f"internal error; {told}", service="integration"),
            code=ErrorCode.INTERNAL_ERROR,
        )


# What an order that gave up waiting for a counterpart says (the service's name as the connectors give it).
UNREACHABLE_CODES = {
    SHOP_SERVICE: ErrorCode.SHOP_UNREACHABLE,
    VIES_SERVICE: ErrorCode.VIES_UNREACHABLE,
    EF_SERVICE: ErrorCode.EF_UNREACHABLE,
}


def invoice_options(licence: Licence, *, generation: int = 1) -> InvoiceOptions:
    return InvoiceOptions(
        amounts=AmountsMode(licence.amounts),
        use_order_number=licence.use_order_number,
        reference_template=licence.reference_template,
        layout_id=licence.ef_layout_id,
        generation=generation,
        oss_registered=licence.oss_registered,
    )


def _process(order: Order) -> None:
    licence = order.licence
    hold = licence_hold_reason(licence)
    if hold:
        raise Hold(*hold)
    if order.needs_read or not order.snapshot:
        _read(order)
    if not order.is_invoiced and not may_invoice(licence, order.payment_status):
        raise NoLongerProcessable
    domain = domain_order_from_ecwid(order.snapshot, licence.shop_profile)
    ef = ef_client(licence)
    try:
        made = None
        if order.ef_invoice_id is None:
            _check(order, domain, licence)
            made = _invoice_create(order, domain, licence, ef)
        elif reinvoice_pending(order):
            _check(order, domain, licence)  # the new invoice must be possible before the old one is credited
        if _invoice_finish(order, domain, licence, ef, made):
            # Credited to be made again ("Credit and re-invoice"): the new invoice, from the new snapshot.
            _check(order, domain, licence)
            made = _invoice_create(order, domain, licence, ef)
            _invoice_finish(order, domain, licence, ef, made)
    except AuthenticationError as exc:
        connection_failing(licence, "ef", exc.message)
        order_event_add(
            order,
            OrderEvent.Kind.EF,
            Text(gettext_noop("EF refused the API key."), said=exc.summary()),
        )
        raise Hold(*HOLD_EF) from exc
    except PermanentError as exc:
        order_event_add(
            order,
            OrderEvent.Kind.EF,
            Text(gettext_noop("EF refused the customer or the invoice."), said=exc.summary()),
        )
        if any(marker in exc.message.lower() for marker in settings.EF_TAX_RATE_REFUSED_MARKERS):
            # A rate the account lacks (removed in EF since we read the rates): say which, and why (OSS).
            raise Refused(
                ErrorCode.VAT_RATE_UNKNOWN,
                rate_refused_message(domain, oss_registered=licence.oss_registered),
                exc.message,
            ) from exc
        message = Text(
            gettext_noop("EenvoudigFactureren refused the customer or the invoice."), said=exc.message
        )
        raise Refused(ErrorCode.EF_REJECTED, message, exc.message) from exc


def _read(order: Order) -> None:
    licence = order.licence
    try:
        snapshot = shop_client(licence).order_get(order.order_number)
    except AuthenticationError as exc:
        connection_failing(licence, "shop", exc.message)
        raise Hold(*HOLD_SHOP) from exc
    except TransientError:
        raise
    except ConnectorError as exc:
        message = Text(gettext_noop("The order could not be read from KMO Shops."), said=exc.message)
        raise Refused(ErrorCode.SHOP_UNREACHABLE, message) from exc
    snapshot_store(order, snapshot)
    Order.objects.filter(pk=order.pk).update(**{name: getattr(order, name) for name in SNAPSHOT_FIELDS})
    order_event_add(
        order,
        OrderEvent.Kind.READ,
        Text(
            gettext_noop("Read from KMO Shops: %(status)s, total €%(total)s"),
            status=order.payment_status,
            total=str(order.total),
        ),
    )


def _oss_evidence_keep(order: Order, domain: DomainOrder, *, registered: bool) -> None:
    """An OSS sale keeps where the customer is with the order (written once: the first look is the record)."""
    sale = oss_sale(domain, registered=registered)
    if sale is None or order.oss_evidence:
        return
    evidence = oss_evidence(domain, sale, recorded_at=timezone.now().isoformat(timespec="seconds"))
    order_update(order, oss_evidence=evidence)
    order_event_add(
        order,
        OrderEvent.Kind.CHECK,
        Text(gettext_noop("OSS sale: the VAT of %(country)s, for a consumer there."), country=sale.country),
        detail=evidence,
    )


def _check(order: Order, domain: DomainOrder, licence: Licence) -> None:
    rates = [Decimal(str(rate)) for rate in licence.ef_vat_rates]
    _oss_evidence_keep(order, domain, registered=licence.oss_registered)
    failure: CheckFailure | None = order_checks(
        domain, account_rates=rates, oss_registered=licence.oss_registered
    )
    if failure:
        order_event_add(
            order,
            OrderEvent.Kind.CHECK,
            Text(gettext_noop("Check failed: %(code)s"), code=failure.code),
            detail={"message": failure.message},
        )
        raise Refused(failure.code, failure.message)
    if domain.is_icp and licence.vies_check:
        result = vies_check(domain.customer.vat_number)
        order_event_add(
            order,
            OrderEvent.Kind.CHECK,
            Text(
                gettext_noop("VIES says %(answer)s for %(number)s"),
                answer=str(result.status),
                number=f"{result.country_code}{result.number}",
            ),
            detail={"request_identifier": result.request_identifier, "reason": result.reason},
        )
        if result.status == VatStatus.INVALID:
            message = Text(
                gettext_noop("VIES says VAT number %(number)s is not valid."),
                number=domain.customer.vat_number,
            )
            raise Refused(ErrorCode.VAT_NUMBER_INVALID, message)
        if result.status == VatStatus.UNAVAILABLE:
            raise TransientError(
                f"VIES could not verify the VAT number now ({result.reason})", service=VIES_SERVICE
            )
        order_update(order, vies_consultation=result.request_identifier)
    order_event_add(order, OrderEvent.Kind.CHECK, Text(gettext_noop("All checks passed.")))


@dataclass(frozen=True)
class Made:
    """An invoice EF made in this attempt, not yet written down: it is committed together with its number
    and the order's end (`_invoice_finish`), or on its own when reading it back fails. A worker killed in
    between leaves the mark made before the create, so the next attempt finds the invoice in EF."""

    invoice_id: int
    payload: dict[str, Any]


def _invoice_create(
    order: Order, domain: DomainOrder, licence: Licence, ef: EfClient, *, client_lost: bool = False
) -> Made:
    external_id = external_invoice_id(licence.pk, order.order_number, order.invoice_generation)
    if order.ef_create_started_at is not None:
        earlier = _invoice_adopt_earlier(order, domain, licence, ef, external_id)
        if earlier is not None:
            return earlier
    elif order.backfill_id is not None:
        existing = ef.invoice_find_by_external_id(external_id)  # invoiced by us before: adopted, not repeated
        if existing:
            return _invoice_adopt(order, domain, licence, existing, external_id, EXISTED)
    client_id = client_match_or_create(order, domain, licence, ef)
    payload = _invoice_payload(order, domain, licence, client_id, external_id)
    # Committed before the call: if we never learn the answer, the next attempt looks first, and not
    # before EF must have finished with this call.
    started = timezone.now()
    order_update(
        order,
        ef_create_started_at=started,
        ef_create_settles_at=uncertain_create_settles_at(started),
        ef_client_id=client_id,
    )
    try:
        invoice_id = ef.invoice_create(payload)
    except ConnectorError as exc:
        marks = marks_after_failure(exc)
        if marks:
            order_update(order, **{f"ef_create_{name}_at": value for name, value in marks.items()})
        if isinstance(exc, PermanentError) and CLIENT_UNKNOWN in exc.message and not client_lost:
            client_match_forget(order, domain, licence, client_id)  # EF refused: nothing was made
            return _invoice_create(order, domain, licence, ef, client_lost=True)
        raise
    order_event_add(
        order,
        OrderEvent.Kind.EF,
        Text(gettext_noop("Created EF invoice %(id)s."), id=invoice_id),
        detail={
            "items": len(payload["items"]),
            "tax_included": payload["tax_included"],
            "reference": payload["reference"],
        },
    )
    return Made(invoice_id, payload)


def _invoice_payload(
    order: Order, domain: DomainOrder, licence: Licence, client_id: int, external_id: str
) -> dict[str, Any]:
    options = invoice_options(licence, generation=order.invoice_generation)
    return invoice_payload_build(domain, options, client_id=client_id, external_id=external_id)


def _invoice_made(
    order: Order, domain: DomainOrder, licence: Licence, made: Made
) -> tuple[dict[str, Any], list[FollowUp]]:
    """The invoice exists: decide its follow-ups, inside the caller's transaction, and return the order
    fields that record it (the caller writes them in that same transaction) and the follow-ups decided."""
    fields = {
        "ef_invoice_id": made.invoice_id,
        "ef_client_id": made.payload["client_id"],
        "invoiced_total": domain.total,
        "ef_invoice_payload": made.payload,
    }
    for name, value in fields.items():
        setattr(order, name, value)  # what the follow-ups are decided from
    return fields, invoice_follow_ups_plan(order, domain, licence)


# EF's answer when the invoice names a client it does not have (spec: `{"error": "client_id unknown"}`).
CLIENT_UNKNOWN = "client_id unknown"
FOUND_EARLIER = gettext_noop("Found invoice %(id)s made by an earlier attempt; not creating another.")
EXISTED = gettext_noop(
    "EenvoudigFactureren already has invoice %(id)s for this order (made by this integration before): "
    "adopted, not made again."
)


def _invoice_adopt(
    order: Order, domain: DomainOrder, licence: Licence, existing: dict, external_id: str, said: str
) -> Made:
    invoice_id = int(existing["invoice_id"])
    client_id = int(existing.get("client_id") or 0) or order.ef_client_id or 0
    payload = _invoice_payload(order, domain, licence, client_id, external_id)
    order_event_add(order, OrderEvent.Kind.EF, Text(said, id=invoice_id))
    return Made(invoice_id, payload)


def _invoice_adopt_earlier(
    order: Order, domain: DomainOrder, licence: Licence, ef: EfClient, external_id: str
) -> Made | None:
    """An earlier create may have made the invoice: find it, or be sure it does not exist before creating."""
    existing = earlier_create_find(
        ef,
        external_id,
        started_at=order.ef_create_started_at,
        settles_at=order.ef_create_settles_at,
        too_early=gettext_noop(
            "Making sure EenvoudigFactureren did not create the invoice of an earlier attempt; "
            "looking again at %(time)s."
        ),
    )
    if existing:
        return _invoice_adopt(order, domain, licence, existing, external_id, FOUND_EARLIER)
    order_event_add(
        order,
        OrderEvent.Kind.EF,
        Text(gettext_noop("No invoice from the earlier attempt exists in EF; creating it now.")),
    )
    return None


def _invoice_finish(
    order: Order, domain: DomainOrder, licence: Licence, ef: EfClient, made: Made | None = None
) -> bool:
    """Read the invoice's number, do its follow-ups, and mark the order handled. `made`: the invoice this
    attempt created, written down here together with its number.

    True when the follow-ups credited the invoice so that it is made again ("Credit and re-invoice").
    """
    try:
        invoice = ef.invoice_get(made.invoice_id if made else int(order.ef_invoice_id or 0))
    except Exception:
        if made is not None:  # what EF made is written down before anything else happens
            with transaction.atomic():
                order_update(order, **_invoice_made(order, domain, licence, made)[0])
        raise
    number = str(invoice.get("number") or "")
    # One commit for the invoice, its number, the credit decisions and, mostly, the end.
    with transaction.atomic():
        open_before = _order_locked_for_end(order)
        fields: dict[str, Any] = {"ef_invoice_number": number}
        decided: list[FollowUp] = []
        if made is not None:
            made_fields, decided = _invoice_made(order, domain, licence, made)
            fields.update(made_fields)
        order.ef_invoice_number = number
        decided += credits_plan(order, licence)
        if not open_before and not decided:
            # Nothing follows (or all of it was done): handled, in one UPDATE that commits with the attempt's
            # lines and calls.
            _handled(order, number, **fields)
            return False
        order_update(order, **fields)
    # Follow-ups first, so that "handled" means everything the merchant asked for was done.
    outcome = follow_ups_run(order, licence, ef)
    if outcome.reinvoice:
        _invoice_credited_for_reinvoice(order)
        return True
    if outcome.failed is not None:
        failed = outcome.failed
        message = Text(
            gettext_noop("Invoice %(number)s is made, but: %(problem)s"),
            number=number,
            problem=text_from(failed.error_text),
        )
        raise Refused(failed.error_code, message, failed.ef_answer)
    if outcome.retry_at is not None:
        raise Deferred(
            outcome.retry_at,
            Text(
                gettext_noop("Invoice %(number)s is made; what follows it is retried at %(time)s."),
                number=number,
                time=f"{timezone.localtime(outcome.retry_at):%H:%M:%S}",
            ),
        )
    _handled(order, number)
    return False


def _order_locked_for_end(order: Order) -> bool:
    """Take the order's lock (the one order_refresh takes) and pick up a snapshot stored meanwhile, so that
    a refund seen while this worker made the invoice is credited now; the snapshot is read again only when
    a newer one was stored. True when a follow-up decided before is still open (same query)."""
    vendor_pg = connection.vendor == "postgresql"
    sql = _LOCKED_FOR_END.format(
        orders=Order._meta.db_table,
        follow_ups=FollowUp._meta.db_table,
        differs="IS DISTINCT FROM" if vendor_pg else "IS NOT",
        lock="FOR UPDATE OF o" if connection.features.has_select_for_update else "",
    )
    known_at = Order._meta.get_field("snapshot_at").get_db_prep_value(order.snapshot_at, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [known_at, FollowUp.State.DONE, order.pk])
        newer_snapshot, open_before = cursor.fetchone()
    if newer_snapshot:
        picked_up = ("snapshot", "snapshot_at", "total", "payment_status")
        latest = Order.objects.only(*picked_up).get(pk=order.pk)
        for name in picked_up:
            setattr(order, name, getattr(latest, name))
    return bool(open_before)


# Built by hand: the ORM spends more CPU compiling this (a lock, a sub-select) than the database running it.
_LOCKED_FOR_END = """
SELECT o.snapshot_at {differs} %s,
       EXISTS (SELECT 1 FROM {follow_ups} f WHERE f.order_id = o.id AND f.state <> %s)
FROM {orders} o WHERE o.id = %s {lock}
"""


def _handled(order: Order, number: str, **fields: Any) -> None:
    order_event_add(  # committed with the state
        order,
        OrderEvent.Kind.STATE,
        Text(
            gettext_noop("→ handled: EF invoice %(number)s (id %(id)s)."),
            number=number,
            id=order.ef_invoice_id,
        ),
    )
    order_update(
        order,
        state=OrderState.HANDLED,
        handled_at=order.handled_at or timezone.now(),
        error_code="",
        error_message="",
        ef_answer="",
        state_reason="",
        wait_code="",
        claimed_at=None,
        next_attempt_at=None,
        **fields,
    )


def _invoice_credited_for_reinvoice(order: Order) -> None:
    number = order.ef_invoice_number
    order_update(
        order,
        ef_invoice_id=None,
        ef_invoice_number="",
        ef_create_started_at=None,
        ef_create_settles_at=None,
        invoiced_total=None,
        ef_invoice_payload={},
        invoice_generation=order.invoice_generation + 1,
        handled_at=None,
    )
    order_event_add(
        order,
        OrderEvent.Kind.STATE,
        Text(gettext_noop("Invoice %(number)s is credited; making the new invoice."), number=number),
    )


def order_enqueue_due() -> int:
    """Every retrying order whose time has come turns `queued`, waiting for its licence's next round."""
    now = timezone.now()
    due = list(
        Order.objects.filter(state=OrderState.RETRYING, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:5000]
    )
    if not due:
        return 0
    return Order.objects.filter(pk__in=due, state=OrderState.RETRYING, next_attempt_at__lte=now).update(
        state=OrderState.QUEUED, next_attempt_at=None, handed_out_at=None
    )
