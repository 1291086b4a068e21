"""EenvoudigFactureren REST client (`/api/v1/`, `X-API-Key`, JSON in and out).

Any JSON object with an `error` key is a failure whatever the HTTP status (EF answers some errors with
HTTP 200). Ids and amounts may be numbers or strings; amounts come back as Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings

from ..errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    TransientError,
    retry_after_seconds,
)
from ..http import HttpTransport
from ..values import as_decimal, as_int

SERVICE = "EenvoudigFactureren"
PAGE_SIZE = 100
# What a limited API key must be allowed to reach, by the name the merchant sees in EF.
REQUIRED_RIGHTS = {
    "invoices": "Invoices",
    "clients": "Customers",
    "stockitems": "Items",
    "layouts": "Layouts",
}


@dataclass(frozen=True)
class Account:
    number: str
    name: str


def _classify(status: int, body: Any, response: requests.Response) -> Exception | None:
    error = body.get("error") if isinstance(body, dict) else None
    if status < 400 and error is None:
        return None
    message = str(error if error is not None else response.reason or f"HTTP {status}")
    # HTTP-200 errors carry their real status in "code" (e.g. {"code":400,"error":"Syntax error"}).
    effective = as_int(body.get("code")) if isinstance(body, dict) and status < 400 else None
    effective = effective or status
    kwargs: dict[str, Any] = {"status": status, "service": SERVICE}
    if effective == 429:
        return TransientError(
            message, retry_after=retry_after_seconds(response.headers.get("Retry-After")), **kwargs
        )
    if effective >= 500 or effective == 408:
        return TransientError(message, **kwargs)
    if effective in (401, 403):
        return AuthenticationError(message, **kwargs)
    if effective == 404:
        return NotFoundError(message, **kwargs)
    return PermanentError(message, **kwargs)


class EfClient:
    def __init__(self, *, api_key: str, api_url: str | None = None) -> None:
        self.transport = HttpTransport(
            f"{(api_url or settings.EF_API_URL)}/api/v1",
            service=SERVICE,
            headers={"X-API-Key": api_key, "Accept": "application/json", "Content-Type": "application/json"},
        )

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        response = self.transport.send(method, path, params=params, json=json)
        try:
            body = response.json() if response.content else None
        except ValueError:
            if response.status_code < 400:
                raise TransientError(
                    "answer is not JSON", status=response.status_code, service=SERVICE
                ) from None
            body = None
        problem = _classify(response.status_code, body, response)
        if problem is not None:
            raise problem
        return body

    # ---------------------------------------------------------------- account and settings
    def account_current(self) -> Account:
        body = self._call("GET", "accounts/current")
        if not isinstance(body, dict) or not body.get("number"):
            raise PermanentError("accounts/current answered without an account number", service=SERVICE)
        return Account(
            number=str(body["number"]), name=str(body.get("name") or body.get("company_name") or "")
        )

    def tax_rates(self) -> list[Decimal]:
        """The account's VAT rates, from either shape of `settings?fields=taxes` (codes[] or tax1..tax3)."""
        body = self._call("GET", "settings", params={"fields": "taxes"})
        taxes = (body or {}).get("taxes") or {}
        rates: set[Decimal] = set()
        codes = taxes.get("codes") or []
        if isinstance(codes, dict):  # XML-ish {"code": [...]} shape
            codes = codes.get("code") or []
        for code in codes:
            rate = as_decimal(code.get("rate")) if isinstance(code, dict) else None
            if rate is not None:
                rates.add(rate.normalize())
        for key in ("tax1", "tax2", "tax3"):
            entry = taxes.get(key)
            rate = as_decimal(entry.get("rate")) if isinstance(entry, dict) else None
            if rate is not None:
                rates.add(rate.normalize())
        return sorted(rates)

    def layouts(self) -> list[dict[str, Any]]:
        body = self._call("GET", "layouts") or []
        return [
            {"layout_id": as_int(item.get("layout_id")), "name": str(item.get("name", ""))} for item in body
        ]

    def missing_rights(self) -> list[str]:
        """Names of the EF areas this key cannot read (empty when it has all the rights we need)."""
        missing = []
        for resource, label in REQUIRED_RIGHTS.items():
            try:
                self._call("GET", resource, params={"take": 1, "skip": 0})
            except AuthenticationError as exc:
                if exc.status == 401:
                    raise
                missing.append(label)
        return missing

    # ---------------------------------------------------------------- clients
    def _list(self, resource: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        skip = 0
        while True:
            page = self._call("GET", resource, params={**params, "skip": skip, "take": PAGE_SIZE}) or []
            items.extend(page)
            if len(page) < PAGE_SIZE:
                return items
            skip += PAGE_SIZE

    def clients_find_by_email(self, email: str) -> list[dict[str, Any]]:
        """Every client with this e-mail address (exact, case-insensitive), oldest first. EF's filter may be
        case-sensitive, so a search is the fallback; one address may belong to several clients (a person
        ordering privately and for a company, two companies with one bookkeeper)."""
        wanted = email.strip().lower()
        if not wanted:
            return []
        for params in ({"filter": f"email_address={email.strip()}"}, {"search": email.strip()}):
            found = [
                client
                for client in self._list("clients", params)
                if str(client.get("email_address") or "").strip().lower() == wanted
            ]
            if found:
                return sorted(found, key=lambda client: as_int(client.get("client_id")) or 0)
        return []

    def client_find_by_email(self, email: str) -> dict[str, Any] | None:
        """The first client with this e-mail address (exact, case-insensitive), or None."""
        found = self.clients_find_by_email(email)
        return found[0] if found else None

    def client_get(self, client_id: int) -> dict[str, Any]:
        return self._call("GET", f"clients/{int(client_id)}")

    def client_create(self, payload: dict[str, Any]) -> int:
        body = self._call("POST", "clients", json=payload)
        client_id = as_int((body or {}).get("client_id"))
        if client_id is None:
            raise PermanentError("client created without client_id", service=SERVICE)
        return client_id

    # ---------------------------------------------------------------- invoices
    def invoice_create(self, payload: dict[str, Any]) -> int:
        body = self._call("POST", "invoices", json=payload)
        invoice_id = as_int((body or {}).get("invoice_id"))
        if invoice_id is None:
            raise PermanentError("invoice created without invoice_id", service=SERVICE)
        return invoice_id

    def invoice_get(self, invoice_id: int) -> dict[str, Any]:
        return self._call("GET", f"invoices/{int(invoice_id)}")

    def invoice_pdf(self, invoice_id: int) -> bytes:
        """The invoice as EF prints it (`?format=pdf`)."""
        response = self.transport.send("GET", f"invoices/{int(invoice_id)}", params={"format": "pdf"})
        if response.status_code == 200 and response.content.startswith(b"%PDF"):
            return response.content
        try:
            body = response.json()
        except ValueError:
            body = None
        raise _classify(response.status_code, body, response) or PermanentError(
            "EF sent no PDF", status=response.status_code, service=SERVICE
        )

    def invoice_find_by_external_id(self, external_invoice_id: str) -> dict[str, Any] | None:
        for invoice in self._list("invoices", {"filter": f"external_invoice_id={external_invoice_id}"}):
            if str(invoice.get("external_invoice_id") or "") == external_invoice_id:
                return invoice
        return None

    def invoice_send_email(self, invoice_id: int, *, recipient: str = "main_contact") -> dict[str, Any]:
        body = self._call("POST", f"invoices/{int(invoice_id)}/sendemail", json={"recipient": recipient})
        return body if isinstance(body, dict) else {}

    def invoice_send_peppol(self, invoice_id: int) -> dict[str, Any]:
        """Send the invoice (or credit note) over Peppol: `/send` with only the Peppol method.

        EF's answer is INFERRED (`{"success": …}` or `{"error": …}`); the caller tells "the customer is not
        on Peppol" from a rejection by EF's message (`EF_PEPPOL_UNREACHABLE_MARKERS`).
        """
        return self._call("POST", f"invoices/{int(invoice_id)}/send", json={"methods": {"peppol": {}}}) or {}

    def invoice_payment_register(self, invoice_id: int, *, description: str, on: date | None = None) -> None:
        payment: dict[str, Any] = {"remaining_amount": "yes", "description": description[:100]}
        if on is not None:
            payment["date"] = on.isoformat()
        self._call("POST", f"invoices/{int(invoice_id)}/payments", json=payment)
