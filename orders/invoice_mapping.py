"""Build the EF client and invoice payloads from a DomainOrder and the licence's configuration. Pure."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from .domain import DomainOrder, OrderLine
from .oss import oss_note, oss_sale

DAYS_DUE = 14  # fixed by the product: "Payment period 14, not adjustable"
SIX_PLACES = Decimal("0.000001")
EXTERNAL_ID_MAX = 50
TEMPLATE_FIELDS = ("{order_number}", "{shop_invoice_number}")
EF_LANGUAGES = {"nl": "dutch", "fr": "french", "de": "german", "en": "english"}


class AmountsMode(StrEnum):
    SHOP = "shop"  # follow the shop: incl. VAT for gross-price shops, excl. for net-price shops
    INCL = "incl"
    EXCL = "excl"


@dataclass(frozen=True)
class InvoiceOptions:
    amounts: AmountsMode = AmountsMode.SHOP
    use_order_number: bool = False
    reference_template: str = "{order_number}"
    layout_id: int | None = None
    generation: int = 1  # the order's how-manieth invoice (after "Credit and re-invoice")
    oss_registered: bool = False  # the merchant is registered for OSS (orders.oss)


def external_invoice_id(licence_id: int, order_number: str, generation: int = 1) -> str:
    """Stable per licence and order, at most 50 characters (EF's limit).

    A re-invoiced order's next invoice (`generation` 2, 3, …) gets its own id: "…-r2".
    """
    suffix = f"-r{generation}" if generation > 1 else ""
    candidate = f"kmo-{licence_id}-{order_number}{suffix}"
    if len(candidate) <= EXTERNAL_ID_MAX:
        return candidate
    digest = hashlib.sha256(order_number.encode()).hexdigest()[:16]
    return f"kmo-{licence_id}-{digest}{suffix}"


def reference_render(template: str, order: DomainOrder) -> str:
    text = template or "{order_number}"
    text = text.replace("{order_number}", order.order_number)
    return text.replace("{shop_invoice_number}", order.shop_invoice_number or order.order_number)


def tax_code_compact(raw: str) -> str:
    return re.sub(r"[\s.\-]", "", raw or "").upper()


def client_payload_build(order: DomainOrder) -> dict[str, Any]:
    customer = order.customer
    payload: dict[str, Any] = {
        "name": customer.name or customer.email,
        "attention": customer.attention,
        "street": customer.street,
        "street2": customer.street2,
        "postal_code": customer.postal_code,
        "city": customer.city,
        "country_code": customer.country_code,
        "email_address": customer.email,
        "phone_number": customer.phone,
        "tax_code": tax_code_compact(customer.vat_number),
    }
    contact_name = (
        f"{customer.first_name} {customer.last_name}".strip() or customer.attention or customer.name
    )
    if contact_name:
        payload["contacts"] = [
            {"contact_name": contact_name, "email_address": customer.email, "phone_number": customer.phone}
        ]
    return payload


def _number(value: Decimal) -> int | float:
    """JSON number for EF: integral quantities as int, amounts as the shortest exact float."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def tax_included_for(order: DomainOrder, options: InvoiceOptions) -> bool:
    if options.amounts == AmountsMode.INCL:
        return True
    if options.amounts == AmountsMode.EXCL:
        return False
    return order.prices_include_tax


def _unit_price(line: OrderLine, *, from_gross: bool, to_gross: bool) -> Decimal:
    if from_gross == to_gross:
        return line.unit_price
    factor = 1 + line.vat_rate / 100
    converted = line.unit_price * factor if to_gross else line.unit_price / factor
    return converted.quantize(SIX_PLACES, rounding=ROUND_HALF_UP)


def invoice_payload_build(
    order: DomainOrder, options: InvoiceOptions, *, client_id: int, external_id: str
) -> dict[str, Any]:
    tax_included = tax_included_for(order, options)
    special = order.icp_special_status if order.is_icp else ""
    items = []
    for line in order.lines:
        price = _unit_price(line, from_gross=order.prices_include_tax, to_gross=tax_included)
        item: dict[str, Any] = {
            "description": line.description,
            "quantity": _number(line.quantity),
            "tax_rate": _number(line.vat_rate),
            ("amount_with_tax" if tax_included else "amount"): _number(price),
        }
        if special:
            item["tax_rate"] = 0
            item["tax_rate_special_status"] = special
        items.append(item)
    payload: dict[str, Any] = {
        "client_id": client_id,
        "external_invoice_id": external_id,
        "date": order.order_date.isoformat(),
        "days_due": DAYS_DUE,
        "reference": reference_render(options.reference_template, order),
        "tax_included": tax_included,
        "tax_calculation": "total",
        "language": EF_LANGUAGES.get(order.language, "english"),
        "items": items,
    }
    if options.use_order_number:
        payload["number"] = order.order_number + (f"-{options.generation}" if options.generation > 1 else "")
    if options.layout_id:
        payload["layout_id"] = options.layout_id
    sale = oss_sale(order, registered=options.oss_registered)
    if sale is not None:
        payload["note"] = oss_note(sale, order.language)  # printed at the bottom: whose VAT, and why
    return payload
