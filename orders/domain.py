"""The plain domain order the rest of the pipeline works on: Decimal money, no Ecwid field names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")
ZERO = Decimal("0")

EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def rate_key(rate: Decimal) -> str:
    """`Decimal("21.0")` -> "21"; the form used for per-rate totals and messages."""
    normalized = rate.normalize()
    return format(normalized, "f") if normalized == normalized.to_integral_value() else str(normalized)


class LineKind(StrEnum):
    PRODUCT = "product"
    SHIPPING = "shipping"
    FEE = "fee"
    DISCOUNT = "discount"


@dataclass(frozen=True)
class OrderLine:
    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal  # in the shop's basis: incl. VAT when the shop's prices include VAT, else excl.
    vat_rate: Decimal
    digital: bool = False
    sku: str = ""

    @property
    def total(self) -> Decimal:
        return money(self.unit_price * self.quantity)


@dataclass(frozen=True)
class Customer:
    name: str
    attention: str
    first_name: str
    last_name: str
    company: str
    street: str
    street2: str
    postal_code: str
    city: str
    country_code: str
    email: str
    phone: str
    vat_number: str


@dataclass(frozen=True)
class DomainOrder:
    order_number: str  # the Ecwid `id` as merchant and customer see it, prefix and suffix included
    internal_id: int | None
    created_at: datetime
    order_date: date  # created_at in the store's timezone
    payment_status: str
    payment_method: str
    currency: str
    store_country: str
    prices_include_tax: bool
    customer: Customer
    is_business: bool
    vat_charged: Decimal  # the order's total VAT as the shop computed it
    lines: tuple[OrderLine, ...]
    total: Decimal
    shop_invoice_number: str = ""
    language: str = "en"  # nl / fr / de / en: the invoice's language and that of our line texts
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Where the customer is, as the shop recorded it (OSS evidence): billing and shipping country, IP address.
    billing_country: str = ""
    shipping_country: str = ""
    ip_address: str = ""

    @property
    def product_lines(self) -> tuple[OrderLine, ...]:
        return tuple(line for line in self.lines if line.kind == LineKind.PRODUCT)

    @property
    def vat_rates(self) -> list[Decimal]:
        return sorted({line.vat_rate for line in self.lines})

    @property
    def is_icp(self) -> bool:
        """Intra-community supply: business customer, other EU country than the store's, no VAT charged."""
        country = self.customer.country_code
        return (
            self.is_business
            and country in EU_COUNTRIES
            and country != self.store_country
            and self.vat_charged == ZERO
            and all(line.vat_rate == ZERO for line in self.lines)
        )

    @property
    def icp_special_status(self) -> str:
        """ICD for services / digital goods only, ICL when anything physical is delivered."""
        products = self.product_lines
        return "ICD" if products and all(line.digital for line in products) else "ICL"


def expected_total(lines: tuple[OrderLine, ...] | list[OrderLine], *, prices_include_tax: bool) -> Decimal:
    """The invoice total EF computes with `tax_calculation: total` (VAT per rate on the summed lines)."""
    by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        by_rate[line.vat_rate] = by_rate.get(line.vat_rate, ZERO) + line.total
    if prices_include_tax:
        return sum(by_rate.values(), ZERO)
    return sum((base + money(base * rate / 100) for rate, base in by_rate.items()), ZERO)
