"""OSS: a Belgian shop selling goods to consumers in other EU countries charges the customer's country's
VAT (the EU One Stop Shop). Pure rules: which sale is one, the line on the invoice that says so, the
sentence that tells the merchant which rate to add in EF and why, and the evidence kept with the order.

The member states' rates are INFERRED from public tables (2026) and can be replaced with OSS_VAT_RATES.
A sale is OSS when the goods go to a consumer in another member state and VAT was charged at that
country's rates, at least one of which is not a rate of the shop's own country; a sale whose rates fit
both (a Dutch customer at 21 %) cannot be told apart from home VAT and is marked only when the merchant says
they are registered for OSS (Configuration, `Licence.oss_registered`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop

from .domain import EU_COUNTRIES, ZERO, DomainOrder, rate_key

EU_VAT_RATES: dict[str, tuple[str, ...]] = {
    "AT": ("20", "13", "10"),
    "BE": ("21", "12", "6"),
    "BG": ("20", "9"),
    "CY": ("19", "9", "5", "3"),
    "CZ": ("21", "12"),
    "DE": ("19", "7"),
    "DK": ("25",),
    "EE": ("24", "13", "9"),
    "ES": ("21", "10", "4"),
    "FI": ("25.5", "14", "10"),
    "FR": ("20", "10", "5.5", "2.1"),
    "GR": ("24", "13", "6"),
    "HR": ("25", "13", "5"),
    "HU": ("27", "18", "5"),
    "IE": ("23", "13.5", "9", "4.8"),
    "IT": ("22", "10", "5", "4"),
    "LT": ("21", "9", "5"),
    "LU": ("17", "14", "8", "3"),
    "LV": ("21", "12", "5"),
    "MT": ("18", "7", "5"),
    "NL": ("21", "9"),
    "PL": ("23", "8", "5"),
    "PT": ("23", "13", "6"),
    "RO": ("21", "11"),
    "SE": ("25", "12", "6"),
    "SI": ("22", "9.5", "5"),
    "SK": ("23", "19", "5"),
}

# The countries' names for the merchant's pages (translated through the catalogue).
COUNTRY_NAMES = {
    "AT": gettext_noop("Austria"),
    "BE": gettext_noop("Belgium"),
    "BG": gettext_noop("Bulgaria"),
    "CY": gettext_noop("Cyprus"),
    "CZ": gettext_noop("Czechia"),
    "DE": gettext_noop("Germany"),
    "DK": gettext_noop("Denmark"),
    "EE": gettext_noop("Estonia"),
    "ES": gettext_noop("Spain"),
    "FI": gettext_noop("Finland"),
    "FR": gettext_noop("France"),
    "GR": gettext_noop("Greece"),
    "HR": gettext_noop("Croatia"),
    "HU": gettext_noop("Hungary"),
    "IE": gettext_noop("Ireland"),
    "IT": gettext_noop("Italy"),
    "LT": gettext_noop("Lithuania"),
    "LU": gettext_noop("Luxembourg"),
    "LV": gettext_noop("Latvia"),
    "MT": gettext_noop("Malta"),
    "NL": gettext_noop("the Netherlands"),
    "PL": gettext_noop("Poland"),
    "PT": gettext_noop("Portugal"),
    "RO": gettext_noop("Romania"),
    "SE": gettext_noop("Sweden"),
    "SI": gettext_noop("Slovenia"),
    "SK": gettext_noop("Slovakia"),
}

# The line printed on the invoice, in the invoice's language (like the shipping and discount lines).
INVOICE_NOTE = {
    "nl": "Btw van {country} ({code}) volgens de EU-regeling One Stop Shop (OSS): verkoop op afstand aan een "
    "consument in {country}.",
    "fr": "TVA de {country} ({code}) selon le régime européen du guichet unique (OSS) : vente à distance à un "
    "consommateur en {country}.",
    "de": "Umsatzsteuer von {country} ({code}) nach der EU-Regelung One-Stop-Shop (OSS): Fernverkauf an einen "
    "Verbraucher in {country}.",
    "en": "VAT of {country} ({code}) under the EU One Stop Shop (OSS): a distance sale to a consumer in "
    "{country}.",
}
NOTE_COUNTRY = {  # the destination's name in the invoice's language
    "nl": {
        "AT": "Oostenrijk",
        "BG": "Bulgarije",
        "CY": "Cyprus",
        "CZ": "Tsjechië",
        "DE": "Duitsland",
        "DK": "Denemarken",
        "EE": "Estland",
        "ES": "Spanje",
        "FI": "Finland",
        "FR": "Frankrijk",
        "GR": "Griekenland",
        "HR": "Kroatië",
        "HU": "Hongarije",
        "IE": "Ierland",
        "IT": "Italië",
        "LT": "Litouwen",
        "LU": "Luxemburg",
        "LV": "Letland",
        "MT": "Malta",
        "NL": "Nederland",
        "PL": "Polen",
        "PT": "Portugal",
        "RO": "Roemenië",
        "SE": "Zweden",
        "SI": "Slovenië",
        "SK": "Slowakije",
        "BE": "België",
    },
    "fr": {
        "AT": "Autriche",
        "BG": "Bulgarie",
        "CY": "Chypre",
        "CZ": "Tchéquie",
        "DE": "Allemagne",
        "DK": "Danemark",
        "EE": "Estonie",
        "ES": "Espagne",
        "FI": "Finlande",
        "FR": "France",
        "GR": "Grèce",
        "HR": "Croatie",
        "HU": "Hongrie",
        "IE": "Irlande",
        "IT": "Italie",
        "LT": "Lituanie",
        "LU": "Luxembourg",
        "LV": "Lettonie",
        "MT": "Malte",
        "NL": "Pays-Bas",
        "PL": "Pologne",
        "PT": "Portugal",
        "RO": "Roumanie",
        "SE": "Suède",
        "SI": "Slovénie",
        "SK": "Slovaquie",
        "BE": "Belgique",
    },
    "de": {
        "AT": "Österreich",
        "BG": "Bulgarien",
        "CY": "Zypern",
        "CZ": "Tschechien",
        "DE": "Deutschland",
        "DK": "Dänemark",
        "EE": "Estland",
        "ES": "Spanien",
        "FI": "Finnland",
        "FR": "Frankreich",
        "GR": "Griechenland",
        "HR": "Kroatien",
        "HU": "Ungarn",
        "IE": "Irland",
        "IT": "Italien",
        "LT": "Litauen",
        "LU": "Luxemburg",
        "LV": "Lettland",
        "MT": "Malta",
        "NL": "den Niederlanden",
        "PL": "Polen",
        "PT": "Portugal",
        "RO": "Rumänien",
        "SE": "Schweden",
        "SI": "Slowenien",
        "SK": "der Slowakei",
        "BE": "Belgien",
    },
}


@dataclass(frozen=True)
class OssSale:
    country: str  # where the goods go (ISO code)
    rates: tuple[str, ...]  # the rates charged, "9", "21"


def country_rates(country: str) -> tuple[str, ...]:
    table = getattr(settings, "OSS_VAT_RATES", None) or EU_VAT_RATES
    return tuple(rate_key(Decimal(str(rate))) for rate in table.get(country, ()))


def oss_sale(order: DomainOrder, *, registered: bool = False) -> OssSale | None:
    """The OSS sale this order is, or None (a home sale, an intra-community supply, outside the EU).

    `registered`: the merchant said they are registered for OSS, so rates both countries have count too."""
    country = order.shipping_country or order.customer.country_code
    if country not in EU_COUNTRIES or country == order.store_country or order.is_icp:
        return None
    charged = tuple(sorted({rate_key(line.vat_rate) for line in order.lines if line.vat_rate > ZERO}))
    if not charged:
        return None
    theirs, ours = set(country_rates(country)), set(country_rates(order.store_country))
    if set(charged) <= theirs and (registered or not set(charged) <= ours):
        return OssSale(country, charged)
    return None


def oss_note(sale: OssSale, language: str) -> str:
    """The invoice's line about it, in the invoice's language."""
    names = NOTE_COUNTRY.get(language)
    name = names.get(sale.country, sale.country) if names else _english(sale.country)
    return INVOICE_NOTE.get(language, INVOICE_NOTE["en"]).format(country=name, code=sale.country)


def _english(country: str) -> str:
    return COUNTRY_NAMES.get(country, country)


def oss_evidence(order: DomainOrder, sale: OssSale, *, recorded_at: str) -> dict[str, Any]:
    """What shows where the customer is (kept with the order: OSS records are kept for 10 years)."""
    return {
        "country": sale.country,
        "rates": list(sale.rates),
        "billing_country": order.billing_country,
        "shipping_country": order.shipping_country,
        "ip_address": order.ip_address,
        "recorded_at": recorded_at,
    }
