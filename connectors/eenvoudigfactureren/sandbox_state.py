"""The EenvoudigFactureren sandbox's state and document rules, apart from its HTTP routes: accounts,
injected faults, validation messages, and the Peppol rules a send must pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
SIX = Decimal("0.000001")
SPECIAL_STATUSES = {"MC", "ICD", "ICL", "EXP", "VRIJ", "OSS", "NIET", "KO"}
RIGHTS_BY_DOMAIN = {
    "clients": "clients",
    "invoices": "invoices",
    "stockitems": "stockitems",
    "layouts": "layouts",
}
ALL_RIGHTS = set(RIGHTS_BY_DOMAIN.values())
# Numeric fields EF kept numeric even in its string-typed era (spec §1.6).
ALWAYS_NUMERIC = {"quantity", "tax_rate", "days_due", "days_valid", "tax_rate_1", "tax_rate_2", "tax_rate_3"}
QUIRKS = (
    "string_numbers",
    "http200_errors",
    "filter_case_sensitive",
    "random_fault_rate",
    "random_slow_rate",
    "slow_seconds",
    "settings_shape",
)
CLIENT_TEXT_FIELDS = (
    "external_client_id",
    "name",
    "attention",
    "street",
    "street2",
    "postal_code",
    "city",
    "country_code",
    "tax_code",
    "email_address",
    "phone_number",
    "website",
    "private_note",
)
FILTER_OPS = ["!=", "<=", ">=", "=~", "=", "<", ">"]
WORD_OPS = {"eq": "=", "ne": "!=", "ge": ">=", "le": "<=", "lt": "<", "gt": ">", "like": "=~"}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    return Decimal(str(value))


class ValidationFailed(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Fault:
    status: int = 503
    retry_after: int | None = None
    path: str = ""  # substring the request path must contain
    method: str = ""
    delay: float = 0.0
    drop: bool = False
    after: bool = False  # do the work, then fail the answer (the "created but we never heard" case)
    # EF is slow at the work itself: nothing is stored for this long (a look-up meanwhile finds nothing).
    slow_work: float = 0.0


@dataclass
class Account:
    api_key: str
    number: str
    name: str
    rates: list[Decimal]
    layouts: list[dict[str, Any]]
    rights: set[str]
    days_due_default: int = 15
    clients: dict[int, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[int, dict[str, Any]] = field(default_factory=dict)
    mails: list[dict[str, Any]] = field(default_factory=list)
    # Peppol: reachability by compact VAT number, and every document delivered through it.
    peppol_directory: dict[str, dict[str, str]] = field(default_factory=dict)
    peppol_sent: list[dict[str, Any]] = field(default_factory=list)


class PeppolReachability:
    REACHABLE = "reachable"
    NOT_REGISTERED = "not_registered"
    REJECTED = "rejected"
    ALL = (REACHABLE, NOT_REGISTERED, REJECTED)


def compact_vat(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "").upper()


def peppol_reachability(account: Account, client: dict[str, Any]) -> dict[str, str]:
    """As the merchant's test set it up; by default a Belgian VAT number is on Peppol and others are not
    (INFERRED: the real network decides by the participant's registration)."""
    tax_code = compact_vat(str(client.get("tax_code") or ""))
    if tax_code in account.peppol_directory:
        return account.peppol_directory[tax_code]
    if tax_code.startswith("BE"):
        return {"status": PeppolReachability.REACHABLE}
    return {"status": PeppolReachability.NOT_REGISTERED}


def peppol_rule_violations(invoice: dict[str, Any]) -> list[str]:
    """The Peppol BIS Billing 3.0 rules our documents could break (EF would refuse the send)."""
    problems = []
    if any(Decimal(str(item["amount"])) < 0 for item in invoice["items"]):
        problems.append("[BR-27]-The Item net price (BT-146) shall NOT be negative.")
    if not re.fullmatch(r"[A-Z]{2}", str(invoice.get("_client_country") or "")):
        problems.append("[BR-CL-14]-Country codes shall be coded using ISO 3166-1.")
    return problems
