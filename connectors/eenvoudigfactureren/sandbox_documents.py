"""The EF sandbox's document rules: how an invoice or credit note is validated, numbered and totalled
(`tax_calculation`, `tax_included`, per-rate VAT), and how a payment lands on it. Mixed into the sandbox,
which keeps the HTTP routes.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .sandbox_state import SIX, SPECIAL_STATUSES, Account, ValidationFailed, money, to_decimal


class DocumentRules:
    base_url: str
    _next_id: dict[str, int]

    def _id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] += 1
        return value

    @staticmethod
    def _int(value: str) -> int:
        return int(value) if value.isdigit() else -1

    def _build_invoice(self, account: Account, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ValidationFailed("invalid data")
        client_id = body.get("client_id")
        if client_id in (None, ""):
            raise ValidationFailed("client_id is required")
        client = account.clients.get(self._int(str(client_id)))
        if client is None:
            raise ValidationFailed("client_id unknown", 404)
        items_in = body.get("items")
        if not items_in:
            raise ValidationFailed("items cannot be empty")
        external = str(body.get("external_invoice_id") or "")
        if len(external) > 50:
            raise ValidationFailed("external_invoice_id too long")
        tax_included = body.get("tax_included") in (True, "yes", "true", 1, "1")
        calculation = str(body.get("tax_calculation") or "total")
        if calculation not in ("total", "item"):
            raise ValidationFailed("tax_calculation invalid")
        allowed_rates = set(account.rates) | {Decimal(0)}
        items = [self._build_item(raw, tax_included, allowed_rates) for raw in items_in]
        number = str(body.get("number") or "")
        invoice_date = str(body.get("date") or date.today().isoformat())
        try:
            date.fromisoformat(invoice_date)
        except ValueError:
            raise ValidationFailed("date invalid") from None
        if number and any(inv["number"] == number for inv in account.invoices.values()):
            raise ValidationFailed("number not unique")
        if not number:
            number = self._next_number(account, invoice_date[:4])
        layout_id = body.get("layout_id")
        if layout_id not in (None, "") and not any(
            str(layout["layout_id"]) == str(layout_id) for layout in account.layouts
        ):
            raise ValidationFailed("layout_id unknown", 404)
        totals = self._totals(items, tax_included, calculation, account)
        invoice_id = self._id("invoice")
        invoice: dict[str, Any] = {
            "invoice_id": invoice_id,
            "uri": f"{self.base_url}/api/v1/invoices/{invoice_id}",
            "external_invoice_id": external,
            "client_id": client["client_id"],
            "client_uri": client["uri"],
            "client_name": str(body.get("client_name") or client["name"]),
            "client_attention": str(body.get("client_attention") or client["attention"]),
            "type": "invoice" if totals["total_with_tax"] >= 0 else "creditnote",
            "number": number,
            "reference": str(body.get("reference") or ""),
            "layout_id": int(layout_id) if layout_id not in (None, "") else None,
            "date": invoice_date,
            "date_delivery": str(body.get("date_delivery") or invoice_date),
            "days_due": int(body["days_due"])
            if body.get("days_due") is not None
            else account.days_due_default,
            "currency": str(body.get("currency") or "EUR"),
            "language": str(body.get("language") or "dutch"),
            "tax_included": "yes" if tax_included else "no",
            "tax_calculation": calculation,
            "status": "open",
            "items": items,
            "payments": [],
            "events": [],
            "tags": [],
            "remarks": [],
            "note": str(body.get("note") or ""),
            **{k: v for k, v in totals.items() if not k.startswith("_")},
            "total_paid": Decimal("0.00"),
            "_totals_by_rate": totals["_by_rate"],
        }
        for payment in body.get("payments") or []:
            self._add_payment(invoice, payment)
        return invoice

    def _build_item(self, raw: Any, tax_included: bool, allowed_rates: set[Decimal]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise ValidationFailed("items invalid")
        description = str(raw.get("description") or "").strip()
        if not description:
            raise ValidationFailed("description is required")
        try:
            rate = to_decimal(raw.get("tax_rate") or 0)
            quantity = to_decimal(raw.get("quantity") if raw.get("quantity") not in (None, "") else 1)
            gross = (
                to_decimal(raw["amount_with_tax"]) if raw.get("amount_with_tax") not in (None, "") else None
            )
            net = to_decimal(raw["amount"]) if raw.get("amount") not in (None, "") else None
        except (InvalidOperation, ValueError):
            raise ValidationFailed("amount invalid") from None
        if rate.normalize() not in {r.normalize() for r in allowed_rates}:
            raise ValidationFailed("tax_rate invalid")
        special = str(raw.get("tax_rate_special_status") or "")
        if special and rate != 0:
            raise ValidationFailed("tax_rate_special_status only allowed with tax_rate 0")
        if special and special not in SPECIAL_STATUSES:
            raise ValidationFailed("tax_rate_special_status invalid")
        if gross is not None and (tax_included or net is None):
            net = (gross / (1 + rate / 100)).quantize(SIX, rounding=ROUND_HALF_UP)
        elif net is None:
            raise ValidationFailed("amount is required")
        else:
            gross = None
        if money(net) == 0 and (gross is None or money(gross) == 0):
            raise ValidationFailed("amount can not be 0.00")
        if abs(net) > Decimal("9999999.99"):
            raise ValidationFailed("amount too large")
        line_net = money(net * quantity)
        line_gross = money(gross * quantity) if gross is not None else money(line_net * (1 + rate / 100))
        return {
            "item_id": self._id("item"),
            "description": description,
            "amount": net,
            "quantity": quantity,
            "tax_rate": rate,
            "tax_rate_special_status": special or None,
            "total_without_tax": line_net,
            "total_with_tax": line_gross,
            "_gross_given": gross is not None,
        }

    @staticmethod
    def _totals(
        items: list[dict[str, Any]], tax_included: bool, calculation: str, account: Account
    ) -> dict[str, Any]:
        by_rate: dict[str, dict[str, Decimal]] = {}
        for rate in sorted({item["tax_rate"] for item in items}):
            lines = [item for item in items if item["tax_rate"] == rate]
            if calculation == "item":
                vat = sum((money(i["total_with_tax"] - i["total_without_tax"]) for i in lines), Decimal(0))
                base = sum((i["total_without_tax"] for i in lines), Decimal(0))
            elif tax_included:
                gross = sum((i["total_with_tax"] for i in lines), Decimal(0))
                vat = money(gross * rate / (100 + rate))
                base = gross - vat
            else:
                base = sum((i["total_without_tax"] for i in lines), Decimal(0))
                vat = money(base * rate / 100)
            by_rate[str(rate.normalize())] = {"base": money(base), "vat": money(vat)}
        for item in items:
            item.pop("_gross_given", None)
        totals: dict[str, Any] = {
            "total_without_tax": sum((r["base"] for r in by_rate.values()), Decimal("0.00")),
            "total_with_tax": sum((r["base"] + r["vat"] for r in by_rate.values()), Decimal("0.00")),
            "discount_total_without_tax": Decimal("0.00"),
            "_by_rate": by_rate,
        }
        for n in (1, 2, 3):
            rate = account.rates[n - 1] if len(account.rates) >= n else Decimal(0)
            totals[f"tax_rate_{n}"] = rate
            totals[f"total_tax_{n}"] = by_rate.get(str(rate.normalize()), {}).get("vat", Decimal("0.00"))
        return totals

    @staticmethod
    def _next_number(account: Account, year: str) -> str:
        taken = {inv["number"] for inv in account.invoices.values()}
        sequence = 1 + sum(1 for n in taken if n.startswith(f"{year}-"))
        while f"{year}-{sequence:05d}" in taken:
            sequence += 1
        return f"{year}-{sequence:05d}"

    def _add_payment(self, invoice: dict[str, Any], raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise ValidationFailed("payments invalid")
        open_amount = invoice["total_with_tax"] - invoice["total_paid"]
        if str(raw.get("remaining_amount") or "") == "yes":
            amount = open_amount
        elif raw.get("amount") not in (None, ""):
            amount = money(to_decimal(raw["amount"]))
        else:
            raise ValidationFailed("amount is required")
        if amount == 0:
            raise ValidationFailed("amount can not be 0.00")
        payment_id = self._id("payment")
        payment = {
            "payment_id": payment_id,
            "uri": f"{invoice['uri']}/payments/{payment_id}",
            "date": str(raw.get("date") or date.today().isoformat()),
            "amount": amount,
            "description": str(raw.get("description") or ""),
            "method": str(raw.get("method") or ""),
        }
        invoice["payments"].append(payment)
        invoice["total_paid"] += amount
        invoice["status"] = "closed" if invoice["total_paid"] >= invoice["total_with_tax"] else "open"
        return payment
