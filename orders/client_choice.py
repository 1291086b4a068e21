"""Which EF client an order's invoice is addressed to: the customer who ordered, never another company.

An e-mail address alone does not say who the customer is: a bookkeeper orders for two companies, a
manager orders privately and for the firm. The VAT number does. An EF client found by e-mail is this
order's customer only when it carries the same VAT number as the order (compared without spaces, dots
and dashes), or none when the order has none. Any other client with the address is another company (or a
company where a consumer ordered): it is left alone, and a client is made from the order instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .domain import Customer
from .invoice_mapping import tax_code_compact


@dataclass(frozen=True)
class ClientChoice:
    """The EF client that is this customer (None: make one), and the clients with the address that are not."""

    client_id: int | None
    not_this_customer: list[dict[str, Any]]


def customer_vat_key(customer: Customer) -> str:
    """The VAT number that tells this customer apart ("" for a consumer): part of the remembered match."""
    return tax_code_compact(customer.vat_number)


def client_is_customer(customer: Customer, ef_client: dict[str, Any]) -> bool:
    """The EF client is this order's customer: the same VAT number, or neither has one."""
    return tax_code_compact(str(ef_client.get("tax_code") or "")) == customer_vat_key(customer)


def client_choose(customer: Customer, with_address: Iterable[dict[str, Any]]) -> ClientChoice:
    """Of the EF clients with the order's e-mail address (oldest first), the first that is this customer."""
    others: list[dict[str, Any]] = []
    for ef_client in with_address:
        if client_is_customer(customer, ef_client):
            return ClientChoice(int(ef_client["client_id"]), others)
        others.append(ef_client)
    return ClientChoice(None, others)
