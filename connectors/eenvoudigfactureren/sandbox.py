"""EenvoudigFactureren sandbox: `/api/v1/` accounts, settings, layouts, clients, invoices, payments, mail.

Faithful to `docs/specs/eenvoudigfactureren-api.md`: `X-API-Key` auth (401, 403 for missing rights),
the spec's validation messages, `{"success": "... created", "<x>_id": ..}` create answers without `number`,
numbering when none is given, per-rate totals with `tax_calculation: total`, `tax_included` with
`amount_with_tax`, both filter syntaxes, `skip`/`take`. Switchable quirks: string-typed numbers, HTTP 200
with an `error` body, injected 429/5xx/slow/dropped answers (queued or at a random rate). Test controls
live under `/_sandbox/`.
"""

from __future__ import annotations

import copy
import random
import re
import time
from collections import deque
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ..sandbox_server import Request, Response, SandboxApp, json_response
from .sandbox_documents import DocumentRules
from .sandbox_state import (
    ALL_RIGHTS,
    ALWAYS_NUMERIC,
    CLIENT_TEXT_FIELDS,
    FILTER_OPS,
    QUIRKS,
    RIGHTS_BY_DOMAIN,
    WORD_OPS,
    Account,
    Fault,
    PeppolReachability,
    ValidationFailed,
    compact_vat,
    peppol_reachability,
    peppol_rule_violations,
    to_decimal,
)


class EfSandbox(DocumentRules, SandboxApp):
    name = "ef-sandbox"

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, Account] = {}
        self.string_numbers = False
        self.http200_errors = False
        self.filter_case_sensitive = True
        self.settings_shape = "both"  # "codes" (docs' list), "tax_n" (vendor's tax1..tax3) or both
        self.random_fault_rate = 0.0
        self.random_slow_rate = 0.0
        self.slow_seconds = 2.0
        self.random = random.Random(1234)
        self.faults: deque[Fault] = deque()
        self.requests_log: list[dict[str, Any]] = []
        self._next_id = {"client": 1001, "invoice": 5001, "item": 90001, "payment": 70001, "contact": 40001}
        self._add_routes()

    def _add_routes(self) -> None:
        r = self.route
        r("GET", r"/api/v1/accounts/current", self.get_account)
        r("GET", r"/api/v1/settings", self.get_settings)
        r("GET", r"/api/v1/layouts", self.list_layouts)
        r("GET", r"/api/v1/stockitems", self.list_stockitems)
        r("GET", r"/api/v1/clients", self.list_clients)
        r("POST", r"/api/v1/clients", self.create_client)
        r("GET", r"/api/v1/clients/(?P<id>[^/]+)", self.get_client)
        r("GET", r"/api/v1/invoices", self.list_invoices)
        r("POST", r"/api/v1/invoices", self.create_invoice)
        r("GET", r"/api/v1/invoices/(?P<id>[^/]+)", self.get_invoice)
        r("POST", r"/api/v1/invoices/(?P<id>[^/]+)", self.post_invoice)
        r("GET", r"/api/v1/invoices/(?P<id>[^/]+)/items", self.list_items)
        r("GET", r"/api/v1/invoices/(?P<id>[^/]+)/payments", self.list_payments)
        r("POST", r"/api/v1/invoices/(?P<id>[^/]+)/payments", self.create_payment)
        r("POST", r"/api/v1/invoices/(?P<id>[^/]+)/sendemail", self.send_mail)
        r("POST", r"/api/v1/invoices/(?P<id>[^/]+)/send", self.send_multi)
        r("POST", r"/_sandbox/accounts", self.ctl_account)
        r("GET", r"/_sandbox/accounts/(?P<key>[^/]+)/invoices", self.ctl_invoices)
        r("GET", r"/_sandbox/accounts/(?P<key>[^/]+)/clients", self.ctl_clients)
        r("GET", r"/_sandbox/accounts/(?P<key>[^/]+)/mails", self.ctl_mails)
        r("GET", r"/_sandbox/accounts/(?P<key>[^/]+)/peppol", self.ctl_peppol_sent)
        r("POST", r"/_sandbox/accounts/(?P<key>[^/]+)/peppol", self.ctl_peppol_directory)
        r("POST", r"/_sandbox/quirks", self.ctl_quirks)
        r("POST", r"/_sandbox/faults", self.ctl_faults)
        r("GET", r"/_sandbox/requests", self.ctl_requests)

    # ------------------------------------------------------------------ plumbing
    def error(self, message: str, status: int = 400, **headers: str) -> Response:
        if self.http200_errors and status < 500 and status not in (401, 403, 429):
            return json_response({"code": status, "error": message}, 200, **headers)
        return json_response({"error": message}, status, **headers)

    def not_found(self, request: Request) -> Response:
        return json_response({"error": "not found"}, 404)

    def ok(self, body: Any, status: int = 200) -> Response:
        return json_response(self._stringify(body) if self.string_numbers else self._plain(body), status)

    def _plain(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return (
                float(value)
                if value != value.to_integral_value() or value.as_tuple().exponent < 0
                else int(value)
            )
        if isinstance(value, dict):
            return {k: self._plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._plain(v) for v in value]
        return value

    def _stringify(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self._stringify(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._stringify(v, key) for v in value]
        if isinstance(value, bool) or value is None or key in ALWAYS_NUMERIC:
            return self._plain(value)
        if isinstance(value, Decimal):
            return f"{value:.2f}" if value.as_tuple().exponent >= -2 else str(value)
        if isinstance(value, int):
            return str(value)
        return value

    def account_for(self, request: Request) -> Account:
        return self.accounts[request.header("x-api-key")]

    def before(self, request: Request) -> Response | None:
        early = self._gate(request)
        fault: Fault | None = request.extra.get("fault")
        if early is None and fault is not None and fault.slow_work:
            time.sleep(fault.slow_work)  # outside the lock: other requests go on meanwhile
        return early

    def _gate(self, request: Request) -> Response | None:
        if not request.path.startswith("/api/v1/"):
            return None
        with self.lock:
            self.requests_log.append(
                {"method": request.method, "path": request.path, "query": request.raw_query}
            )
            fault = self._take_fault(request)
            if fault is not None:
                if fault.status <= 0 or fault.after:
                    request.extra["fault"] = fault  # applied to the real answer in dispatch()
                else:
                    return self._fault_response(fault)
            key = request.header("x-api-key")
            account = self.accounts.get(key)
            if account is None:
                return json_response({"error": "authentication failed: invalid api key"}, 401)
            domain = request.path.split("/")[3]
            needed = RIGHTS_BY_DOMAIN.get(domain)
            if needed and needed not in account.rights:
                return json_response({"error": f"access denied: api key has no rights for {domain}"}, 403)
            accept = request.header("accept") + request.header("content-type") + (request.arg("format") or "")
            if "json" not in accept:
                return json_response({"error": "only json is served by this sandbox"}, 406)
            if request.method in ("POST", "PUT") and request.body:
                try:
                    request.json()
                except (ValueError, UnicodeDecodeError):
                    # EF answers a malformed body with HTTP 200 and an error object (spec §1.5).
                    return json_response({"code": 400, "error": "Syntax error"}, 200)
        return None

    def _take_fault(self, request: Request) -> Fault | None:
        for fault in list(self.faults):
            if fault.path and fault.path not in request.path:
                continue
            if fault.method and fault.method != request.method:
                continue
            self.faults.remove(fault)
            return fault
        if self.random_fault_rate and self.random.random() < self.random_fault_rate:
            return Fault(status=self.random.choice([429, 500, 502, 503]), retry_after=1)
        if self.random_slow_rate and self.random.random() < self.random_slow_rate:
            return Fault(status=0, delay=self.slow_seconds)  # slow, then the real answer
        return None

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        body = {"error": "too many requests"} if fault.status == 429 else {"error": "internal server error"}
        return Response(status=fault.status, body=body, headers=headers, delay=fault.delay, drop=fault.drop)

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        fault: Fault | None = request.extra.get("fault")
        if fault is None:
            return response
        if fault.after and 200 <= response.status < 300:
            # The work is done (e.g. the invoice exists) but the caller never hears so.
            return self._fault_response(fault)
        response.delay = max(response.delay, fault.delay)
        return response

    # ------------------------------------------------------------------ account, settings, layouts
    def get_account(self, request: Request) -> Response:
        account = self.account_for(request)
        return self.ok(
            {
                "account_id": 1,
                "number": account.number,
                "name": account.name,
                "company_name": account.name,
                "country": "BE",
                "language": "dutch",
                "uri": f"{self.base_url}/api/v1/accounts/current",
            }
        )

    def get_settings(self, request: Request) -> Response:
        account = self.account_for(request)
        codes = [
            {
                "rate": rate,
                "name": f"BTW {rate}%",
                "tax_category": n,
                "exemption_reason_code": None,
                "note": None,
            }
            for n, rate in enumerate(account.rates, start=1)
        ] + [
            {"rate": 0, "name": name, "tax_category": 0, "exemption_reason_code": code, "note": None}
            for code, name in (
                ("MC", "MC - Medecontractant"),
                ("ICD", "ICD - Intracommunautaire diensten"),
                ("ICL", "ICL - Intracommunautaire levering goederen"),
            )
        ]
        taxes: dict[str, Any] = {"default_tax_category": 1, "use_taxes": "yes"}
        if self.settings_shape in ("both", "codes"):
            taxes["codes"] = codes
        if self.settings_shape in ("both", "tax_n"):
            for n, rate in enumerate(account.rates[:3], start=1):
                taxes[f"tax{n}"] = {"rate": rate}
        body = {"uri": f"{self.base_url}/api/v1/settings", "taxes": taxes}
        if request.arg("fields") is None:
            body["use_empty_stock"] = "no"
        return self.ok(body)

    def list_layouts(self, request: Request) -> Response:
        return self.ok(copy.deepcopy(self.account_for(request).layouts))

    def list_stockitems(self, request: Request) -> Response:
        return self.ok([])

    # ------------------------------------------------------------------ listing helpers
    def _listing(self, request: Request, rows: list[dict[str, Any]]) -> Response:
        try:
            rows = [row for row in rows if self._matches(row, request.arg("filter") or "")]
        except ValidationFailed as exc:
            return self.error(exc.message)
        term = (request.arg("search") or "").lower()
        if term:
            rows = [
                row for row in rows if any(term in str(v).lower() for v in row.values() if isinstance(v, str))
            ]
        sort = request.arg("sort") or ""
        for key in reversed([k for k in sort.replace(" ", "+").split("+") if k]):
            field_name = key.lstrip("-")
            rows.sort(key=lambda row, f=field_name: str(row.get(f, "")), reverse=key.startswith("-"))
        skip = int(request.arg("skip") or 0)
        take = request.arg("take")
        rows = rows[skip : skip + min(100, int(take))] if take is not None else rows[skip:]
        fields = [f for f in (request.arg("fields") or "").split(",") if f]
        if fields:
            rows = [{k: v for k, v in row.items() if k in fields} for row in rows]
        return self.ok(copy.deepcopy(rows))

    def _matches(self, row: dict[str, Any], expression: str) -> bool:
        for clause in [c for c in expression.split(",") if c]:
            word = re.fullmatch(r"([a-z_0-9]+)__([a-z]+)__(.*)", clause)
            if word:
                name, op, value = word.group(1), WORD_OPS.get(word.group(2)), word.group(3)
                if op is None:
                    raise ValidationFailed(f"filter operator {word.group(2)} unknown")
            else:
                for candidate in FILTER_OPS:
                    if candidate in clause:
                        name, value = clause.split(candidate, 1)
                        op = candidate
                        break
                else:
                    raise ValidationFailed("filter invalid")
            if not self._compare(row.get(name), op, value):
                return False
        return True

    def _compare(self, actual: Any, op: str, value: str) -> bool:
        left = "" if actual is None else str(self._plain(actual))
        right = value
        if not self.filter_case_sensitive or op == "=~":
            left, right = left.lower(), right.lower()
        if op == "=":
            return left == right
        if op == "!=":
            return left != right
        if op == "=~":
            return right in left
        try:
            a, b = to_decimal(left), to_decimal(right)
        except (InvalidOperation, ValueError):
            a, b = left, right  # dates compare as text
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]

    # ------------------------------------------------------------------ clients
    def list_clients(self, request: Request) -> Response:
        with self.lock:
            return self._listing(request, list(self.account_for(request).clients.values()))

    def get_client(self, request: Request) -> Response:
        with self.lock:
            client = self.account_for(request).clients.get(self._int(request.params["id"]))
            if client is None:
                return self.error("client_id unknown", 404)
            return self.ok(copy.deepcopy(client))

    def create_client(self, request: Request) -> Response:
        body = request.json() or {}
        if not isinstance(body, dict):
            return self.error("invalid data")
        limits = {"name": 75, "attention": 100, "street": 150, "street2": 150, "city": 50, "postal_code": 10}
        limits.update({"tax_code": 75, "external_client_id": 50, "phone_number": 50, "email_address": 125})
        if not str(body.get("name") or "").strip():
            return self.error("name is required")
        for name, limit in limits.items():
            if len(str(body.get(name) or "")) > limit:
                return self.error(f"{name} too long")
        code = str(body.get("country_code") or "")
        if code and not re.fullmatch(r"[A-Z]{2}", code):
            return self.error("country_code invalid")
        with self.lock:
            client_id = self._id("client")
            client = {"client_id": client_id, "uri": f"{self.base_url}/api/v1/clients/{client_id}"}
            for name in CLIENT_TEXT_FIELDS:
                client[name] = str(body.get(name) or "")
            client.update({"number": str(client_id - 1000), "state": "active", "delivery_address": None})
            client["contacts"] = [
                {
                    "contact_id": self._id("contact"),
                    "contact_name": str(c.get("contact_name") or ""),
                    "email_address": str(c.get("email_address") or ""),
                    "phone_number": str(c.get("phone_number") or ""),
                }
                for c in body.get("contacts") or []
            ]
            self.account_for(request).clients[client_id] = client
        return self.ok({"success": "client created", "client_id": client_id, "uri": client["uri"]}, 201)

    # ------------------------------------------------------------------ invoices
    def list_invoices(self, request: Request) -> Response:
        with self.lock:
            return self._listing(request, list(self.account_for(request).invoices.values()))

    def get_invoice(self, request: Request) -> Response:
        with self.lock:
            invoice = self.account_for(request).invoices.get(self._int(request.params["id"]))
            if invoice is None:
                return self.error("invoice_id unknown", 404)
            if request.arg("format") == "pdf":  # spec: a PDF byte stream with its file name
                return self._pdf(str(invoice.get("number") or invoice["invoice_id"]))
            return self.ok({k: v for k, v in copy.deepcopy(invoice).items() if not k.startswith("_")})

    @staticmethod
    def _pdf(number: str) -> Response:
        body = (
            b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n% invoice "
            + number.encode()
            + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"
        )
        return Response(
            status=200,
            body=body,
            content_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'},
        )

    def create_invoice(self, request: Request) -> Response:
        body = request.json() or {}
        with self.lock:
            account = self.account_for(request)
            try:
                invoice = self._build_invoice(account, body)
            except ValidationFailed as exc:
                return self.error(exc.message, exc.status)
            account.invoices[invoice["invoice_id"]] = invoice
        return self.ok(
            {"success": "invoice created", "invoice_id": invoice["invoice_id"], "uri": invoice["uri"]}, 201
        )

    def _invoice_or_error(self, request: Request) -> dict[str, Any] | Response:
        invoice = self.account_for(request).invoices.get(self._int(request.params["id"]))
        return invoice if invoice is not None else self.error("invoice_id unknown", 404)

    def post_invoice(self, request: Request) -> Response:
        if request.has_arg("send_mail"):
            return self.send_mail(request)
        body = request.json() or {}
        with self.lock:
            invoice = self._invoice_or_error(request)
            if isinstance(invoice, Response):
                return invoice
            for name in ("reference", "note", "days_due"):
                if name in body:
                    invoice[name] = body[name]
        return self.ok({"success": "invoice updated"})

    def list_items(self, request: Request) -> Response:
        with self.lock:
            invoice = self._invoice_or_error(request)
            return invoice if isinstance(invoice, Response) else self.ok(copy.deepcopy(invoice["items"]))

    def list_payments(self, request: Request) -> Response:
        with self.lock:
            invoice = self._invoice_or_error(request)
            return invoice if isinstance(invoice, Response) else self.ok(copy.deepcopy(invoice["payments"]))

    def create_payment(self, request: Request) -> Response:
        with self.lock:
            invoice = self._invoice_or_error(request)
            if isinstance(invoice, Response):
                return invoice
            try:
                payment = self._add_payment(invoice, request.json() or {})
            except ValidationFailed as exc:
                return self.error(exc.message, exc.status)
        return self.ok(
            {"success": "payment created", "payment_id": payment["payment_id"], "uri": payment["uri"]}, 201
        )

    def send_mail(self, request: Request) -> Response:
        body = request.json() or {}
        recipient = str(body.get("recipient") or "")
        recipients = [recipient] if recipient else [str(r) for r in body.get("recipients") or []]
        return self._send(request, recipients, body)

    def send_multi(self, request: Request) -> Response:
        """`/send` with `methods`: `peppol` delivers over Peppol (or says why not), `email` mails it."""
        body = request.json() or {}
        methods = (body.get("methods") or {}) if isinstance(body, dict) else {}
        if not isinstance(methods, dict) or not methods:
            return self.error("methods is required")
        if "peppol" in methods:
            refused = self._send_peppol(request)
            if refused is not None:
                return refused
        email = methods.get("email")
        if email is None:
            return self.ok({"success": "invoice sent", "methods": {"peppol": "sent"}})
        return self._send(request, [str((email or {}).get("recipient") or "")], body)

    def _send_peppol(self, request: Request) -> Response | None:
        with self.lock:
            account = self.account_for(request)
            invoice = self._invoice_or_error(request)
            if isinstance(invoice, Response):
                return invoice
            client = account.clients[invoice["client_id"]]
            reach = peppol_reachability(account, client)
            if reach["status"] == PeppolReachability.NOT_REGISTERED:
                return self.error("client is not registered on the Peppol network")
            problems = peppol_rule_violations({**invoice, "_client_country": client.get("country_code")})
            if reach["status"] == PeppolReachability.REJECTED:
                problems.append(
                    reach.get("message") or "[PEPPOL-EN16931-R001]-Business process MUST be provided."
                )
            if problems:
                return self.error("peppol document rejected: " + " ".join(problems))
            event = {"type": "peppol", "recipients": [compact_vat(str(client.get("tax_code") or ""))]}
            invoice["events"].append({**event, "date": date.today().isoformat()})
            account.peppol_sent.append(
                {
                    "invoice_id": invoice["invoice_id"],
                    "document": invoice["type"],
                    "number": invoice["number"],
                    **event,
                }
            )
        return None

    def _send(self, request: Request, recipients: list[str], body: Any) -> Response:
        with self.lock:
            account = self.account_for(request)
            invoice = self._invoice_or_error(request)
            if isinstance(invoice, Response):
                return invoice
            if not recipients or not all(recipients):
                return self.error("recipient is required")
            client = account.clients[invoice["client_id"]]
            resolved = []
            for value in recipients:
                if value in ("main_contact", "first_contact", "all_contacts"):
                    resolved.append(client["email_address"])
                elif value == "myself":
                    resolved.append("account@sandbox.example")
                else:
                    resolved.append(value)
            if not all(resolved):
                return self.error("recipient is required")
            event = {"type": "email", "recipients": resolved, "date": date.today().isoformat()}
            invoice["events"].append(event)
            invoice["tags"].append({"name": "@sent"})
            account.mails.append({"invoice_id": invoice["invoice_id"], **event})
        return self.ok({"success": "mail sent"})

    # ------------------------------------------------------------------ test controls
    def ctl_account(self, request: Request) -> Response:
        body = request.json() or {}
        key = str(body.get("api_key") or "")
        if not key:
            return json_response({"error": "api_key is required"}, 400)
        with self.lock:
            existing = self.accounts.get(key)
            account = Account(
                api_key=key,
                number=str(body.get("number") or f"C{len(self.accounts) + 1:08d}"),
                name=str(body.get("name") or "Sandbox account"),
                rates=[to_decimal(r) for r in body.get("rates", [21, 12, 6]) if to_decimal(r) != 0],
                layouts=body.get("layouts") or [{"layout_id": 8001, "name": "Standaard"}],
                rights=set(body.get("rights") or ALL_RIGHTS),
                days_due_default=int(body.get("days_due_default", 15)),
            )
            if existing is not None and not body.get("reset"):
                account.clients, account.invoices, account.mails = (
                    existing.clients,
                    existing.invoices,
                    existing.mails,
                )
                account.peppol_directory, account.peppol_sent = (
                    existing.peppol_directory,
                    existing.peppol_sent,
                )
            self.accounts[key] = account
        return json_response({"ok": True, "number": account.number}, 201)

    def ctl_invoices(self, request: Request) -> Response:
        with self.lock:
            account = self.accounts.get(request.params["key"])
            if account is None:
                return json_response({"error": "no such account"}, 404)
            rows = []
            for invoice in account.invoices.values():
                row = self._plain(copy.deepcopy(invoice))
                row["totals_by_rate"] = row.pop("_totals_by_rate")
                rows.append(row)
            return json_response(rows)

    def ctl_clients(self, request: Request) -> Response:
        with self.lock:
            account = self.accounts.get(request.params["key"])
            if account is None:
                return json_response({"error": "no such account"}, 404)
            return json_response(self._plain(list(account.clients.values())))

    def ctl_mails(self, request: Request) -> Response:
        with self.lock:
            account = self.accounts.get(request.params["key"])
            return json_response(account.mails if account else [])

    def ctl_peppol_sent(self, request: Request) -> Response:
        with self.lock:
            account = self.accounts.get(request.params["key"])
            return json_response(account.peppol_sent if account else [])

    def ctl_peppol_directory(self, request: Request) -> Response:
        """`{"tax_code": "BE0…", "status": "reachable|not_registered|rejected", "message": "[BR-…] …"}`"""
        body = request.json() or {}
        status = str(body.get("status") or "")
        if status not in PeppolReachability.ALL or not body.get("tax_code"):
            return json_response({"error": f"tax_code and status ({', '.join(PeppolReachability.ALL)})"}, 400)
        with self.lock:
            account = self.accounts.get(request.params["key"])
            if account is None:
                return json_response({"error": "no such account"}, 404)
            entry = {"status": status, "message": str(body.get("message") or "")}
            account.peppol_directory[compact_vat(str(body["tax_code"]))] = entry
        return json_response({"ok": True})

    def ctl_quirks(self, request: Request) -> Response:
        body = request.json() or {}
        if "seed" in body:
            with self.lock:
                self.random = random.Random(body["seed"])
        return self.configure(body, QUIRKS)

    def ctl_faults(self, request: Request) -> Response:
        body = request.json() or {}
        specs = body if isinstance(body, list) else [body]
        with self.lock:
            for spec in specs:
                count = int(spec.pop("count", 1))
                for _ in range(count):
                    self.faults.append(Fault(**spec))
        return json_response({"queued": len(self.faults)})

    def ctl_requests(self, request: Request) -> Response:
        with self.lock:
            return json_response(list(self.requests_log))
