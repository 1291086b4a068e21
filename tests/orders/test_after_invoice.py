"""After the invoice, through the real HTTP path: Peppol delivery with its e-mail fallback and rejections,
credit notes for refunds and cancellations (exactly once, whatever the webhooks do), and "changed after
invoicing" with Credit and re-invoice.
"""

from __future__ import annotations

import copy
import csv
import io
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from licenses.models import Licence
from orders.actions import order_credit_and_reinvoice, order_process_again
from orders.catchup import licence_catch_up
from orders.models import FollowUp, Order, OrderState
from tests.conftest import control, order_fixture
from tests.factories import login

pytestmark = pytest.mark.django_db(transaction=True)
B2B = "a02"  # a Belgian company with a VAT number, lines at 21 % and 6 %
VAT_NUMBER = "BE0499944136"


def refund(pipeline, licence, number, amount=None, reason=""):
    body = {"reason": reason} if amount is None else {"amount": amount, "reason": reason}
    control(pipeline.sandboxes.kmoshops.url, f"stores/{licence.store_id}/orders/{number}/refund", body)


def cancel(pipeline, licence, number):
    control(pipeline.sandboxes.kmoshops.url, f"stores/{licence.store_id}/orders/{number}/cancel", {})


def peppol_directory(pipeline, licence, status, message=""):
    control(
        pipeline.sandboxes.ef.url,
        f"accounts/{licence.ef_api_key}/peppol",
        {"tax_code": VAT_NUMBER, "status": status, "message": message},
    )


def peppol_sent(pipeline, licence):
    return control(pipeline.sandboxes.ef.url, f"accounts/{licence.ef_api_key}/peppol", method="GET")


def mails(pipeline, licence):
    return control(pipeline.sandboxes.ef.url, f"accounts/{licence.ef_api_key}/mails", method="GET")


def webhooks(pipeline, **config):
    control(pipeline.sandboxes.kmoshops.url, "webhooks/config", config)


def settle(pipeline, licence, number, timeout=20.0):
    """Let webhooks land and the ticker hand out what is due, until the order rests."""
    pipeline.webhooks_idle()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        order = Order.objects.get(licence=licence, order_number=number)
        pending = order.follow_ups.filter(state__in=[FollowUp.State.PENDING, FollowUp.State.RETRYING])
        if order.state in (OrderState.ERROR, OrderState.IGNORED):
            return order
        if order.state == OrderState.HANDLED and not pending.exists():
            return order
        call_command("pipeline_ticker", "--once")
        time.sleep(0.1)
    raise AssertionError(f"order {number} did not settle (now {order.state})")


def invoiced(pipeline, **config):
    case = order_fixture(B2B)
    licence = pipeline.licence(case, **config)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.HANDLED, (order.error_code, order.error_message)
    return licence, case, order


def documents(pipeline, licence):
    rows = pipeline.ef_invoices(licence)
    return (
        [row for row in rows if row["type"] == "invoice"],
        [row for row in rows if row["type"] == "creditnote"],
    )


def gross_by_rate(document):
    return {
        rate: Decimal(str(t["base"])) + Decimal(str(t["vat"]))
        for rate, t in document["totals_by_rate"].items()
    }


# ------------------------------------------------------------------------------------------- delivery
def test_a_belgian_business_invoice_goes_out_via_peppol(pipeline):
    licence, _, order = invoiced(pipeline)
    [sent] = peppol_sent(pipeline, licence)
    assert sent["invoice_id"] == order.ef_invoice_id and sent["recipients"] == [VAT_NUMBER]
    assert mails(pipeline, licence) == []
    [send] = order.follow_ups.filter(kind=FollowUp.Kind.SEND)
    assert send.state == FollowUp.State.DONE and send.result["channel"] == "peppol"
    assert send.result["answer"] == {"success": "invoice sent", "methods": {"peppol": "sent"}}  # what EF said
    assert send.result["sent_at"].startswith(str(send.done_at.year))


def test_a_customer_not_on_peppol_gets_the_invoice_by_email_and_the_order_says_so(pipeline):
    case = order_fixture(B2B)
    licence = pipeline.licence(case)
    peppol_directory(pipeline, licence, "not_registered")
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.HANDLED
    assert peppol_sent(pipeline, licence) == []
    [mail] = mails(pipeline, licence)
    assert mail["invoice_id"] == order.ef_invoice_id
    [send] = order.follow_ups.all().filter(kind=FollowUp.Kind.SEND)
    assert send.result["channel"] == "email" and "not registered" in send.result["peppol_answer"]
    assert any("not on Peppol" in event.message for event in order.events.all())


def not_on_peppol_without_fallback(pipeline):
    """A Belgian company's order whose customer is not on Peppol, the e-mail fallback off: in Errors."""
    case = order_fixture(B2B)
    licence = pipeline.licence(case, peppol_email_fallback=False)
    peppol_directory(pipeline, licence, "not_registered")
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.ERROR and order.error_code == "SEND_FAILED"
    return licence, order


def test_without_the_email_fallback_an_unreachable_customer_lands_in_errors(pipeline):
    licence, order = not_on_peppol_without_fallback(pipeline)
    assert mails(pipeline, licence) == [] and len(pipeline.ef_invoices(licence)) == 1

    # The fix the Errors page gives: switch the e-mail fallback on, then Process (#19.3).
    Licence.objects.filter(pk=licence.pk).update(peppol_email_fallback=True)
    licence.refresh_from_db()
    assert order_process_again(licence=licence, order_ids=[order.pk], actor="merchant").done == [
        order.order_number
    ]
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED, order.error_message
    [mail] = mails(pipeline, licence)
    assert mail["invoice_id"] == order.ef_invoice_id and len(pipeline.ef_invoices(licence)) == 1


def test_process_sends_as_the_configuration_says_now(pipeline):
    """Peppol switched off after a SEND_FAILED: Process does not try Peppol again; the order is done."""
    case = order_fixture(B2B)
    licence = pipeline.licence(case, peppol_email_fallback=False)
    peppol_directory(pipeline, licence, "not_registered")
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.error_code == "SEND_FAILED"
    Licence.objects.filter(pk=licence.pk).update(peppol_be_business=False, send_invoice_email=True)
    licence.refresh_from_db()
    order_process_again(licence=licence, order_ids=[order.pk], actor="merchant")
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED, order.error_message
    [send] = order.follow_ups.filter(kind=FollowUp.Kind.SEND)
    assert send.result["channel"] == "email" and len(mails(pipeline, licence)) == 1


def test_a_peppol_rejection_lands_in_errors_with_its_rule_and_process_resends_without_a_new_invoice(
    pipeline, client
):
    case = order_fixture(B2B)
    licence = pipeline.licence(case)
    rule = "[BR-CO-15]-Invoice total amount with VAT = Invoice total amount without VAT + Invoice total VAT."
    peppol_directory(pipeline, licence, "rejected", rule)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.ERROR and order.error_code == "PEPPOL_REJECTED"
    assert order.is_invoiced and order.ef_invoice_number
    assert "BR-CO-15" in order.error_message and order.error_message.startswith(
        f"Invoice {order.ef_invoice_number} is made, but"
    )
    assert "BR-CO-15" in order.ef_answer

    peppol_directory(pipeline, licence, "reachable")
    result = order_process_again(licence=licence, order_ids=[order.pk], actor="merchant")
    assert result.done == [order.order_number]
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED
    [invoice] = pipeline.ef_invoices(licence)
    [sent] = peppol_sent(pipeline, licence)
    assert sent["invoice_id"] == invoice["invoice_id"] == order.ef_invoice_id


def test_others_get_no_email_unless_the_merchant_chose_it(pipeline):
    case = order_fixture("a01")  # a consumer
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.HANDLED and not order.follow_ups.exists()

    licence = pipeline.licence(case, send_invoice_email=True)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert [m["invoice_id"] for m in mails(pipeline, licence)] == [order.ef_invoice_id]
    assert peppol_sent(pipeline, licence) == []


# ------------------------------------------------------------------------------------------- credit notes
def test_a_full_refund_makes_one_credit_note_mirroring_the_invoice_sent_like_the_invoice(pipeline):
    licence, case, order = invoiced(pipeline)
    refund(pipeline, licence, order.order_number, reason="Retour")
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED
    [invoice], [credit] = documents(pipeline, licence)
    assert gross_by_rate(credit) == {rate: -amount for rate, amount in gross_by_rate(invoice).items()}
    assert Decimal(str(credit["total_with_tax"])) == -Decimal(str(invoice["total_with_tax"]))
    assert credit["client_id"] == invoice["client_id"]
    assert invoice["number"] in credit["reference"] and order.order_number in credit["reference"]
    assert all(Decimal(str(item["amount"])) > 0 for item in credit["items"])  # BR-27
    assert [s["document"] for s in peppol_sent(pipeline, licence)] == ["invoice", "creditnote"]
    [note] = order.follow_ups.filter(kind=FollowUp.Kind.CREDIT_NOTE)
    assert note.result["number"] == credit["number"]


def expected_split(invoice, amount):
    """Independent of the product: the refund over the invoice's rates by their gross totals, in cents."""
    gross = gross_by_rate(invoice)
    total = sum(gross.values())
    shares = {rate: (amount * g / total).quantize(Decimal("0.01")) for rate, g in gross.items()}
    shares[max(gross, key=gross.get)] += amount - sum(shares.values())
    return shares


def test_two_partial_refunds_make_two_credit_notes_split_over_the_rates(pipeline):
    licence, case, order = invoiced(pipeline)
    refund(pipeline, licence, order.order_number, 100, reason="Beschadigde pot")
    settle(pipeline, licence, order.order_number)
    refund(pipeline, licence, order.order_number, 50.55, reason="Te laat geleverd")
    order = settle(pipeline, licence, order.order_number)
    assert order.payment_status == "PARTIALLY_REFUNDED" and order.state == OrderState.HANDLED
    [invoice], credits = documents(pipeline, licence)
    assert len(credits) == 2
    for credit, amount, reason in zip(
        credits, (Decimal("100"), Decimal("50.55")), ("Beschadigde pot", "Te laat geleverd"), strict=True
    ):
        assert Decimal(str(credit["total_with_tax"])) == -amount
        assert gross_by_rate(credit) == {r: -v for r, v in expected_split(invoice, amount).items()}
        assert all(reason in item["description"] for item in credit["items"])
        assert all(Decimal(str(item["amount"])) > 0 and item["quantity"] < 0 for item in credit["items"])


def test_a_cancellation_delivered_twice_and_out_of_order_with_catch_up_makes_one_credit_note(pipeline):
    licence, case, order = invoiced(pipeline)
    webhooks(pipeline, duplicate=True, hold=True)
    refund(pipeline, licence, order.order_number, 20, reason="Korting achteraf")
    cancel(pipeline, licence, order.order_number)
    webhooks(pipeline, hold=False)
    control(pipeline.sandboxes.kmoshops.url, "webhooks/flush", {"reverse": True})
    settle(pipeline, licence, order.order_number)
    licence_catch_up(licence)
    order = settle(pipeline, licence, order.order_number)
    [invoice], credits = documents(pipeline, licence)
    totals = sorted(Decimal(str(c["total_with_tax"])) for c in credits)
    # The refund as its own credit note, the cancellation for the rest: together exactly the invoice.
    assert totals == sorted([Decimal("-20.00"), Decimal("20.00") - Decimal(str(invoice["total_with_tax"]))])
    assert order.follow_ups.filter(kind=FollowUp.Kind.CREDIT_NOTE).count() == 2


def test_a_credit_note_whose_answer_was_lost_is_found_not_made_again(pipeline):
    licence, case, order = invoiced(pipeline)
    # EF makes the credit note, the connection drops before the answer: the "killed in between" case.
    pipeline.ef_fault(path="/api/v1/invoices", method="POST", after=True, drop=True)
    cancel(pipeline, licence, order.order_number)
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED
    _, credits = documents(pipeline, licence)
    assert len(credits) == 1
    [note] = order.follow_ups.filter(kind=FollowUp.Kind.CREDIT_NOTE)
    assert note.result["credit_note_id"] == credits[0]["invoice_id"]


def test_a_worker_killed_after_deciding_a_credit_note_leaves_it_to_the_next(pipeline):
    licence, case, order = invoiced(pipeline)
    webhooks(pipeline, hold=True)  # the refund is decided by catch-up below, with no worker after it
    cancel(pipeline, licence, order.order_number)
    from orders.sync import HandOut, order_refresh

    # Decided and claimed for this worker in the read's commit, then "killed" before it processed it.
    assert order_refresh(
        licence, order.order_number, trigger="webhook", hand_out=HandOut.CALLER
    ).claimed_by_caller
    assert Order.objects.get(pk=order.pk).state == OrderState.PROCESSING
    assert FollowUp.objects.get(order=order, kind=FollowUp.Kind.CREDIT_NOTE).state == FollowUp.State.PENDING
    Order.objects.filter(pk=order.pk).update(claimed_at=order.updated_at.replace(year=2020))
    order = settle(pipeline, licence, order.order_number)  # the ticker takes over the stale claim
    _, credits = documents(pipeline, licence)
    assert len(credits) == 1 and order.state == OrderState.HANDLED
    webhooks(pipeline, hold=False)
    control(pipeline.sandboxes.kmoshops.url, "webhooks/flush", {})
    settle(pipeline, licence, order.order_number)
    assert len(documents(pipeline, licence)[1]) == 1


def test_an_order_refunded_before_it_was_invoiced_is_not_invoiced_and_says_so(pipeline):
    case = order_fixture("a10")  # awaiting payment
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    pipeline.wait(licence, case["order"]["id"])
    cancel(pipeline, licence, case["order"]["id"])
    pipeline.webhooks_idle()
    order = pipeline.wait(licence, case["order"]["id"], states=(OrderState.IGNORED,))
    assert "before it was invoiced" in order.state_reason
    assert pipeline.ef_invoices(licence) == []


def test_credit_notes_can_be_switched_off(pipeline):
    licence, case, order = invoiced(pipeline, credit_notes=False)
    cancel(pipeline, licence, order.order_number)
    order = settle(pipeline, licence, order.order_number)
    assert documents(pipeline, licence)[1] == [] and order.state == OrderState.HANDLED


def test_a_rejected_credit_note_lands_in_errors_and_process_makes_it_once(pipeline):
    licence, case, order = invoiced(pipeline)
    control(
        pipeline.sandboxes.ef.url, "faults", {"path": "/api/v1/invoices", "method": "POST", "status": 400}
    )
    cancel(pipeline, licence, order.order_number)
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.ERROR and order.error_code == "CREDIT_NOTE_REJECTED"
    order_process_again(licence=licence, order_ids=[order.pk], actor="merchant")
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED
    assert len(documents(pipeline, licence)[1]) == 1 and len(documents(pipeline, licence)[0]) == 1


# ------------------------------------------------------------------------------------------- changed after
def one_more_bag_after_the_invoice(pipeline, licence, case) -> float:
    """The invoiced order changes in the shop (one more bag of grass seed); returns its new total."""
    changed = copy.deepcopy(case["order"])
    changed["items"][1]["quantity"] += 1
    changed["total"] = round(changed["total"] + changed["items"][1]["price"], 2)
    changed["updateTimestamp"] += 60
    pipeline.place(licence, changed)
    pipeline.webhooks_idle()
    return changed["total"]


def test_changed_after_invoicing_is_shown_and_credit_and_reinvoice_replaces_the_invoice(pipeline):
    licence, case, order = invoiced(pipeline)
    new_total = one_more_bag_after_the_invoice(pipeline, licence, case)
    order = Order.objects.get(pk=order.pk)
    assert order.state == OrderState.HANDLED and order.changed_after_invoicing
    assert order.change_since_invoice == Decimal(str(new_total)) - Decimal(str(case["order"]["total"]))
    assert len(pipeline.ef_invoices(licence)) == 1  # never a silent second invoice
    assert any("Changed after invoicing" in event.message for event in order.events.all())

    old_number = order.ef_invoice_number
    result = order_credit_and_reinvoice(licence=licence, order_ids=[order.pk], actor="merchant")
    assert result.done == [order.order_number]
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED, (order.error_code, order.error_message)
    invoices, [credit] = documents(pipeline, licence)
    assert len(invoices) == 2 and old_number in credit["reference"]
    new = next(i for i in invoices if i["invoice_id"] == order.ef_invoice_id)
    assert new["external_invoice_id"].endswith("-r2") and order.ef_invoice_number != old_number
    assert not order.changed_after_invoicing
    again = order_credit_and_reinvoice(licence=licence, order_ids=[order.pk], actor="merchant")
    assert again.done == [] and len(pipeline.ef_invoices(licence)) == 3


def test_credit_and_reinvoice_checks_the_new_order_before_crediting_the_old_invoice(pipeline):
    licence, case, order = invoiced(pipeline)
    changed = copy.deepcopy(case["order"])
    changed["total"] = round(changed["total"] + 10, 2)  # typed into the total: the lines do not add up
    changed["updateTimestamp"] += 60
    pipeline.place(licence, changed)
    pipeline.webhooks_idle()
    order_credit_and_reinvoice(licence=licence, order_ids=[Order.objects.get(pk=order.pk).pk], actor="m")
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.ERROR and order.error_code == "TOTAL_MISMATCH"
    assert order.is_invoiced and documents(pipeline, licence)[1] == []  # the old invoice still stands

    fixed = copy.deepcopy(case["order"])
    fixed["items"][1]["quantity"] += 1
    fixed["total"] = round(fixed["total"] + fixed["items"][1]["price"], 2)
    fixed["updateTimestamp"] += 120
    pipeline.place(licence, fixed)  # corrected in the shop: the re-invoice goes ahead by itself
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED, (order.error_code, order.error_message)
    invoices, [credit] = documents(pipeline, licence)
    assert len(invoices) == 2 and Decimal(str(order.total)) == Decimal(str(fixed["total"]))


def test_after_credit_and_reinvoice_report_and_csv_still_show_the_replaced_invoice(pipeline, client):
    """The bookkeeper looks for every number EF issued: the first invoice, its credit note, the new one."""
    licence, case, order = invoiced(pipeline)
    one_more_bag_after_the_invoice(pipeline, licence, case)
    old_number = order.ef_invoice_number
    order_credit_and_reinvoice(licence=licence, order_ids=[order.pk], actor="merchant")
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED and order.ef_invoice_number != old_number
    [credit] = documents(pipeline, licence)[1]

    user = login("bookkeeper@shop.example")
    licence.access.create(user=user)
    client.force_login(user)
    report = client.get(reverse("dashboard-tab", args=[licence.key, "report"]), HTTP_ACCEPT_LANGUAGE="nl")
    row = report.content.decode().split(f'data-order="{order.order_number}"')[1].split("</tr>")[0]
    assert order.ef_invoice_number in row and old_number in row and credit["number"] in row
    found = client.get(reverse("dashboard-tab", args=[licence.key, "report"]), {"q": old_number})
    assert f'data-order="{order.order_number}"' in found.content.decode()  # searchable by the old number

    export = client.get(reverse("dashboard-report-csv", args=[licence.key]), HTTP_ACCEPT_LANGUAGE="nl")
    rows = list(
        csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig")), delimiter=";")
    )
    [line] = [line for line in rows[1:] if line[0] == order.order_number]
    assert line[8] == order.ef_invoice_number
    assert line[11] == f"{old_number} ({credit['number']})"  # "Vervangen facturen": replaced, and by what
    assert rows[0][11] == "Vervangen facturen"


def test_a_partial_refund_without_an_amount_asks_the_merchant_and_credits_what_they_enter(pipeline, client):
    """#21.3: the merchant refunded part by bank transfer and set the status by hand: the shop has no
    amount. Nothing is guessed; Errors asks for it, and the credit note is made for what is entered, once."""
    licence, case, order = invoiced(pipeline)
    pipeline.pay(licence, order.order_number, "PARTIALLY_REFUNDED")  # no refunds[], no refundedAmount
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.ERROR and order.error_code == "REFUND_AMOUNT_MISSING"
    assert documents(pipeline, licence)[1] == []  # no credit note guessed

    user = login("refund-amount@shop.example")
    licence.access.create(user=user)
    client.force_login(user)
    url = reverse("dashboard-refund-amount", args=[licence.key, order.pk])
    page = client.get(reverse("dashboard-order", args=[licence.key, order.pk]), HTTP_ACCEPT_LANGUAGE="nl")
    assert 'id="refund-amount-form"' in page.content.decode()
    too_much = client.post(url, {"amount": "9999,00"}, HTTP_ACCEPT_LANGUAGE="nl")
    assert too_much.status_code == 400 and 'value="9999,00"' in too_much.content.decode()  # kept, explained
    assert documents(pipeline, licence)[1] == []

    assert client.post(url, {"amount": "25,50"}, HTTP_ACCEPT_LANGUAGE="nl").status_code == 302
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED, (order.error_code, order.error_message)
    [credit] = documents(pipeline, licence)[1]
    assert sum(gross_by_rate(credit).values()) == Decimal("-25.50")
    assert client.post(url, {"amount": "25,50"}).status_code == 400  # asked once, answered once

    # The same webhook again (or a catch-up) does not ask again, nor credit again.
    licence_catch_up(licence)
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED and len(documents(pipeline, licence)[1]) == 1


def test_a_partial_refund_with_the_shops_refunded_amount_is_credited_without_asking(pipeline):
    licence, case, order = invoiced(pipeline)
    control(
        pipeline.sandboxes.kmoshops.url,
        f"stores/{licence.store_id}/orders/{order.order_number}",
        {"paymentStatus": "PARTIALLY_REFUNDED", "refundedAmount": 10},
    )
    order = settle(pipeline, licence, order.order_number)
    assert order.state == OrderState.HANDLED, (order.error_code, order.error_message)
    [credit] = documents(pipeline, licence)[1]
    assert sum(gross_by_rate(credit).values()) == Decimal("-10.00")
