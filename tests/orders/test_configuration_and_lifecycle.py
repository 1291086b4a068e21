"""Configuration options change the EF payload as documented; deletes, uninstalls, auth failures, actions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from licenses.models import ConnectionStatus, Licence, LicenceState
from licenses.services import connection_ok
from orders.actions import order_ignore, order_process_again
from orders.models import Order, OrderState
from orders.sweep import orders_sweep, pipeline_tick
from orders.sync import licence_orders_resume
from tests.conftest import control, order_fixture

pytestmark = pytest.mark.django_db(transaction=True)


def invoiced(pipeline, licence, case):
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.HANDLED, (order.state, order.error_message, order.state_reason)
    [invoice] = pipeline.ef_invoices(licence)
    return order, invoice


def test_order_number_as_invoice_number(pipeline):
    case = order_fixture("a04")
    _, invoice = invoiced(pipeline, pipeline.licence(case, use_order_number=True), case)
    assert invoice["number"] == "SJ-W4CZL-W"


def test_reference_template(pipeline):
    case = order_fixture("a01")
    _, invoice = invoiced(
        pipeline,
        pipeline.licence(case, reference_template="Bestelling {order_number} / {shop_invoice_number}"),
        case,
    )
    assert invoice["reference"] == "Bestelling K3M7Q / 2025-0112"


def test_layout(pipeline):
    case = order_fixture("a01")
    _, invoice = invoiced(pipeline, pipeline.licence(case, ef_layout_id=8001), case)
    assert invoice["layout_id"] == 8001


def test_amounts_excluding_vat(pipeline):
    case = order_fixture("a01")
    _, invoice = invoiced(pipeline, pipeline.licence(case, amounts="excl"), case)
    assert invoice["tax_included"] == "no"
    assert abs(Decimal(str(invoice["total_with_tax"])) - Decimal("100.13")) <= Decimal("0.03")


def test_default_amounts_follow_the_shop(pipeline):
    gross, net = order_fixture("a01"), order_fixture("a03")
    assert invoiced(pipeline, pipeline.licence(gross), gross)[1]["tax_included"] == "yes"
    assert invoiced(pipeline, pipeline.licence(net), net)[1]["tax_included"] == "no"


def test_auto_send_and_payment_registration(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case, send_invoice_email=True, register_payment=True)
    order, invoice = invoiced(pipeline, licence, case)
    assert invoice["status"] == "closed"
    assert invoice["payments"][0]["description"] == "Bancontact"
    mails = control(pipeline.sandboxes.ef.url, f"accounts/{licence.ef_api_key}/mails", method="GET")
    assert mails[0]["recipients"] == ["lotte.claes@example.be"]


def test_without_those_options_nothing_is_sent_or_paid(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    _, invoice = invoiced(pipeline, licence, case)
    assert invoice["status"] == "open" and invoice["payments"] == []
    assert control(pipeline.sandboxes.ef.url, f"accounts/{licence.ef_api_key}/mails", method="GET") == []


def test_processable_statuses_setting(pipeline):
    case = order_fixture("a10")  # AWAITING_PAYMENT
    licence = pipeline.licence(case, processable_statuses=["PAID", "AWAITING_PAYMENT"])
    invoiced(pipeline, licence, case)


def test_orders_before_the_start_date_are_not_picked_up(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case, process_from=datetime(2026, 1, 1, tzinfo=UTC))
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "K3M7Q")
    assert order.state == OrderState.IGNORED
    assert "start date" in order.state_reason
    assert pipeline.ef_invoices(licence) == []


def test_an_existing_ef_client_is_reused_and_never_modified(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    control(pipeline.sandboxes.ef.url, "quirks", {"filter_case_sensitive": True})
    from connectors.eenvoudigfactureren.client import EfClient

    existing = EfClient(api_key=licence.ef_api_key).client_create(
        {"name": "Lotte C. (old)", "email_address": "LOTTE.CLAES@example.be", "street": "Oud adres 1"}
    )
    _, invoice = invoiced(pipeline, licence, case)
    assert invoice["client_id"] == existing
    [client] = pipeline.ef_clients(licence)
    assert client["street"] == "Oud adres 1" and client["name"] == "Lotte C. (old)"


def test_a_deleted_order_is_not_invoiced(pipeline):
    case = order_fixture("a10")
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    pipeline.wait(licence, case["order"]["id"])
    control(
        pipeline.sandboxes.kmoshops.url,
        f"stores/{licence.store_id}/orders/{case['order']['id']}",
        method="DELETE",
    )
    order = pipeline.wait(licence, case["order"]["id"], states=(OrderState.DELETED,))
    assert "deleted" in order.state_reason


def test_uninstall_cancels_the_licence_and_forgets_the_token(pipeline):
    licence = pipeline.licence()
    control(pipeline.sandboxes.kmoshops.url, f"stores/{licence.store_id}/uninstall")
    pipeline.webhooks_idle()
    for _ in range(100):
        licence.refresh_from_db()
        if licence.state == LicenceState.CANCELLED:
            break
    assert licence.state == LicenceState.CANCELLED
    assert licence.shop_token == ""
    assert licence.cancelled_at is not None


def test_ef_key_revoked_holds_orders_until_reconnected(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    control(pipeline.sandboxes.ef.url, "accounts", {"api_key": "replacement-key", "rates": [21, 12, 6]})
    Licence.objects.filter(pk=licence.pk).update(ef_api_key="revoked-key")
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "K3M7Q")
    licence.refresh_from_db()
    assert order.state == OrderState.OPEN and order.wait_code == "ef"
    assert licence.ef_status == ConnectionStatus.FAILING
    assert "authentication" in licence.ef_status_reason
    # The merchant pastes a working key (ReConnect); the held order resumes by itself.
    licence.ef_api_key = "replacement-key"
    licence.save()
    connection_ok(licence, "ef")
    assert licence_orders_resume(licence) == 1
    pipeline_tick()  # resumed orders go out in their licence's round
    order = pipeline.wait(licence, "K3M7Q", states=(OrderState.HANDLED,))
    invoices = control(pipeline.sandboxes.ef.url, "accounts/replacement-key/invoices", method="GET")
    assert len(invoices) == 1


def test_held_orders_resume_from_the_sweep_once_the_licence_is_active_again(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case, state=LicenceState.TRIAL, trial_ends_at=datetime(2020, 1, 1, tzinfo=UTC))
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "K3M7Q")
    assert order.state == OrderState.OPEN and order.wait_code == "licence"
    Licence.objects.filter(pk=licence.pk).update(state=LicenceState.ACTIVE)
    orders_sweep()
    pipeline.wait(licence, "K3M7Q", states=(OrderState.HANDLED,))


def test_process_again_after_the_merchant_fixed_the_cause(pipeline):
    case = order_fixture("a12")  # 9 % unknown to EF
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.error_code == "VAT_RATE_UNKNOWN"
    # The merchant adds 9 % to EF, then presses Process.
    control(pipeline.sandboxes.ef.url, "accounts", {"api_key": licence.ef_api_key, "rates": [21, 12, 9, 6]})
    Licence.objects.filter(pk=licence.pk).update(ef_vat_rates=["0", "6", "9", "12", "21"])
    result = order_process_again(
        licence=Licence.objects.get(pk=licence.pk), order_ids=[order.pk], actor="merchant@x"
    )
    assert result.done == [order.order_number]
    order = pipeline.wait(licence, case["order"]["id"], states=(OrderState.HANDLED,))
    assert order.events.filter(kind="action", actor="merchant@x").exists()
    again = order_process_again(licence=licence, order_ids=[order.pk], actor="merchant@x")
    assert again.refused == {order.order_number: "already invoiced"}
    assert len(pipeline.ef_invoices(licence)) == 1


def test_actions_never_reach_another_licences_orders(pipeline):
    case = order_fixture("a09")
    mine, theirs = pipeline.licence(case), pipeline.licence(case)
    pipeline.place(theirs, case["order"])
    order = pipeline.wait(theirs, case["order"]["id"])
    assert order_process_again(licence=mine, order_ids=[order.pk], actor="x").done == []
    assert order_ignore(licence=mine, order_ids=[order.pk], actor="x").done == []
    assert Order.objects.get(pk=order.pk).state == OrderState.ERROR


def test_ignore_refuses_invoiced_orders(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    order, _ = invoiced(pipeline, licence, case)
    assert order_ignore(licence=licence, order_ids=[order.pk], actor="x").refused


def test_an_order_fixed_in_the_shop_is_processed_again_by_its_update(pipeline):
    case = order_fixture("a11")  # no e-mail
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    assert pipeline.wait(licence, case["order"]["id"]).error_code == "EMAIL_MISSING"
    control(
        pipeline.sandboxes.kmoshops.url,
        f"stores/{licence.store_id}/orders/{case['order']['id']}",
        {"email": "klant@example.be"},
    )
    pipeline.wait(licence, case["order"]["id"], states=(OrderState.HANDLED,))


def test_vies_unavailable_retries_and_is_never_invalid(pipeline):
    case = order_fixture("a06")
    licence = pipeline.licence(case)
    control(pipeline.sandboxes.vies.url, "answers", {"default": "unavailable"})
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"], states=(OrderState.RETRYING, OrderState.ERROR))
    assert order.state == OrderState.RETRYING
    assert "VIES" in order.state_reason
    control(pipeline.sandboxes.vies.url, "answers", {"default": "valid"})
    orders_sweep()
    order = pipeline.wait(licence, case["order"]["id"], states=(OrderState.HANDLED,))
    assert order.vies_consultation.startswith("WAPI")


def test_vies_invalid_is_vat_number_invalid(pipeline):
    case = order_fixture("a06")
    licence = pipeline.licence(case)
    control(pipeline.sandboxes.vies.url, "answers", {"default": "invalid"})
    pipeline.place(licence, case["order"])
    assert pipeline.wait(licence, case["order"]["id"]).error_code == "VAT_NUMBER_INVALID"


def test_vies_check_can_be_switched_off(pipeline):
    case = order_fixture("a06")
    licence = pipeline.licence(case, vies_check=False)
    control(pipeline.sandboxes.vies.url, "answers", {"default": "invalid"})
    invoiced(pipeline, licence, case)
    assert control(pipeline.sandboxes.vies.url, "checks", method="GET") == []


def test_a_failing_ef_connection_that_works_again_resumes_by_itself(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.ef_fault(status=401, path="/invoices", count=1)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "K3M7Q")
    assert order.state == OrderState.OPEN and order.wait_code == "ef"
    # Five minutes later the sweep probes the key, finds it working, and the order goes through.
    Licence.objects.filter(pk=licence.pk).update(ef_checked_at=datetime(2020, 1, 1, tzinfo=UTC))
    result = orders_sweep()
    assert result["recovered"] == 1
    pipeline.wait(licence, "K3M7Q", states=(OrderState.HANDLED,))
    licence.refresh_from_db()
    assert licence.ef_status == ConnectionStatus.OK


def test_the_invoice_number_opens_the_ef_invoice_pdf_for_its_merchant_only(pipeline, client):
    from licenses.models import MerchantAccess
    from tests.factories import login

    case = order_fixture("a01")
    licence = pipeline.licence(case)
    order, invoice = invoiced(pipeline, licence, case)
    owner, charlie = login("owner@pdf.example"), login("charlie@pdf.example")
    MerchantAccess.objects.create(user=owner, licence=licence)
    url = f"/dashboard/{licence.key}/orders/{order.pk}/invoice.pdf"
    client.force_login(owner)
    report = client.get(f"/dashboard/{licence.key}/report/").content.decode()
    assert url in report
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and invoice["number"] in response["Content-Disposition"]
    client.force_login(charlie)
    assert client.get(url).status_code == 404
