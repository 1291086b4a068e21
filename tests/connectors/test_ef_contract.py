"""EenvoudigFactureren client against the EF sandbox, over loopback HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from connectors.eenvoudigfactureren.client import EfClient
from connectors.errors import AuthenticationError, NotFoundError, PermanentError, TransientError
from tests.conftest import control

KEY = "ef-key-contract"


@pytest.fixture
def ef(sandboxes):
    control(sandboxes.ef.url, "accounts", {"api_key": KEY, "name": "Koffie BV", "rates": [21, 12, 6]})
    return EfClient(api_key=KEY)


def new_client(ef: EfClient, email: str = "An.Peeters@example.be") -> int:
    return ef.client_create(
        {"name": "An Peeters", "email_address": email, "country_code": "BE", "street": "Kerkstraat 12"}
    )


def invoice_payload(client_id: int, **extra) -> dict:
    return {
        "client_id": client_id,
        "days_due": 14,
        "reference": "K3M7Q",
        "tax_included": True,
        "items": [
            {"description": "Koffie", "amount_with_tax": "24.20", "quantity": 2, "tax_rate": 21},
            {"description": "Boek", "amount_with_tax": "21.20", "quantity": 1, "tax_rate": 6},
        ],
        **extra,
    }


def test_account_rates_and_layouts(ef):
    assert ef.account_current().name == "Koffie BV"
    assert ef.tax_rates() == [Decimal(0), Decimal(6), Decimal(12), Decimal(21)]
    assert ef.layouts() == [{"layout_id": 8001, "name": "Standaard"}]


@pytest.mark.parametrize("shape", ["codes", "tax_n"])
def test_rates_are_read_from_either_settings_shape(sandboxes, ef, shape):
    control(sandboxes.ef.url, "quirks", {"settings_shape": shape})
    rates = ef.tax_rates()
    assert {Decimal(6), Decimal(12), Decimal(21)} <= set(rates)
    assert (Decimal(0) in rates) is (shape == "codes")


def test_a_wrong_key_is_an_authentication_error(sandboxes):
    with pytest.raises(AuthenticationError) as excinfo:
        EfClient(api_key="nope").account_current()
    assert excinfo.value.status == 401


def test_missing_rights_are_named(sandboxes):
    control(sandboxes.ef.url, "accounts", {"api_key": "limited", "rights": ["invoices", "clients"]})
    assert EfClient(api_key="limited").missing_rights() == ["Items", "Layouts"]


def test_client_is_found_by_email_case_insensitively(ef):
    client_id = new_client(ef)
    new_client(ef, "someone.else@example.be")
    found = ef.client_find_by_email("an.peeters@EXAMPLE.be")
    assert found is not None and int(found["client_id"]) == client_id
    assert ef.client_find_by_email("an.peeters@example.b") is None
    assert ef.client_find_by_email("") is None


def test_invoice_number_is_learned_by_reading_back(sandboxes, ef):
    client_id = new_client(ef)
    invoice_id = ef.invoice_create(invoice_payload(client_id, external_invoice_id="lic1-K3M7Q"))
    created = sandboxes.ef_app.accounts[KEY].invoices[invoice_id]
    invoice = ef.invoice_get(invoice_id)
    assert invoice["number"] == created["number"]
    assert invoice["number"].endswith("-00001")
    assert Decimal(str(invoice["total_with_tax"])) == Decimal("69.60")
    assert ef.invoice_find_by_external_id("lic1-K3M7Q")["invoice_id"] == invoice_id
    assert ef.invoice_find_by_external_id("lic1-OTHER") is None


def test_totals_per_rate_follow_tax_calculation_total(sandboxes, ef):
    client_id = new_client(ef)
    ef.invoice_create(invoice_payload(client_id))
    [row] = control(sandboxes.ef.url, f"accounts/{KEY}/invoices", method="GET")
    assert row["totals_by_rate"] == {"21": {"base": 40.0, "vat": 8.4}, "6": {"base": 20.0, "vat": 1.2}}


@pytest.mark.parametrize(
    ("change", "message", "error_type"),
    [
        ({"items": []}, "items cannot be empty", PermanentError),
        ({"client_id": 999999}, "client_id unknown", NotFoundError),
        ({"client_id": None}, "client_id is required", PermanentError),
        ({"items": [{"description": "x", "amount": 10, "tax_rate": 9}]}, "tax_rate invalid", PermanentError),
        (
            {"items": [{"description": "x", "amount": 0, "tax_rate": 21}]},
            "amount can not be 0.00",
            PermanentError,
        ),
        ({"items": [{"amount": 10, "tax_rate": 21}]}, "description is required", PermanentError),
    ],
)
def test_validation_errors_keep_efs_message(ef, change, message, error_type):
    payload = {**invoice_payload(new_client(ef)), **change}
    with pytest.raises(error_type) as excinfo:
        ef.invoice_create(payload)
    assert excinfo.value.message == message


def test_a_duplicate_number_is_refused(ef):
    client_id = new_client(ef)
    ef.invoice_create(invoice_payload(client_id, number="WEB-1"))
    with pytest.raises(PermanentError, match="number not unique"):
        ef.invoice_create(invoice_payload(client_id, number="WEB-1"))


def test_http_200_with_an_error_body_is_a_failure(sandboxes, ef):
    control(sandboxes.ef.url, "quirks", {"http200_errors": True})
    with pytest.raises(PermanentError) as excinfo:
        ef.invoice_create(invoice_payload(new_client(ef), items=[]))
    assert excinfo.value.status == 200
    assert excinfo.value.message == "items cannot be empty"


def test_malformed_json_gets_efs_http_200_syntax_error(sandboxes):
    control(sandboxes.ef.url, "accounts", {"api_key": KEY})
    response = requests.post(
        f"{sandboxes.ef.url}/api/v1/invoices",
        data=b"{not json",
        headers={"X-API-Key": KEY, "Accept": "application/json", "Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json() == {"code": 400, "error": "Syntax error"}


def test_string_typed_numbers_are_read_as_ints_and_decimals(sandboxes, ef):
    control(sandboxes.ef.url, "quirks", {"string_numbers": True})
    client_id = new_client(ef)
    assert isinstance(client_id, int)
    invoice_id = ef.invoice_create(invoice_payload(client_id))
    assert isinstance(invoice_id, int)
    invoice = ef.invoice_get(invoice_id)
    assert invoice["total_with_tax"] == "69.60"
    found = ef.client_find_by_email("an.peeters@example.be")
    assert found["client_id"] == str(client_id)


def test_429_is_transient_with_retry_after(sandboxes, ef):
    control(sandboxes.ef.url, "faults", {"status": 429, "retry_after": 7})
    with pytest.raises(TransientError) as excinfo:
        ef.account_current()
    assert excinfo.value.retry_after == 7
    assert ef.account_current().name == "Koffie BV"


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 503}, {"status": 502, "drop": True}])
def test_server_errors_and_dropped_connections_are_transient(sandboxes, ef, fault):
    control(sandboxes.ef.url, "faults", fault)
    with pytest.raises(TransientError):
        ef.layouts()


def test_a_slow_answer_beyond_the_read_timeout_is_transient(sandboxes, ef, settings):
    settings.HTTP_READ_TIMEOUT = 0.2
    control(sandboxes.ef.url, "faults", {"status": 0, "delay": 0.6})
    with pytest.raises(TransientError, match="timeout"):
        EfClient(api_key=KEY).account_current()


def test_an_invoice_created_whose_answer_is_lost_can_be_found_again(sandboxes, ef):
    client_id = new_client(ef)
    control(
        sandboxes.ef.url,
        "faults",
        {"status": 502, "drop": True, "after": True, "path": "/invoices", "method": "POST"},
    )
    with pytest.raises(TransientError):
        ef.invoice_create(invoice_payload(client_id, external_invoice_id="lic1-LOST"))
    assert ef.invoice_find_by_external_id("lic1-LOST") is not None


def test_send_by_email_and_register_payment(sandboxes, ef):
    invoice_id = ef.invoice_create(invoice_payload(new_client(ef)))
    ef.invoice_send_email(invoice_id)
    ef.invoice_payment_register(invoice_id, description="Bancontact")
    invoice = ef.invoice_get(invoice_id)
    assert invoice["status"] == "closed"
    assert Decimal(str(invoice["total_paid"])) == Decimal("69.60")
    mails = control(sandboxes.ef.url, f"accounts/{KEY}/mails", method="GET")
    assert mails[0]["recipients"] == ["An.Peeters@example.be"]


def test_unknown_routes_answer_404(sandboxes, ef):
    with pytest.raises(NotFoundError):
        ef._call("GET", "creditnotes")


def test_random_faults_at_a_configured_rate(sandboxes, ef):
    control(sandboxes.ef.url, "quirks", {"random_fault_rate": 0.5, "seed": 7})
    outcomes = []
    for _ in range(40):
        try:
            ef.layouts()
            outcomes.append("ok")
        except TransientError:
            outcomes.append("transient")
    assert 8 <= outcomes.count("transient") <= 32
    assert "ok" in outcomes


def business_client(ef: EfClient, tax_code: str = "BE0499944136") -> int:
    return ef.client_create(
        {
            "name": "De Linde BV",
            "email_address": "admin@delinde.example",
            "country_code": "BE",
            "tax_code": tax_code,
        }
    )


def peppol_sent(sandboxes) -> list[dict]:
    return control(sandboxes.ef.url, f"accounts/{KEY}/peppol", method="GET")


def test_peppol_send_reaches_a_registered_customer_and_is_on_the_invoice(sandboxes, ef):
    invoice_id = ef.invoice_create(invoice_payload(business_client(ef)))
    ef.invoice_send_peppol(invoice_id)
    [sent] = peppol_sent(sandboxes)
    assert sent["invoice_id"] == invoice_id and sent["document"] == "invoice"
    assert [event["type"] for event in ef.invoice_get(invoice_id)["events"]] == ["peppol"]


def test_peppol_send_to_a_customer_not_on_peppol_is_refused_with_a_reason(sandboxes, ef):
    invoice_id = ef.invoice_create(invoice_payload(new_client(ef)))  # a consumer: no VAT number
    with pytest.raises(PermanentError, match="not registered on the Peppol network"):
        ef.invoice_send_peppol(invoice_id)
    assert peppol_sent(sandboxes) == []


def test_peppol_rules_are_enforced_negative_prices_and_rejections(sandboxes, ef):
    client_id = business_client(ef)
    negative = invoice_payload(client_id)
    negative["items"].append(
        {"description": "Korting", "amount_with_tax": "-5.00", "quantity": 1, "tax_rate": 21}
    )
    invoice_id = ef.invoice_create(negative)
    with pytest.raises(PermanentError, match="BR-27"):
        ef.invoice_send_peppol(invoice_id)
    control(
        sandboxes.ef.url,
        f"accounts/{KEY}/peppol",
        {"tax_code": "BE 0499.944.136", "status": "rejected", "message": "[BR-CO-15]-Totals do not add up."},
    )
    with pytest.raises(PermanentError, match="BR-CO-15"):
        ef.invoice_send_peppol(ef.invoice_create(invoice_payload(client_id)))


def test_a_negative_total_is_a_credit_note(sandboxes, ef):
    client_id = new_client(ef)
    payload = invoice_payload(client_id)
    for item in payload["items"]:
        item["quantity"] = -item["quantity"]
    credit = ef.invoice_get(ef.invoice_create(payload))
    assert credit["type"] == "creditnote" and Decimal(str(credit["total_with_tax"])) == Decimal("-69.60")
