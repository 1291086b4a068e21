"""Turn an Ecwid v3 order (plus the store profile) into a DomainOrder. Pure: no I/O.

Rules from `docs/specs/kmoshops-api.md` §6 and `product.md`:
- the order number is the string `id` (prefix and suffix included);
- line prices are in the shop's basis (`pricesIncludeTax`), discounts come per item as `couponAmount`
  and `discounts[].total`, and are grouped into one line per VAT rate (quantity -1, positive price);
- `taxesOnShipping` covers shipping and handling together; `handlingFee.taxes` repeats the handling
  part, so each is counted once: the handling line takes its rate from its own taxes;
- no billing address means the shipping address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.values import as_decimal, as_int

from .domain import ZERO, Customer, DomainOrder, LineKind, OrderLine, money, rate_key

# Line texts in the language the invoice is printed in (the customer's, else the store's default).
LABELS = {
    "nl": {"shipping": "Verzending", "discount": "Korting", "handling": "Behandelingskosten"},
    "fr": {"shipping": "Livraison", "discount": "Remise", "handling": "Frais de traitement"},
    "de": {"shipping": "Versand", "discount": "Rabatt", "handling": "Bearbeitungsgebühr"},
    "en": {"shipping": "Shipping", "discount": "Discount", "handling": "Handling fee"},
}


def invoice_language(order: dict[str, Any], profile: dict[str, Any]) -> str:
    for candidate in (order.get("lang"), (profile.get("languages") or {}).get("defaultLanguage")):
        code = _text(candidate).lower()[:2]
        if code in LABELS:
            return code
    return "en"


def _d(value: Any) -> Decimal:
    return as_decimal(value, ZERO) or ZERO


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _rate_of(taxes: Any) -> Decimal:
    """Sum of the tax percentages applied (one for Belgian shops); no taxes means 0 %."""
    if not isinstance(taxes, list):
        return ZERO
    return sum((_d(tax.get("value")) for tax in taxes if isinstance(tax, dict)), ZERO).normalize()


def parse_ecwid_datetime(order: dict[str, Any]) -> datetime:
    stamp = as_int(order.get("createTimestamp"))
    if stamp is not None:
        return datetime.fromtimestamp(stamp, UTC)
    raw = _text(order.get("createDate"))
    return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)


def store_timezone(profile: dict[str, Any]) -> ZoneInfo:
    name = _text((profile.get("formatsAndUnits") or {}).get("timezone")) or "Europe/Brussels"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Brussels")


def _person(order: dict[str, Any]) -> dict[str, Any]:
    billing = order.get("billingPerson")
    if isinstance(billing, dict) and (_text(billing.get("name")) or _text(billing.get("street"))):
        return billing
    shipping = order.get("shippingPerson")
    return shipping if isinstance(shipping, dict) else {}


def customer_from_order(order: dict[str, Any]) -> Customer:
    person = _person(order)
    first, last = _text(person.get("firstName")), _text(person.get("lastName"))
    full_name = f"{first} {last}".strip() or _text(person.get("name"))
    company = _text(person.get("companyName"))
    street_lines = [line.strip() for line in _text(person.get("street")).splitlines() if line.strip()]
    return Customer(
        name=company or full_name,
        attention=full_name if company else "",
        first_name=first,
        last_name=last,
        company=company,
        street=street_lines[0] if street_lines else "",
        street2=", ".join(street_lines[1:]),
        postal_code=_text(person.get("postalCode")),
        city=_text(person.get("city")),
        country_code=_text(person.get("countryCode")).upper(),
        email=_text(order.get("email")),
        phone=_text(person.get("phone")),
        vat_number=_text(order.get("customerTaxId")),
    )


def _product_lines(order: dict[str, Any]) -> tuple[list[OrderLine], dict[Decimal, Decimal]]:
    lines: list[OrderLine] = []
    discounts: dict[Decimal, Decimal] = {}
    for item in order.get("items") or []:
        rate = _rate_of(item.get("taxes")) if item.get("taxable", True) is not False else ZERO
        lines.append(
            OrderLine(
                kind=LineKind.PRODUCT,
                description=_text(item.get("name")) or _text(item.get("sku")) or "Product",
                quantity=_d(item.get("quantity") or 1),
                unit_price=_d(item.get("price")),
                vat_rate=rate,
                digital=bool(item.get("digital")) or item.get("isShippingRequired") is False,
                sku=_text(item.get("sku")),
            )
        )
        item_discount = _d(item.get("couponAmount")) + sum(
            (_d(d.get("total")) for d in item.get("discounts") or [] if isinstance(d, dict)), ZERO
        )
        if item_discount:
            discounts[rate] = discounts.get(rate, ZERO) + item_discount
    return lines, discounts


def _shipping_and_fees(
    order: dict[str, Any], prices_include_tax: bool, labels: dict[str, str]
) -> tuple[list[OrderLine], Decimal]:
    lines: list[OrderLine] = []
    shipping_rate = _rate_of(order.get("taxesOnShipping"))
    option = order.get("shippingOption") or {}
    shipping = _d(option.get("shippingRate"))
    shipping_discount = ZERO
    discounted = as_decimal(option.get("discountedShippingRate"))
    if discounted is not None and ZERO <= discounted < shipping:
        shipping_discount = shipping - discounted
    if shipping:
        method = _text(option.get("shippingMethodName"))
        lines.append(
            OrderLine(
                LineKind.SHIPPING,
                f"{labels['shipping']}: {method}" if method else labels["shipping"],
                Decimal(1),
                shipping,
                shipping_rate,
            )
        )
    handling = order.get("handlingFee") or {}
    handling_value = _d(handling.get("value"))
    if handling_value:
        rate = _rate_of(handling.get("taxes")) if handling.get("taxes") else shipping_rate
        name = _text(handling.get("name")) or labels["handling"]
        lines.append(OrderLine(LineKind.FEE, name, Decimal(1), handling_value, rate))
    for surcharge in order.get("customSurcharges") or []:
        if not isinstance(surcharge, dict):
            continue
        amount = _d(
            surcharge.get("total")
            if prices_include_tax
            else surcharge.get("totalWithoutTax", surcharge.get("total"))
        )
        if not amount:
            continue
        rate = _rate_of(surcharge.get("taxes")) if surcharge.get("taxable", True) else ZERO
        description = _text(surcharge.get("description")) or _text(surcharge.get("id")) or "Surcharge"
        lines.append(OrderLine(LineKind.FEE, description, Decimal(1), amount, rate))
    return lines, shipping_discount


def _discount_lines(discounts: dict[Decimal, Decimal], label: str) -> list[OrderLine]:
    return [
        # Quantity -1 at a positive price: Peppol (BR-27) forbids a negative item price.
        OrderLine(LineKind.DISCOUNT, f"{label} {rate_key(rate)}%", Decimal(-1), money(amount), rate)
        for rate, amount in sorted(discounts.items(), reverse=True)
        if money(amount)
    ]


def domain_order_from_ecwid(order: dict[str, Any], profile: dict[str, Any]) -> DomainOrder:
    prices_include_tax = order.get("pricesIncludeTax")
    if prices_include_tax is None:
        prices_include_tax = (profile.get("taxSettings") or {}).get("pricesIncludeTax", True)
    prices_include_tax = bool(prices_include_tax)
    language = invoice_language(order, profile)
    labels = LABELS[language]
    products, discounts = _product_lines(order)
    extra, shipping_discount = _shipping_and_fees(order, prices_include_tax, labels)
    if shipping_discount:
        rate = next(line.vat_rate for line in extra if line.kind == LineKind.SHIPPING)
        discounts[rate] = discounts.get(rate, ZERO) + shipping_discount
    created_at = parse_ecwid_datetime(order)
    customer = customer_from_order(order)
    invoices = order.get("invoices") or []
    sale_invoice = next((i for i in invoices if isinstance(i, dict) and i.get("type", "SALE") == "SALE"), {})
    is_business = (
        _text(order.get("b2b_b2c")).lower() == "b2b" or bool(customer.company) or bool(customer.vat_number)
    )
    return DomainOrder(
        order_number=_text(order.get("id")),
        internal_id=as_int(order.get("internalId")),
        created_at=created_at,
        order_date=created_at.astimezone(store_timezone(profile)).date(),
        payment_status=_text(order.get("paymentStatus")),
        payment_method=_text(order.get("paymentMethod")),
        currency=_text((profile.get("formatsAndUnits") or {}).get("currency")) or "EUR",
        store_country=_text((profile.get("company") or {}).get("countryCode")).upper() or "BE",
        prices_include_tax=prices_include_tax,
        customer=customer,
        is_business=is_business,
        vat_charged=_d(order.get("tax")),
        lines=tuple(products + extra + _discount_lines(discounts, labels["discount"])),
        language=language,
        total=_d(order.get("total")),
        shop_invoice_number=_text(sale_invoice.get("id")),
        billing_country=_country(order.get("billingPerson")),
        shipping_country=_country(order.get("shippingPerson")),
        ip_address=_text(order.get("ipAddress"))[:64],
    )


def _country(person: Any) -> str:
    return _text(person.get("countryCode")).upper()[:2] if isinstance(person, dict) else ""
