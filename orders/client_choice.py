"""Which EF client an order's invoice is addressed to: the customer who ordered, never another company.

An e-mail address alone does not say who the customer is: a bookkeeper orders for two companies, a
manager orders privately and for the firm. The VAT number does. An EF client found by e-mail is this
order's customer only when it carries the same VAT number as the order (compared without spaces, dots
and dashes). A company that gave no VAT number is the client without one that carries its name (compared
without case, accents, spaces and punctuation); a consumer is the client without one (product.md: by
e-mail address, whatever name the merchant gave it in EF). Any other client with the address is another
customer: it is left alone, and a client is made from the order instead.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .domain import Customer
from .invoice_mapping import tax_code_compact

NAME_KEY_LENGTH = 200  # EfClientMatch.name


@dataclass(frozen=True)
class ClientChoice:
    """The EF client that is this customer (None: make one), and the clients with the address that are not."""

    client_id: int | None
    not_this_customer: list[dict[str, Any]]


def customer_vat_key(customer: Customer) -> str:
    """The VAT number that tells this customer apart ("" for a consumer): part of the remembered match."""
    return tax_code_compact(customer.vat_number)


def customer_name_key(customer: Customer) -> str:
    """The name that tells a company without VAT number apart ("" for a consumer, and when the VAT number
    tells): part of the remembered match. The name is the one the client is made with."""
    if customer_vat_key(customer) or not customer.company.strip():
        return ""
    return name_compact(customer.name)[:NAME_KEY_LENGTH]


def name_compact(name: str) -> str:
    """A name as compared: letters and digits only, lower case, without accents ("De Linde B.V." and
    "de linde bv" are one name)."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


def client_is_customer(customer: Customer, ef_client: dict[str, Any]) -> bool:
    """The EF client is this order's customer: the same VAT number; for a company without one, no VAT
    number in EF either and the same name; for a consumer, no VAT number in EF."""
    if tax_code_compact(str(ef_client.get("tax_code") or "")) != customer_vat_key(customer):
        return False
    name = customer_name_key(customer)
    return not name or name_compact(str(ef_client.get("name") or ""))[:NAME_KEY_LENGTH] == name


def client_choose(customer: Customer, with_address: Iterable[dict[str, Any]]) -> ClientChoice:
    """Of the EF clients with the order's e-mail address (oldest first), the first that is this customer."""
    others: list[dict[str, Any]] = []
    for ef_client in with_address:
        if client_is_customer(customer, ef_client):
            return ClientChoice(int(ef_client["client_id"]), others)
        others.append(ef_client)
    return ClientChoice(None, others)
