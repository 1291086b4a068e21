"""Follow-ups: the rows for what comes after an invoice (payment, Peppol or e-mail, credit notes), and
doing them.

A follow-up is decided in the transaction that decides it (with the invoice, or with the snapshot that
shows a refund) and done by the worker that holds the order's claim, so one order's follow-ups never run
twice at once. Each EF call that must not repeat is marked before it starts; a later attempt asks EF
first (the invoice's payments, its sent events, a credit note by its external id). Failures use the
order's backoff and give-up rules; a final failure puts the order in Errors with the follow-up's code,
and Process tries the follow-up again without touching the invoice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from connectors.eenvoudigfactureren.client import EfClient
from connectors.errors import AuthenticationError, ConnectorError, PermanentError, TransientError
from licenses.models import Licence

from .after_invoice import (
    Channel,
    CreditDecision,
    Delivery,
    credit_note_payload,
    credits_due,
    delivery_for,
    refund_or_cancellation,
)
from .domain import Customer, DomainOrder
from .ecwid_mapping import domain_order_from_ecwid
from .ef_create import Deferred, earlier_create_find, marks_after_failure, uncertain_create_settles_at
from .invoice_mapping import EXTERNAL_ID_MAX
from .models import FollowUp, Order, OrderEvent
from .outcomes import gave_up, retry_at
from .texts import Text, payload_of
from .timeline import order_event_add

logger = logging.getLogger(__name__)
RUNNABLE = (FollowUp.State.PENDING, FollowUp.State.RETRYING)
MAX_ROUNDS = 5  # a credit note decides its own sending: done in the same pass


class FollowUpCode:
    PEPPOL_REJECTED = "PEPPOL_REJECTED"
    SEND_FAILED = "SEND_FAILED"
    CREDIT_NOTE_REJECTED = "CREDIT_NOTE_REJECTED"
    PAYMENT_NOT_REGISTERED = "PAYMENT_NOT_REGISTERED"
    EF_UNREACHABLE = "EF_UNREACHABLE"
    REFUND_AMOUNT_MISSING = "REFUND_AMOUNT_MISSING"

    ALL = (PEPPOL_REJECTED, SEND_FAILED, CREDIT_NOTE_REJECTED, PAYMENT_NOT_REGISTERED, REFUND_AMOUNT_MISSING)


# The code a refusal by EF, and giving up after the last attempt, lead to.
CODES = {
    FollowUp.Kind.PAYMENT: (FollowUpCode.PAYMENT_NOT_REGISTERED, FollowUpCode.PAYMENT_NOT_REGISTERED),
    FollowUp.Kind.SEND: (FollowUpCode.SEND_FAILED, FollowUpCode.SEND_FAILED),
    FollowUp.Kind.CREDIT_NOTE: (FollowUpCode.CREDIT_NOTE_REJECTED, FollowUpCode.EF_UNREACHABLE),
}


AMOUNT_MISSING = gettext_noop(
    "KMO Shops says the order was partly refunded, but not how much: enter the refunded amount to make "
    "the credit note."
)


class FollowUpRefused(Exception):
    def __init__(self, code: str, message: str, ef_answer: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.ef_answer = code, message, ef_answer


@dataclass(frozen=True)
class Outcome:
    failed: FollowUp | None = None
    retry_at: datetime | None = None
    reinvoice: bool = False  # the current invoice was credited to be made again


# ---------------------------------------------------------------------------------------- deciding
def _plan(order: Order, key: str, kind: str, plan: dict[str, Any]) -> FollowUp | None:
    """Decide one follow-up; None when it was decided before (the key makes it this one)."""
    row, created = FollowUp.objects.get_or_create(order=order, key=key, defaults={"kind": kind, "plan": plan})
    return row if created else None


def _delivery(licence: Licence, customer: Customer) -> Delivery | None:
    """How an invoice reaches this customer with the licence's configuration as it is now."""
    return delivery_for(
        customer.country_code,
        customer.vat_number,
        peppol_be_business=licence.peppol_be_business,
        peppol_email_fallback=licence.peppol_email_fallback,
        email_others=licence.send_invoice_email,
    )


def invoice_follow_ups_plan(order: Order, domain: DomainOrder, licence: Licence) -> list[FollowUp]:
    """With the invoice: register the payment, deliver it (Peppol, or e-mail), as the merchant chose.
    Returns the follow-ups decided now (none that were decided before)."""
    invoice_id = int(order.ef_invoice_id or 0)
    rows: list[FollowUp | None] = []
    if licence.register_payment and domain.payment_status == "PAID":
        plan = {
            "invoice_id": invoice_id,
            "description": (domain.payment_method or "KMO Shops")[:100],
            "date": domain.order_date.isoformat(),
        }
        rows.append(_plan(order, f"payment:{invoice_id}", FollowUp.Kind.PAYMENT, plan))
    delivery = _delivery(licence, domain.customer)
    if delivery is not None:
        plan = {
            "invoice_id": invoice_id,
            "document": "invoice",
            "channel": str(delivery.channel),
            "fallback_email": delivery.fallback_email,
        }
        rows.append(_plan(order, f"send:{invoice_id}", FollowUp.Kind.SEND, plan))
    return [row for row in rows if row is not None]


def credited_on(credits: Iterable[FollowUp], invoice_id: int | None) -> Decimal:
    """What these credit notes credit on one invoice (decided ones count: each is made exactly once)."""
    return sum(
        (Decimal(row.plan["amount"]) for row in credits if row.plan.get("invoice_id") == invoice_id),
        Decimal(0),
    )


def credits_plan(order: Order, licence: Licence) -> list[FollowUp]:
    """The credit notes the order's current snapshot calls for and that were not decided before."""
    if not licence.credit_notes or not order.is_invoiced or not refund_or_cancellation(order.snapshot or {}):
        return []
    invoice_id = int(order.ef_invoice_id or 0)
    credits = list(order.follow_ups.filter(kind=FollowUp.Kind.CREDIT_NOTE))
    here = f"credit:{invoice_id}:"
    decided = {row.key.removeprefix(here).removeprefix("credit:") for row in credits}
    credited = credited_on(credits, invoice_id)
    invoiced = order.invoice_amount
    if invoiced is None or invoiced <= 0:
        return []
    decisions = credits_due(order.snapshot or {}, invoiced, credited=credited, decided=decided)
    rows = []
    for decision in decisions:
        key = f"credit:{decision.key}" if decision.key.startswith("refund:") else f"{here}{decision.key}"
        row = _plan(order, key, FollowUp.Kind.CREDIT_NOTE, _credit_plan(order, decision))
        if row is not None and decision.needs_amount:
            rows.append(row)
            order_event_add(
                order,
                OrderEvent.Kind.STATE,
                Text(gettext_noop("Partly refunded in the shop, without the amount: asking the merchant.")),
            )
        elif row is not None:
            rows.append(row)
            order_event_add(
                order,
                OrderEvent.Kind.STATE,
                Text(
                    gettext_noop(
                        "%(why)s: a credit note of €%(amount)s will be made for invoice %(number)s."
                    ),
                    why=_why(decision.reason),
                    amount=str(decision.amount),
                    number=order.ef_invoice_number or invoice_id,
                ),
            )
    return rows


def _why(reason: str) -> Text:
    if reason == "cancelled":
        return Text(gettext_noop("Cancelled in the shop"))
    if reason in ("refunded", ""):
        return Text(gettext_noop("Refunded in the shop"))
    return Text(gettext_noop("Refunded in the shop (%(reason)s)"), reason=reason)


def _credit_plan(order: Order, decision: CreditDecision, *, reinvoice: bool = False) -> dict[str, Any]:
    return {
        "invoice_id": int(order.ef_invoice_id or 0),
        "invoice_number": order.ef_invoice_number,
        "amount": str(decision.amount),
        "mirror": decision.mirror,
        "reason": decision.reason,
        "reinvoice": reinvoice,
        "needs_amount": decision.needs_amount,
    }


def reinvoice_plan(order: Order) -> FollowUp | None:
    """ "Credit and re-invoice": credit what is left of the current invoice; the new one follows it."""
    invoice_id = int(order.ef_invoice_id or 0)
    credited = credited_on(order.follow_ups.filter(kind=FollowUp.Kind.CREDIT_NOTE), invoice_id)
    invoiced = order.invoice_amount or Decimal(0)
    left = invoiced - credited
    decision = CreditDecision("reinvoice", left, mirror=credited == 0, reason="changed")
    return _plan(
        order,
        f"credit:{invoice_id}:reinvoice",
        FollowUp.Kind.CREDIT_NOTE,
        _credit_plan(order, decision, reinvoice=True),
    )


def reinvoice_pending(order: Order) -> bool:
    key = f"credit:{order.ef_invoice_id}:reinvoice"
    return order.follow_ups.filter(key=key, state__in=RUNNABLE).exists()


def follow_ups_waiting(order: Order) -> bool:
    return order.follow_ups.filter(state__in=RUNNABLE).exists()


def follow_ups_retry_failed(order: Order) -> int:
    """Process pressed: failed follow-ups start again from their first attempt, and a failed delivery is
    decided again with the configuration as it is now (the merchant may have switched the e-mail fallback
    on, or Peppol off, to fix it)."""
    failed = list(order.follow_ups.filter(state=FollowUp.State.FAILED))
    for row in failed:
        if row.kind == FollowUp.Kind.SEND:
            _send_decided_again(order, row)
    return order.follow_ups.filter(state=FollowUp.State.FAILED).update(
        state=FollowUp.State.PENDING, attempts=0, next_attempt_at=None, error_code="", error_text={}
    )


def _send_decided_again(order: Order, row: FollowUp) -> None:
    licence = order.licence
    delivery = _delivery(
        licence, domain_order_from_ecwid(order.snapshot or {}, licence.shop_profile).customer
    )
    if delivery is None:
        row.state, row.done_at = FollowUp.State.DONE, timezone.now()
        row.result = {**row.result, "channel": "", "skipped": "sending switched off"}
        row.error_code, row.error_text = "", {}
        row.save(update_fields=["state", "done_at", "result", "error_code", "error_text"])
        order_event_add(
            order,
            OrderEvent.Kind.STATE,
            Text(
                gettext_noop("Not sent: the configuration no longer sends the %(document)s."),
                document=_document(row),
            ),
        )
        return
    plan = {**row.plan, "channel": str(delivery.channel), "fallback_email": delivery.fallback_email}
    if plan != row.plan:
        row.plan = plan
        row.save(update_fields=["plan"])


# ---------------------------------------------------------------------------------------- doing
def follow_ups_run(order: Order, licence: Licence, ef: EfClient) -> Outcome:
    """Do every due follow-up of the order; the caller holds the order's claim.

    One read of the order's follow-ups when there is nothing to do (the common case of a plain invoice).
    """
    rows = list(order.follow_ups.all())
    for _ in range(MAX_ROUNDS):
        now = timezone.now()
        due = [
            row
            for row in rows
            if row.state in RUNNABLE and (row.next_attempt_at is None or row.next_attempt_at <= now)
        ]
        if not due:
            break
        for row in due:
            _run_one(order, licence, ef, row)
        rows = list(order.follow_ups.all())  # a credit note may have decided its own sending
    failed = next((row for row in rows if row.state == FollowUp.State.FAILED), None)
    waiting = [row.next_attempt_at for row in rows if row.state in RUNNABLE and row.next_attempt_at]
    reinvoice = any(
        row.state == FollowUp.State.DONE
        and row.plan.get("reinvoice")
        and row.plan.get("invoice_id") == order.ef_invoice_id
        for row in rows
    )
    return Outcome(failed=failed, retry_at=min(waiting) if waiting else None, reinvoice=reinvoice)


def _save(row: FollowUp, **fields: Any) -> None:
    FollowUp.objects.filter(pk=row.pk).update(**fields)
    for name, value in fields.items():
        setattr(row, name, value)


def _run_one(order: Order, licence: Licence, ef: EfClient, row: FollowUp) -> None:
    refused_code, gave_up_code = CODES[FollowUp.Kind(row.kind)]
    try:
        RUNNERS[row.kind](order, licence, ef, row)
    except (Deferred, AuthenticationError):
        raise
    except TransientError as exc:
        attempts = row.attempts + 1
        final = gave_up(attempts, exc)
        if final is not None:
            _fail(order, row, gave_up_code, final, exc.message, attempts=attempts)
            return
        at = retry_at(attempts, exc)
        _save(
            row, state=FollowUp.State.RETRYING, attempts=attempts, next_attempt_at=at, ef_answer=exc.message
        )
        order_event_add(
            order,
            OrderEvent.Kind.EF,
            Text(
                gettext_noop("%(what)s failed, trying again at %(time)s."),
                what=_kind(row),
                time=f"{timezone.localtime(at):%H:%M:%S}",
                said=exc.summary(),
            ),
        )
    except FollowUpRefused as refused:
        _fail(order, row, refused.code, refused.message, refused.ef_answer, attempts=row.attempts + 1)
    except PermanentError as exc:
        message = Text(
            gettext_noop("%(what)s: refused by EenvoudigFactureren."), what=_kind(row), said=exc.message
        )
        _fail(order, row, refused_code, message, exc.message, attempts=row.attempts + 1)
    else:
        _save(
            row,
            state=FollowUp.State.DONE,
            attempts=row.attempts + 1,
            done_at=timezone.now(),
            next_attempt_at=None,
            error_code="",
            error_text={},
            ef_answer="",
            result=row.result,
        )


def _fail(order: Order, row: FollowUp, code: str, message: str, answer: str, *, attempts: int) -> None:
    _save(
        row,
        state=FollowUp.State.FAILED,
        attempts=attempts,
        next_attempt_at=None,
        error_code=code,
        error_text=payload_of(message),
        ef_answer=answer,
    )
    order_event_add(
        order,
        OrderEvent.Kind.EF,
        Text(
            gettext_noop("%(what)s failed (%(code)s): %(message)s"),
            what=_kind(row),
            code=code,
            message=message,
        ),
    )


def _mark_started(row: FollowUp) -> None:
    """Committed before the call: a later attempt asks EF what came of it first."""
    started = timezone.now()
    _save(row, started_at=started, settles_at=uncertain_create_settles_at(started))


def _call_marked(row: FollowUp, call: Callable[[], Any]) -> Any:
    _mark_started(row)
    try:
        return call()
    except ConnectorError as exc:
        marks = marks_after_failure(exc)
        if marks:
            _save(row, **{f"{name}_at": value for name, value in marks.items()})
        raise


def _payment(order: Order, licence: Licence, ef: EfClient, row: FollowUp) -> None:
    invoice_id = int(row.plan["invoice_id"])
    if row.started_at is not None:
        invoice = ef.invoice_get(invoice_id)
        if invoice.get("payments") or Decimal(str(invoice.get("total_paid") or 0)) > 0:
            row.result = {"found": True}
            order_event_add(
                order,
                OrderEvent.Kind.EF,
                Text(gettext_noop("The payment was registered by an earlier attempt.")),
            )
            return
    on = date.fromisoformat(row.plan["date"]) if row.plan.get("date") else None
    _call_marked(
        row,
        lambda: ef.invoice_payment_register(invoice_id, description=row.plan.get("description", ""), on=on),
    )
    order_event_add(order, OrderEvent.Kind.EF, Text(gettext_noop("Payment registered on the invoice.")))


DOCUMENTS = {"invoice": gettext_noop("invoice"), "credit note": gettext_noop("credit note")}
KINDS = {
    FollowUp.Kind.PAYMENT: gettext_noop("Payment registration"),
    FollowUp.Kind.SEND: gettext_noop("Sending"),
    FollowUp.Kind.CREDIT_NOTE: gettext_noop("Credit note"),
}
CHANNELS = {Channel.PEPPOL: gettext_noop("Peppol"), Channel.EMAIL: gettext_noop("e-mail")}


def _document(row: FollowUp) -> Text:
    """ "invoice" or "credit note", shown in the merchant's language inside a timeline line."""
    return Text(DOCUMENTS.get(row.plan.get("document", "invoice"), DOCUMENTS["invoice"]))


def _kind(row: FollowUp) -> Text:
    return Text(KINDS[FollowUp.Kind(row.kind)])


def _sent_by(invoice: dict[str, Any]) -> str:
    """The channel EF's events say the document went out by ("" when none). Event types INFERRED."""
    for event in invoice.get("events") or []:
        kind = str((event or {}).get("type") or "").lower() if isinstance(event, dict) else ""
        if "peppol" in kind:
            return Channel.PEPPOL
        if "mail" in kind:
            return Channel.EMAIL
    return ""


def _now() -> str:
    return timezone.now().isoformat(timespec="seconds")


def _peppol_unreachable(answer: str) -> bool:
    text = answer.lower()
    return any(marker in text for marker in settings.EF_PEPPOL_UNREACHABLE_MARKERS)


def _send(order: Order, licence: Licence, ef: EfClient, row: FollowUp) -> None:
    invoice_id = int(row.plan["invoice_id"])
    document = _document(row)
    if row.started_at is not None:
        sent = _sent_by(ef.invoice_get(invoice_id))
        if sent:
            row.result = {**row.result, "channel": sent}
            order_event_add(
                order,
                OrderEvent.Kind.EF,
                Text(
                    gettext_noop("EF already sent the %(document)s (%(channel)s)."),
                    document=document,
                    channel=sent,
                ),
            )
            return
    if row.plan["channel"] != Channel.PEPPOL:
        answer = _call_marked(row, lambda: ef.invoice_send_email(invoice_id))
        row.result = {"channel": Channel.EMAIL, "sent_at": _now(), "answer": answer}
        order_event_add(
            order, OrderEvent.Kind.EF, Text(gettext_noop("EF e-mailed the %(document)s."), document=document)
        )
        return
    try:
        answer = _call_marked(row, lambda: ef.invoice_send_peppol(invoice_id))
    except AuthenticationError:
        raise
    except PermanentError as exc:
        if not _peppol_unreachable(exc.message):
            raise FollowUpRefused(
                FollowUpCode.PEPPOL_REJECTED,
                Text(
                    gettext_noop("Peppol refused the %(document)s."),
                    document=document,
                    said=exc.message,
                ),
                exc.message,
            ) from exc
        if not row.plan.get("fallback_email"):
            raise FollowUpRefused(
                FollowUpCode.SEND_FAILED,
                Text(
                    gettext_noop(
                        "The customer cannot be reached through Peppol and e-mail instead is switched off."
                    ),
                    said=exc.message,
                ),
                exc.message,
            ) from exc
        order_event_add(
            order,
            OrderEvent.Kind.EF,
            Text(
                gettext_noop("The customer is not on Peppol; e-mailing the %(document)s instead."),
                said=exc.message,
                document=document,
            ),
        )
        answer = _call_marked(row, lambda: ef.invoice_send_email(invoice_id))
        row.result = {
            "channel": Channel.EMAIL,
            "sent_at": _now(),
            "answer": answer,
            "peppol_answer": exc.message,
        }
        order_event_add(
            order, OrderEvent.Kind.EF, Text(gettext_noop("EF e-mailed the %(document)s."), document=document)
        )
        return
    row.result = {"channel": Channel.PEPPOL, "sent_at": _now(), "answer": answer}
    order_event_add(
        order,
        OrderEvent.Kind.EF,
        Text(gettext_noop("EF sent the %(document)s via Peppol."), document=document),
    )


def credit_note_external_id(licence_id: int, follow_up_id: int) -> str:
    return f"kmo-{licence_id}-cn{follow_up_id}"[:EXTERNAL_ID_MAX]


def _credit_note(order: Order, licence: Licence, ef: EfClient, row: FollowUp) -> None:
    plan = row.plan
    if plan.get("needs_amount"):
        raise FollowUpRefused(FollowUpCode.REFUND_AMOUNT_MISSING, Text(AMOUNT_MISSING))
    external_id = credit_note_external_id(licence.pk, row.pk)
    credit_note_id = None
    if row.started_at is not None:
        existing = earlier_create_find(
            ef,
            external_id,
            started_at=row.started_at,
            settles_at=row.settles_at,
            too_early=gettext_noop(
                "Making sure EenvoudigFactureren did not create the credit note of an earlier attempt; "
                "looking again at %(time)s."
            ),
        )
        if existing:
            credit_note_id = int(existing["invoice_id"])
    if credit_note_id is None:
        payload = credit_note_payload(
            _invoice_payload(order, ef, int(plan["invoice_id"])),
            CreditDecision(row.key, Decimal(plan["amount"]), bool(plan["mirror"]), plan.get("reason", "")),
            invoice_number=plan.get("invoice_number") or str(plan["invoice_id"]),
            order_number=order.order_number,
            external_id=external_id,
            on=timezone.localdate().isoformat(),
        )
        credit_note_id = _call_marked(row, lambda: ef.invoice_create(payload))
    number = str(ef.invoice_get(credit_note_id).get("number") or "")
    row.result = {"credit_note_id": credit_note_id, "number": number, "amount": plan["amount"]}
    order_event_add(
        order,
        OrderEvent.Kind.EF,
        Text(
            gettext_noop("Created credit note %(number)s of €%(amount)s for invoice %(invoice)s."),
            number=number,
            amount=plan["amount"],
            invoice=plan.get("invoice_number") or plan["invoice_id"],
        ),
    )
    _credit_note_send_plan(order, row, credit_note_id)


def _credit_note_send_plan(order: Order, row: FollowUp, credit_note_id: int) -> None:
    """A credit note goes out the way its invoice did (Peppol for a Peppol invoice)."""
    invoice_send = order.follow_ups.filter(
        kind=FollowUp.Kind.SEND, key=f"send:{row.plan['invoice_id']}"
    ).first()
    if invoice_send is None:
        return
    channel = invoice_send.result.get("channel") or invoice_send.plan["channel"]
    plan = {
        "invoice_id": credit_note_id,
        "document": "credit note",
        "channel": channel,
        "fallback_email": invoice_send.plan.get("fallback_email", False),
    }
    _plan(order, f"send:{credit_note_id}", FollowUp.Kind.SEND, plan)


def _invoice_payload(order: Order, ef: EfClient, invoice_id: int) -> dict[str, Any]:
    """The payload the invoice was made from; for invoices made before we kept it, rebuilt from EF."""
    if order.ef_invoice_id == invoice_id and order.ef_invoice_payload:
        return order.ef_invoice_payload
    invoice = ef.invoice_get(invoice_id)
    items = []
    for item in invoice.get("items") or []:
        line: dict[str, Any] = {
            "description": str(item.get("description") or "-"),
            "quantity": float(Decimal(str(item.get("quantity") or 1))),
            "tax_rate": float(Decimal(str(item.get("tax_rate") or 0))),
            "amount": float(Decimal(str(item.get("amount") or 0))),
        }
        if item.get("tax_rate_special_status"):
            line["tax_rate_special_status"] = item["tax_rate_special_status"]
        items.append(line)
    return {
        "client_id": invoice.get("client_id"),
        "language": invoice.get("language") or "english",
        "layout_id": invoice.get("layout_id"),
        "tax_included": False,
        "items": items,
    }


RUNNERS: dict[str, Callable[[Order, Licence, EfClient, FollowUp], None]] = {
    FollowUp.Kind.PAYMENT: _payment,
    FollowUp.Kind.SEND: _send,
    FollowUp.Kind.CREDIT_NOTE: _credit_note,
}
