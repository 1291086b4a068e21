"""The checks an order must pass before it may become an invoice (product.md "Processing an order").

Pure functions over a DomainOrder; each failure carries a stable error code and a message that names
the amounts or fields concerned. VIES (a network call) is not here: see `orders.services.vat`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_noop

from connectors.vies.client import vat_number_format_valid, vat_number_split

from .domain import ZERO, DomainOrder, expected_total, money, rate_key
from .oss import oss_sale
from .texts import Text

TOTAL_TOLERANCE = Decimal("0.01")


class ErrorCode:
    TOTAL_MISMATCH = "TOTAL_MISMATCH"
    VAT_NUMBER_MISSING = "VAT_NUMBER_MISSING"
    VAT_NUMBER_INVALID = "VAT_NUMBER_INVALID"
    VAT_RATE_UNKNOWN = "VAT_RATE_UNKNOWN"
    EMAIL_MISSING = "EMAIL_MISSING"
    CURRENCY_UNSUPPORTED = "CURRENCY_UNSUPPORTED"
    NO_LINES = "NO_LINES"
    EF_REJECTED = "EF_REJECTED"
    EF_UNREACHABLE = "EF_UNREACHABLE"
    SHOP_UNREACHABLE = "SHOP_UNREACHABLE"
    VIES_UNREACHABLE = "VIES_UNREACHABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"

    ALL = (
        TOTAL_MISMATCH,
        VAT_NUMBER_MISSING,
        VAT_NUMBER_INVALID,
        VAT_RATE_UNKNOWN,
        EMAIL_MISSING,
        CURRENCY_UNSUPPORTED,
        NO_LINES,
        EF_REJECTED,
        EF_UNREACHABLE,
        SHOP_UNREACHABLE,
        VIES_UNREACHABLE,
        INTERNAL_ERROR,
    )


@dataclass(frozen=True)
class CheckFailure:
    code: str
    message: str


def euro(amount: Decimal) -> str:
    return f"€{money(amount):.2f}"


def vies_country_prefix(country_code: str) -> str:
    """VAT numbers of Greece start with EL, not with the ISO code GR."""
    return "EL" if country_code == "GR" else country_code


def check_lines(order: DomainOrder) -> CheckFailure | None:
    if not order.product_lines:
        return CheckFailure(
            ErrorCode.NO_LINES,
            Text(gettext_noop("Order %(number)s has no order lines."), number=order.order_number),
        )
    return None


def check_currency(order: DomainOrder) -> CheckFailure | None:
    if order.currency.upper() != "EUR":
        return CheckFailure(
            ErrorCode.CURRENCY_UNSUPPORTED,
            Text(
                gettext_noop("The shop's currency is %(currency)s; only EUR can be invoiced."),
                currency=order.currency,
            ),
        )
    return None


def check_email(order: DomainOrder) -> CheckFailure | None:
    if not order.customer.email or "@" not in order.customer.email:
        return CheckFailure(
            ErrorCode.EMAIL_MISSING,
            Text(
                gettext_noop(
                    "Order %(number)s has no customer e-mail address, which is needed to find or create the "
                    "customer in EenvoudigFactureren."
                ),
                number=order.order_number,
            ),
        )
    return None


def check_total(order: DomainOrder) -> CheckFailure | None:
    computed = expected_total(order.lines, prices_include_tax=order.prices_include_tax)
    difference = order.total - computed
    if abs(difference) > TOTAL_TOLERANCE:
        return CheckFailure(
            ErrorCode.TOTAL_MISMATCH,
            Text(
                gettext_noop(
                    "The order total is %(total)s, but lines minus discounts plus shipping and fees add up to "
                    "%(computed)s (difference %(difference)s)."
                ),
                total=euro(order.total),
                computed=euro(computed),
                difference=euro(difference),
            ),
        )
    return None


def check_vat_number(order: DomainOrder) -> CheckFailure | None:
    """ICP orders need a VAT number of the customer's own country, with a valid format and checksum."""
    if not order.is_icp:
        return None
    raw = order.customer.vat_number
    if not raw:
        return CheckFailure(
            ErrorCode.VAT_NUMBER_MISSING,
            Text(
                gettext_noop(
                    "Business order from %(country)s without VAT charged, but no VAT number was given: an "
                    "intra-community (0%%) invoice needs the customer's VAT number."
                ),
                country=order.customer.country_code,
            ),
        )
    prefix, _ = vat_number_split(raw)
    expected = vies_country_prefix(order.customer.country_code)
    if prefix != expected:
        return CheckFailure(
            ErrorCode.VAT_NUMBER_INVALID,
            Text(
                gettext_noop(
                    "VAT number %(number)s starts with %(prefix)s, but the billing country %(country)s needs %(expected)s."
                ),
                number=raw,
                prefix=prefix or "-",
                country=order.customer.country_code,
                expected=expected,
            ),
        )
    if not vat_number_format_valid(raw):
        return CheckFailure(
            ErrorCode.VAT_NUMBER_INVALID,
            Text(
                gettext_noop("VAT number %(number)s has a wrong format or check digits for %(expected)s."),
                number=raw,
                expected=expected,
            ),
        )
    return None


# One template for one missing rate and one for several (chosen by count: the stored text is a plain
# template, so gettext's plural forms cannot pick it when the text is shown).
OSS_RATE_UNKNOWN = gettext_noop(
    "VAT rate %(rates)s of %(country)s is not among the VAT rates of your EenvoudigFactureren account "
    "(%(have)s). The order is a distance sale to a consumer in %(country)s: under the EU One Stop Shop (OSS) "
    "that country's VAT applies. Add %(rates)s in EenvoudigFactureren (Settings → VAT)."
)
OSS_RATES_UNKNOWN = gettext_noop(
    "VAT rates %(rates)s of %(country)s are not among the VAT rates of your EenvoudigFactureren account "
    "(%(have)s). The order is a distance sale to a consumer in %(country)s: under the EU One Stop Shop (OSS) "
    "that country's VAT applies. Add %(rates)s in EenvoudigFactureren (Settings → VAT)."
)
RATE_UNKNOWN = gettext_noop(
    "VAT rate %(rates)s is not among the VAT rates of your EenvoudigFactureren account (%(have)s)."
)
RATES_UNKNOWN = gettext_noop(
    "VAT rates %(rates)s are not among the VAT rates of your EenvoudigFactureren account (%(have)s)."
)


def rates_written(rates: Iterable[Decimal]) -> str:
    """Rates as a sentence's parameter, in English ("5.5%, 20%"); orders.texts shows them per language."""
    return ", ".join(f"{rate_key(rate)}%" for rate in rates)


def check_vat_rates(
    order: DomainOrder, account_rates: Iterable[Decimal], *, oss_registered: bool = False
) -> CheckFailure | None:
    known = {rate.normalize() for rate in account_rates} | {ZERO}
    unknown = [rate for rate in order.vat_rates if rate.normalize() not in known]
    if unknown:
        names, have = rates_written(unknown), rates_written(sorted(known))
        several = len(unknown) > 1
        sale = oss_sale(order, registered=oss_registered)
        if sale is not None:
            template = OSS_RATES_UNKNOWN if several else OSS_RATE_UNKNOWN
            return CheckFailure(
                ErrorCode.VAT_RATE_UNKNOWN, Text(template, rates=names, have=have, country=sale.country)
            )
        template = RATES_UNKNOWN if several else RATE_UNKNOWN
        return CheckFailure(ErrorCode.VAT_RATE_UNKNOWN, Text(template, rates=names, have=have))
    return None


RATE_REFUSED = gettext_noop(
    "EenvoudigFactureren refused a VAT rate of this order (%(rates)s): the account no longer has it. Add it in "
    "EenvoudigFactureren (Settings → VAT) and press ReConnect under Connections."
)
OSS_RATE_REFUSED = gettext_noop(
    "EenvoudigFactureren refused a VAT rate of this order (%(rates)s of %(country)s): the account no longer "
    "has it. The order is a distance sale to a consumer in %(country)s: under the EU One Stop Shop (OSS) that "
    "country's VAT applies. Add it in EenvoudigFactureren (Settings → VAT) and press ReConnect under "
    "Connections."
)


def rate_refused_message(order: DomainOrder, *, oss_registered: bool = False) -> Text:
    """EF refused a rate our copy of its rates still listed: the order's rates, and why they apply."""
    names = rates_written(rate for rate in order.vat_rates if rate > ZERO)
    sale = oss_sale(order, registered=oss_registered)
    if sale is not None:
        return Text(OSS_RATE_REFUSED, rates=names, country=sale.country)
    return Text(RATE_REFUSED, rates=names)


def order_checks(
    order: DomainOrder, *, account_rates: Iterable[Decimal], oss_registered: bool = False
) -> CheckFailure | None:
    """The first failing check, in the order a merchant would fix them; None when all pass."""
    rates = list(account_rates)
    for check in (check_lines, check_currency, check_email, check_total, check_vat_number):
        failure = check(order)
        if failure:
            return failure
    return check_vat_rates(order, rates, oss_registered=oss_registered)
