"""What happens after the invoice, as plain rules: the delivery channel, which credit notes a refund or
cancellation calls for, and the credit notes' EF payloads. Pure: no database, no HTTP.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from .domain import CENT, ZERO, money, rate_key
from .invoice_mapping import tax_code_compact

FULLY_CREDITED = ("REFUNDED", "CANCELLED")
KEY_MAX = 120


class Channel(StrEnum):
    PEPPOL = "peppol"
    EMAIL = "email"


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    fallback_email: bool = False  # Peppol only: e-mail instead when EF says the customer is not on Peppol


def is_belgian_business(country_code: str, vat_number: str) -> bool:
    """A customer the Belgian e-invoicing mandate covers: in Belgium, with a VAT number."""
    compact = tax_code_compact(vat_number)
    return (country_code or "").upper() == "BE" and bool(compact) and compact[:2] in ("BE", "0", "1")


def delivery_for(
    country_code: str,
    vat_number: str,
    *,
    peppol_be_business: bool,
    peppol_email_fallback: bool,
    email_others: bool,
) -> Delivery | None:
    """How an invoice reaches this customer, or None when the merchant sends it themselves."""
    if peppol_be_business and is_belgian_business(country_code, vat_number):
        return Delivery(Channel.PEPPOL, fallback_email=peppol_email_fallback)
    if email_others:
        return Delivery(Channel.EMAIL)
    return None


@dataclass(frozen=True)
class CreditDecision:
    key: str  # stable for one refund or cancellation, whatever order the webhooks come in
    amount: Decimal  # gross, positive (zero while the merchant still has to say how much)
    mirror: bool  # the whole invoice, line by line
    reason: str
    needs_amount: bool = False  # partly refunded, and the shop does not say how much


PARTIAL = "PARTIALLY_REFUNDED"
AMOUNT_NEEDED = "partial:amount-needed"


def _refund_amount(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        return ZERO
    return money(value) if value.is_finite() and value > 0 else ZERO


def credits_due(
    snapshot: dict[str, Any], invoiced_total: Decimal, *, credited: Decimal, decided: set[str]
) -> list[CreditDecision]:
    """The credit notes this snapshot asks for beyond those already decided.

    `credited` is what this invoice was credited for so far; `decided` holds the keys already decided
    (refund keys for the whole order, "full"/"rest:…" for this invoice). Each `refunds[]` entry is one
    credit note for its amount; a refunded or cancelled order is credited for whatever is left. A refund
    of the whole invoice as its first credit mirrors the invoice. Never more than the invoice in total, so
    a refund seen both as an entry and as a status change is credited once.
    """
    total = money(invoiced_total)
    left = total - credited
    decisions: list[CreditDecision] = []
    seen: Counter[tuple[str, Decimal]] = Counter()
    for refund in snapshot.get("refunds") or []:
        if not isinstance(refund, dict):
            continue
        amount = _refund_amount(refund.get("amount"))
        if not amount:
            continue
        when = str(refund.get("date") or "")[:40]
        seen[(when, amount)] += 1
        key = f"refund:{when}:{amount}:{seen[(when, amount)]}"[:KEY_MAX]
        if key in decided:
            continue
        amount = min(amount, left)
        if amount <= 0:
            continue
        mirror = left == total and amount == total
        decisions.append(CreditDecision(key, amount, mirror, str(refund.get("reason") or "")[:200]))
        left -= amount
    status = str(snapshot.get("paymentStatus") or "")
    if status == PARTIAL:
        # `refundedAmount`: what the shop says was refunded in all; beyond what is credited, credited now.
        refunded = min(_refund_amount(snapshot.get("refundedAmount")), total)
        beyond = refunded - (total - left)
        key = f"refunded:{refunded}"
        if beyond > 0 and key not in decided:
            decisions.append(CreditDecision(key, beyond, False, "refunded"))
            left -= beyond
        # Ecwid fills refunds[] (and the amount) only for its own payment services: with no amount at all,
        # nothing is guessed; the merchant is asked (once) how much was refunded.
        if left == total and not decisions and AMOUNT_NEEDED not in decided:
            decisions.append(CreditDecision(AMOUNT_NEEDED, ZERO, False, "refunded", needs_amount=True))
    if status in FULLY_CREDITED and left > 0:
        mirror = left == total
        key = "full" if mirror else f"rest:{status.lower()}"
        if key not in decided:
            decisions.append(CreditDecision(key, left, mirror, status.lower()))
    return decisions


def refund_or_cancellation(snapshot: dict[str, Any]) -> bool:
    """Whether the snapshot shows any refund or a cancellation (most orders: no, and nothing to look up)."""
    return str(snapshot.get("paymentStatus") or "") in (*FULLY_CREDITED, PARTIAL) or any(
        isinstance(refund, dict) and _refund_amount(refund.get("amount"))
        for refund in snapshot.get("refunds") or []
    )


def gross_by_rate(lines: list[dict[str, Any]], *, tax_included: bool) -> dict[tuple[str, str], Decimal]:
    """An invoice's gross total per (VAT rate, special status), from the items sent to EF."""
    totals: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        rate = Decimal(str(line.get("tax_rate") or 0))
        quantity = Decimal(str(line.get("quantity") or 1))
        if tax_included:
            gross = Decimal(str(line.get("amount_with_tax") or 0)) * quantity
        else:
            gross = Decimal(str(line.get("amount") or 0)) * quantity * (1 + rate / 100)
        group = (rate_key(rate), str(line.get("tax_rate_special_status") or ""))
        totals[group] = totals.get(group, ZERO) + gross
    return {group: money(total) for group, total in totals.items()}


def split_over_rates(
    amount: Decimal, weights: dict[tuple[str, str], Decimal]
) -> dict[tuple[str, str], Decimal]:
    """`amount` in proportion to `weights`, in cents that add up to exactly `amount` (largest remainder)."""
    positive = {group: weight for group, weight in weights.items() if weight > 0}
    total = sum(positive.values(), ZERO)
    if not positive or total <= 0:
        return {}
    cents = int((amount / CENT).to_integral_value(rounding=ROUND_HALF_UP))
    exact = {group: Decimal(cents) * weight / total for group, weight in positive.items()}
    shares = {group: int(value) for group, value in exact.items()}
    short = cents - sum(shares.values())
    for group in sorted(exact, key=lambda g: (exact[g] - shares[g], positive[g]), reverse=True)[:short]:
        shares[group] += 1
    return {group: Decimal(share) * CENT for group, share in shares.items() if share}


CREDIT_LABELS = {
    "dutch": ("Creditnota voor factuur {number}, bestelling {order}", "Terugbetaling", "Annulering"),
    "french": ("Note de crédit pour la facture {number}, commande {order}", "Remboursement", "Annulation"),
    "german": ("Gutschrift zur Rechnung {number}, Bestellung {order}", "Rückerstattung", "Stornierung"),
    "english": ("Credit note for invoice {number}, order {order}", "Refund", "Cancellation"),
}


def _labels(language: str) -> tuple[str, str, str]:
    return CREDIT_LABELS.get(language, CREDIT_LABELS["english"])


def credit_note_payload(
    invoice_payload: dict[str, Any],
    decision: CreditDecision,
    *,
    invoice_number: str,
    order_number: str,
    external_id: str,
    on: str,
) -> dict[str, Any]:
    """The EF credit note (an invoice with a negative total) for `decision`, against the invoice that was
    made from `invoice_payload`. Quantities are negative and prices positive (Peppol BR-27)."""
    language = str(invoice_payload.get("language") or "english")
    reference_label, refund_label, cancel_label = _labels(language)
    tax_included = bool(invoice_payload.get("tax_included"))
    lines = list(invoice_payload.get("items") or [])
    if decision.mirror:
        items = [{**line, "quantity": -Decimal(str(line.get("quantity") or 1))} for line in lines]
        items = [{**item, "quantity": _json_number(item["quantity"])} for item in items]
    else:
        if decision.reason == "cancelled":
            text = cancel_label
        elif decision.reason and decision.reason != "refunded":
            text = f"{refund_label}: {decision.reason}"
        else:
            text = refund_label
        shares = split_over_rates(decision.amount, gross_by_rate(lines, tax_included=tax_included))
        items = []
        for (rate, special), share in sorted(shares.items(), key=lambda kv: Decimal(kv[0][0]), reverse=True):
            item: dict[str, Any] = {
                "description": f"{text} ({rate}%)" if len(shares) > 1 else text,
                "quantity": -1,
                "tax_rate": _json_number(Decimal(rate)),
                "amount_with_tax": _json_number(share),
            }
            if special:
                item["tax_rate_special_status"] = special
            items.append(item)
        tax_included = True
    payload: dict[str, Any] = {
        "client_id": invoice_payload.get("client_id"),
        "external_invoice_id": external_id,
        "date": on,
        "reference": reference_label.format(number=invoice_number, order=order_number),
        "tax_included": tax_included,
        "tax_calculation": "total",
        "language": language,
        "items": items,
    }
    if invoice_payload.get("layout_id"):
        payload["layout_id"] = invoice_payload["layout_id"]
    return payload


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
