"""Process one order: claim it, check it, match the EF client, create the invoice exactly once.

Exactly once rests on three things: a guarded UPDATE claims the order for one worker at a time;
`ef_create_started_at` is committed before the invoice create, so any later attempt (a retry, a webhook,
Process, catch-up, a worker that took over from a crashed one) first looks in EF by `external_invoice_id`;
and after a create whose outcome we never heard, no attempt creates again until a look-up made after EF
must have finished with it (`uncertain_create_settles_at`) has found nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from connectors.eenvoudigfactureren.client import EfClient
from connectors.errors import AuthenticationError, ConnectorError, PermanentError, TransientError
from connectors.vies.client import VatStatus, vies_check
from licenses.models import Licence
from licenses.services import connection_failing, ef_client, shop_client

from .checks import CheckFailure, ErrorCode, order_checks
from .domain import DomainOrder
from .ecwid_mapping import domain_order_from_ecwid
from .invoice_mapping import (
    AmountsMode,
    InvoiceOptions,
    client_payload_build,
    external_invoice_id,
    invoice_payload_build,
)
from .models import EfClientMatch, Order, OrderEvent, OrderState
from .queue import enqueue
from .retry import retry_delay_seconds
from .sync import HOLD_EF, HOLD_SHOP, licence_hold_reason, snapshot_store, state_change
from .texts import Text, text_fields
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


class Deferred(Exception):
    """Not now, and not a failure: try again at `at` (an earlier create may still land in EF)."""

    def __init__(self, at: datetime, reason: str) -> None:
        super().__init__(reason)
        self.at, self.reason = at, reason


def uncertain_create_settles_at(started_at: datetime) -> datetime:
    """When EF must have finished with a create that started at `started_at`, even if it never answered."""
    wait = settings.HTTP_READ_TIMEOUT + settings.EF_UNCERTAIN_CREATE_MARGIN_SECONDS
    return started_at + timedelta(seconds=wait)


def order_claim(order_pk: int) -> bool:
    """One worker at a time: only the UPDATE that finds the order claimable wins."""
    now = timezone.now()
    claimed = (
        Order.objects.filter(pk=order_pk, state__in=CLAIMABLE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(state=OrderState.PROCESSING, claimed_at=now, attempts=F("attempts") + 1, state_reason="")
    )
    return claimed == 1


def _update(order: Order, **fields: Any) -> None:
    fields = text_fields(**fields)
    Order.objects.filter(pk=order.pk).update(**fields)
    for name, value in fields.items():
        setattr(order, name, value)


def order_process(order_pk: int) -> None:
    if not order_claim(order_pk):
        return
    order = Order.objects.select_related("licence").get(pk=order_pk)
    order_event_add(
        order,
        OrderEvent.Kind.STATE,
        Text(gettext_noop("Processing, attempt %(attempt)s."), attempt=order.attempts),
    )
    try:
        _process(order)
    except Hold as hold:
        _update(order, state=OrderState.OPEN, state_reason=hold.reason, wait_code=hold.code, claimed_at=None)
        order_event_add(
            order, OrderEvent.Kind.STATE, state_change(OrderState.PROCESSING, OrderState.OPEN, hold.reason)
        )
    except Refused as refused:
        order_error(order, refused.code, refused.message, ef_answer=refused.ef_answer)
    except Deferred as deferred:
        # Not an attempt: the claim counted one, give it back.
        event = state_change(OrderState.PROCESSING, OrderState.RETRYING, deferred.reason)
        _retry_later(order, deferred.at, deferred.reason, attempts=max(0, order.attempts - 1), event=event)
    except NoLongerProcessable:
        from .sync import order_decide

        _update(order, state=OrderState.QUEUED, claimed_at=None)
        order_decide(order)
    except TransientError as exc:
        code = ErrorCode.SHOP_UNREACHABLE if exc.service == "KMO Shops" else ErrorCode.EF_UNREACHABLE
        retry_schedule(order, exc, code=code)
    except Exception:  # noqa: BLE001 - a bug must not leave the order stuck in processing
        logger.exception("order %s: unexpected failure", order.pk)
        retry_schedule(
            order,
            TransientError("internal error; support has been notified", service="integration"),
            code=ErrorCode.EF_UNREACHABLE,
        )


def order_error(order: Order, code: str, message: str, *, ef_answer: str = "") -> None:
    _update(
        order,
        state=OrderState.ERROR,
        error_code=code,
        error_message=message,
        ef_answer=ef_answer,
        state_reason="",
        claimed_at=None,
        next_attempt_at=None,
    )
    order_event_add(
        order,
        OrderEvent.Kind.STATE,
        Text(gettext_noop("→ error %(code)s: %(message)s"), code=code, message=message),
    )


def retry_schedule(order: Order, exc: TransientError, *, code: str, count_attempt: bool = False) -> None:
    """Retry later with backoff, or give up with `code` after the last attempt."""
    attempts = order.attempts + (1 if count_attempt else 0)
    if attempts >= settings.ORDER_MAX_ATTEMPTS:
        message = Text(
            gettext_noop("Gave up after %(attempts)s attempts: %(problem)s"),
            attempts=attempts,
            problem=exc.summary(),
        )
        order_error(order, code, message, ef_answer=exc.message)
        return
    delay = retry_delay_seconds(
        attempts,
        base=settings.ORDER_RETRY_BASE_SECONDS,
        cap=settings.ORDER_RETRY_MAX_SECONDS,
        retry_after=exc.retry_after,
    )
    at = timezone.now() + timedelta(seconds=delay)
    reason = Text(
        gettext_noop("Retrying at %(time)s, attempt %(attempt)s: %(problem)s"),
        time=f"{timezone.localtime(at):%H:%M}",
        attempt=attempts + 1,
        problem=exc.summary(),
    )
    _retry_later(order, at, reason, attempts=attempts, event=reason)


def _retry_later(order: Order, at: datetime, reason: str, *, attempts: int, event: str) -> None:
    """The order waits in Open as `retrying` until `at`; the ticker hands it to a worker then."""
    _update(
        order,
        state=OrderState.RETRYING,
        next_attempt_at=at,
        state_reason=reason,
        claimed_at=None,
        attempts=attempts,
    )
    order_event_add(order, OrderEvent.Kind.STATE, event)


def invoice_options(licence: Licence) -> InvoiceOptions:
    return InvoiceOptions(
        amounts=AmountsMode(licence.amounts),
        use_order_number=licence.use_order_number,
        reference_template=licence.reference_template,
        layout_id=licence.ef_layout_id,
    )


def _process(order: Order) -> None:
    licence = order.licence
    hold = licence_hold_reason(licence)
    if hold:
        raise Hold(*hold)
    if order.needs_read or not order.snapshot:
        _read(order)
    if order.payment_status not in licence.processable_statuses and not order.is_invoiced:
        raise NoLongerProcessable
    domain = domain_order_from_ecwid(order.snapshot, licence.shop_profile)
    ef = ef_client(licence)
    try:
        if order.ef_invoice_id is None:
            _check(order, domain, licence)
            _invoice_create(order, domain, licence, ef)
        _invoice_finish(order, domain, licence, ef)
    except AuthenticationError as exc:
        connection_failing(licence, "ef", exc.message)
        order_event_add(
            order,
            OrderEvent.Kind.EF,
            Text(gettext_noop("EF refused the API key: %(problem)s"), problem=exc.summary()),
        )
        raise Hold(*HOLD_EF) from exc
    except PermanentError as exc:
        order_event_add(
            order, OrderEvent.Kind.EF, Text(gettext_noop("EF refused: %(problem)s"), problem=exc.summary())
        )
        message = Text(gettext_noop("EenvoudigFactureren refused: %(message)s"), message=exc.message)
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
        message = Text(
            gettext_noop("The order could not be read from KMO Shops: %(message)s"), message=exc.message
        )
        raise Refused(ErrorCode.SHOP_UNREACHABLE, message) from exc
    snapshot_store(order, snapshot)
    Order.objects.filter(pk=order.pk).update(
        snapshot=order.snapshot,
        snapshot_at=order.snapshot_at,
        needs_read=False,
        payment_status=order.payment_status,
        internal_id=order.internal_id,
        order_created_at=order.order_created_at,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        total=order.total,
    )
    order_event_add(
        order,
        OrderEvent.Kind.READ,
        Text(
            gettext_noop("Read from KMO Shops: %(status)s, total €%(total)s"),
            status=order.payment_status,
            total=str(order.total),
        ),
    )


def _check(order: Order, domain: DomainOrder, licence: Licence) -> None:
    rates = [Decimal(str(rate)) for rate in licence.ef_vat_rates]
    failure: CheckFailure | None = order_checks(domain, account_rates=rates)
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
                f"VIES could not verify the VAT number now ({result.reason})", service="VIES"
            )
        _update(order, vies_consultation=result.request_identifier)
    order_event_add(order, OrderEvent.Kind.CHECK, Text(gettext_noop("All checks passed.")))


def client_match_or_create(order: Order, domain: DomainOrder, licence: Licence, ef: EfClient) -> int:
    """By e-mail, case-insensitive and exact; an existing EF client is never modified."""
    email = domain.customer.email.strip().lower()
    match = EfClientMatch.objects.filter(licence=licence, email=email).first()
    if match:
        order_event_add(
            order,
            OrderEvent.Kind.EF,
            Text(gettext_noop("Customer known as EF client %(id)s."), id=match.ef_client_id),
        )
        return match.ef_client_id
    found = ef.client_find_by_email(email)
    if found:
        client_id = int(found["client_id"])
        order_event_add(
            order,
            OrderEvent.Kind.EF,
            Text(gettext_noop("Found EF client %(id)s by e-mail %(email)s."), id=client_id, email=email),
        )
    else:
        client_id = ef.client_create(client_payload_build(domain))
        order_event_add(
            order,
            OrderEvent.Kind.EF,
            Text(gettext_noop("Created EF client %(id)s for %(email)s."), id=client_id, email=email),
        )
    EfClientMatch.objects.get_or_create(licence=licence, email=email, defaults={"ef_client_id": client_id})
    return client_id


def _invoice_create(order: Order, domain: DomainOrder, licence: Licence, ef: EfClient) -> None:
    external_id = external_invoice_id(licence.pk, order.order_number)
    if order.ef_create_started_at is not None and _invoice_adopt_earlier(order, ef, external_id):
        return
    client_id = client_match_or_create(order, domain, licence, ef)
    payload = invoice_payload_build(
        domain, invoice_options(licence), client_id=client_id, external_id=external_id
    )
    # Committed before the call: if we never learn the answer, the next attempt looks first, and not
    # before EF must have finished with this call.
    started = timezone.now()
    _update(
        order,
        ef_create_started_at=started,
        ef_create_settles_at=uncertain_create_settles_at(started),
        ef_client_id=client_id,
    )
    try:
        invoice_id = ef.invoice_create(payload)
    except ConnectorError as exc:
        if _create_surely_refused(exc):
            # EF said no: nothing was made, nothing to look for.
            _update(order, ef_create_started_at=None, ef_create_settles_at=None)
        elif exc.status is not None:
            # EF answered (a 5xx): whatever it did is stored now, so the next look-up is conclusive.
            _update(order, ef_create_settles_at=timezone.now())
        raise
    _update(order, ef_invoice_id=invoice_id)
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


def _create_surely_refused(exc: ConnectorError) -> bool:
    """EF answered with an error (4xx, an HTTP-200 error body, 429): no invoice was made.

    A timeout, a lost connection or a 5xx leaves the outcome unknown: the invoice may exist.
    """
    if exc.status is None:
        return False
    if isinstance(exc, TransientError):
        return exc.status == 429
    return True


def _invoice_adopt_earlier(order: Order, ef: EfClient, external_id: str) -> bool:
    """An earlier create may have made the invoice: find it, or be sure it does not exist before creating."""
    looked_at = timezone.now()
    existing = ef.invoice_find_by_external_id(external_id)
    if existing:
        invoice_id = int(existing["invoice_id"])
        _update(order, ef_invoice_id=invoice_id, ef_client_id=int(existing.get("client_id") or 0) or None)
        order_event_add(
            order,
            OrderEvent.Kind.EF,
            Text(
                gettext_noop("Found invoice %(id)s made by an earlier attempt; not creating another."),
                id=invoice_id,
            ),
        )
        return True
    settled_at = order.ef_create_settles_at or uncertain_create_settles_at(order.ef_create_started_at)
    if looked_at < settled_at:
        # EF may still be storing the invoice of the create we never heard back from: look again later,
        # whatever triggered this attempt (retry, webhook, Process, catch-up, a takeover).
        raise Deferred(
            settled_at,
            Text(
                gettext_noop(
                    "Making sure EenvoudigFactureren did not create the invoice of an earlier attempt; "
                    "looking again at %(time)s."
                ),
                time=f"{timezone.localtime(settled_at):%H:%M:%S}",
            ),
        )
    order_event_add(
        order,
        OrderEvent.Kind.EF,
        Text(gettext_noop("No invoice from the earlier attempt exists in EF; creating it now.")),
    )
    return False


def _invoice_finish(order: Order, domain: DomainOrder, licence: Licence, ef: EfClient) -> None:
    invoice = ef.invoice_get(int(order.ef_invoice_id or 0))
    number = str(invoice.get("number") or "")
    # Follow-ups first, so that "handled" means everything the merchant asked for has been tried.
    _after_invoice(order, domain, licence, ef)
    _update(
        order,
        state=OrderState.HANDLED,
        ef_invoice_number=number,
        handled_at=timezone.now(),
        error_code="",
        error_message="",
        ef_answer="",
        state_reason="",
        wait_code="",
        claimed_at=None,
        next_attempt_at=None,
    )
    order_event_add(
        order,
        OrderEvent.Kind.STATE,
        Text(
            gettext_noop("→ handled: EF invoice %(number)s (id %(id)s)."),
            number=number,
            id=order.ef_invoice_id,
        ),
    )


def _after_invoice(order: Order, domain: DomainOrder, licence: Licence, ef: EfClient) -> None:
    """Optional follow-ups; a failure here is noted on the timeline and never touches the invoice."""
    invoice_id = int(order.ef_invoice_id or 0)
    if licence.register_payment and domain.payment_status == "PAID":
        try:
            ef.invoice_payment_register(
                invoice_id, description=domain.payment_method or "KMO Shops", on=domain.order_date
            )
            order_event_add(
                order, OrderEvent.Kind.EF, Text(gettext_noop("Payment registered on the invoice."))
            )
        except ConnectorError as exc:
            order_event_add(
                order,
                OrderEvent.Kind.EF,
                Text(gettext_noop("Could not register the payment: %(problem)s"), problem=exc.summary()),
            )
    if licence.send_invoice_email:
        try:
            ef.invoice_send_email(invoice_id)
            order_event_add(
                order,
                OrderEvent.Kind.EF,
                Text(gettext_noop("EF e-mailed the invoice to %(email)s."), email=domain.customer.email),
            )
        except ConnectorError as exc:
            order_event_add(
                order,
                OrderEvent.Kind.EF,
                Text(gettext_noop("Could not e-mail the invoice: %(problem)s"), problem=exc.summary()),
            )


def order_enqueue_due() -> int:
    """Queue every retrying order whose time has come, once: it turns `queued` as its task is handed out."""
    now = timezone.now()
    due = list(
        Order.objects.filter(state=OrderState.RETRYING, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:1000]
    )
    if not due:
        return 0
    Order.objects.filter(pk__in=due, state=OrderState.RETRYING, next_attempt_at__lte=now).update(
        state=OrderState.QUEUED, next_attempt_at=None, updated_at=now
    )
    for pk in due:
        enqueue("orders.tasks.order_process_task", pk)
    return len(due)
