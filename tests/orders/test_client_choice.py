"""The invoice is addressed to the company that ordered, never to another one with the same e-mail address;
and a client create whose answer never came is not repeated (issue #19, items 1 and 4)."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from orders.client_choice import client_choose
from orders.domain import Customer
from orders.models import EfClientMatch, Order, OrderState
from tests.conftest import control, order_fixture
from tests.orders.test_exactly_once import drive
from tests.orders.test_uncertain_create import TRIGGERS

ADDRESS = "administratie@delinde-hoveniers.example"  # a02's customer
ORDER_VAT = "BE0499944136"
OTHER_VAT = "BE0403170701"


def _customer(vat: str) -> Customer:
    return Customer(
        name="Hoveniersbedrijf De Linde BV", attention="", first_name="", last_name="", company="",
        street="", street2="", postal_code="", city="", country_code="BE", email=ADDRESS, phone="",
        vat_number=vat,
    )  # fmt: skip


def _company_without_vat() -> Customer:
    return dataclasses.replace(
        _customer(""), company="Hoveniersbedrijf De Linde BV", attention="Pieter Wouters"
    )


def test_only_a_client_with_the_orders_vat_number_is_the_customer():
    other = {"client_id": 11, "tax_code": OTHER_VAT}
    same_written_otherwise = {"client_id": 12, "tax_code": "BE 0499.944.136"}
    consumer = {"client_id": 13, "tax_code": "", "name": "Hoveniersbedrijf De Linde BV"}
    assert client_choose(_customer(ORDER_VAT), [other, consumer, same_written_otherwise]).client_id == 12
    assert client_choose(_customer(ORDER_VAT), [other, consumer]).client_id is None
    assert client_choose(_customer(ORDER_VAT), [other]).not_this_customer == [other]
    # A consumer's order is not a company's, even with the company's address.
    assert client_choose(_customer(""), [other, consumer]).client_id == 13
    assert client_choose(_customer(""), [other]).client_id is None


def test_a_company_without_vat_number_is_the_client_with_its_name():
    """A company that gave no VAT number is the EF client with its name, however it is written, and not
    another company that has no VAT number in EF either. A consumer is any client without one (product.md)."""
    this_one = {"client_id": 14, "tax_code": "", "name": "hoveniersbedrijf  De Linde B.V."}
    another = {"client_id": 15, "tax_code": "", "name": "Bakkerij Ander Bedrijf NV"}
    assert client_choose(_company_without_vat(), [another, this_one]).client_id == 14
    assert client_choose(_company_without_vat(), [another]).not_this_customer == [another]
    assert client_choose(_customer(""), [another]).client_id == 15
    # With a VAT number the number decides: the name in EF may be written any way.
    assert (
        client_choose(
            _customer(ORDER_VAT), [{"client_id": 16, "tax_code": ORDER_VAT, "name": "DL"}]
        ).client_id
        == 16
    )


def _ef_client(pipeline, licence, **fields) -> int:
    response = requests.post(
        f"{pipeline.sandboxes.ef.url}/api/v1/clients",
        json={"email_address": ADDRESS, "country_code": "BE", **fields},
        headers={"X-API-Key": licence.ef_api_key, "Accept": "application/json"},
        timeout=5,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["client_id"])


@pytest.mark.django_db(transaction=True)
def test_a_company_order_never_becomes_an_invoice_of_another_company_with_that_address(pipeline):
    case = order_fixture("a02")
    licence = pipeline.licence(case)
    other_id = _ef_client(pipeline, licence, name="Bakkerij Ander Bedrijf NV", tax_code=OTHER_VAT)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "R8VXD")
    assert order.state == OrderState.HANDLED, order.error_message
    assert order.ef_client_id != other_id
    [invoice] = pipeline.ef_invoices(licence)
    client = next(c for c in pipeline.ef_clients(licence) if c["client_id"] == invoice["client_id"])
    assert client["tax_code"] == ORDER_VAT and client["name"] == "Hoveniersbedrijf De Linde BV"
    # Sent over Peppol to the company that ordered, not to the other one.
    sent = control(pipeline.sandboxes.ef.url, f"accounts/{licence.ef_api_key}/peppol", method="GET")
    recipients = [r for entry in sent for r in entry.get("recipients", [])]
    assert ORDER_VAT in recipients and OTHER_VAT not in recipients
    # The merchant can see why the client with that address was not used.
    assert order.events.filter(message__contains=f"EF client {other_id}").filter(
        message__contains="another customer, not used"
    )
    # The other company's client was left as it was.
    untouched = next(c for c in pipeline.ef_clients(licence) if c["client_id"] == other_id)
    assert untouched["tax_code"] == OTHER_VAT and untouched["name"] == "Bakkerij Ander Bedrijf NV"

    # The next order of the same company goes to the same (right) client without looking again.
    second = {**case["order"], "id": "R8VXE", "orderNumber": 90002, "internalId": 90002}
    pipeline.place(licence, second)
    again = pipeline.wait(licence, "R8VXE")
    assert again.state == OrderState.HANDLED and again.ef_client_id == order.ef_client_id
    assert EfClientMatch.objects.get(licence=licence).vat_number == ORDER_VAT


@pytest.mark.django_db(transaction=True)
def test_the_companys_own_client_is_used_whatever_way_its_vat_number_is_written(pipeline):
    case = order_fixture("a02")
    licence = pipeline.licence(case)
    own_id = _ef_client(pipeline, licence, name="De Linde", tax_code="BE 0499.944.136")
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "R8VXD")
    assert order.state == OrderState.HANDLED, order.error_message
    assert order.ef_client_id == own_id
    assert len(pipeline.ef_clients(licence)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_consumer_order_is_not_invoiced_to_a_company_with_the_same_address(pipeline):
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    company_id = _ef_client(
        pipeline, licence, name="Firma NV", tax_code=OTHER_VAT, email_address=case["order"]["email"]
    )
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, "K3M7Q")
    assert order.state == OrderState.HANDLED and order.ef_client_id != company_id
    client = next(c for c in pipeline.ef_clients(licence) if c["client_id"] == order.ef_client_id)
    assert client["tax_code"] == ""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("trigger", ["webhook", "process", "catch_up"])
def test_a_client_create_without_answer_is_not_repeated_by_a_reclaim(pipeline, settings, trigger):
    settings.HTTP_READ_TIMEOUT = 1.0
    settings.EF_UNCERTAIN_CREATE_MARGIN_SECONDS = 1.5
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    # EF stores the client 2 s after the create arrives; we stop listening after 1 s.
    pipeline.ef_fault(status=0, slow_work=2.0, path="/clients", method="POST")
    pipeline.place(licence, case["order"])
    first = pipeline.wait(licence, "K3M7Q", states=(OrderState.RETRYING, OrderState.HANDLED))
    assert first.state == OrderState.RETRYING and pipeline.ef_clients(licence) == []

    TRIGGERS[trigger](pipeline, licence, first)  # re-claimed at once, while EF is still storing it

    waiting = Order.objects.get(pk=first.pk)
    assert waiting.state == OrderState.RETRYING, (waiting.state, waiting.state_reason)
    assert waiting.state_reason.startswith("Making sure EenvoudigFactureren did not create this customer")
    time.sleep(max(0.0, (waiting.next_attempt_at - timezone.now()).total_seconds()))
    order = drive(pipeline, licence, "K3M7Q")
    assert order.state == OrderState.HANDLED
    [client] = pipeline.ef_clients(licence)
    assert order.ef_client_id == client["client_id"]
    assert pipeline.ef_posts("/api/v1/clients") == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("trigger", ["webhook", "process", "catch_up"])
def test_a_reclaim_honours_the_backoff_and_retry_after(pipeline, settings, trigger):
    settings.ORDER_RETRY_BASE_SECONDS = 300
    settings.ORDER_RETRY_MAX_SECONDS = 3600
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.ef_fault(status=429, retry_after=900, path="/invoices", method="POST")
    pipeline.place(licence, case["order"])
    first = pipeline.wait(licence, "K3M7Q", states=(OrderState.RETRYING, OrderState.HANDLED))
    assert first.state == OrderState.RETRYING
    assert first.next_attempt_at >= timezone.now() + timedelta(seconds=800)  # EF's Retry-After

    if trigger == "process":
        from orders.actions import order_process_again

        result = order_process_again(licence=licence, order_ids=[first.pk], actor="merchant@x")
        assert result.done == [] and "K3M7Q" in result.refused
    else:
        TRIGGERS[trigger](pipeline, licence, first)

    later = Order.objects.get(pk=first.pk)
    assert later.state == OrderState.RETRYING and later.next_attempt_at == first.next_attempt_at
    assert pipeline.ef_posts("/api/v1/invoices") == 1


@pytest.mark.django_db(transaction=True)
def test_a_client_deleted_in_ef_is_looked_up_again_not_refused_on_every_order(pipeline):
    """The merchant deleted the customer in EF: the next order of that customer gets a new client, instead
    of EF_REJECTED "client_id unknown" on every order (and after every Process) from then on."""
    import copy

    case = order_fixture("a01")
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    first = pipeline.wait(licence, case["order"]["id"])
    assert first.state == OrderState.HANDLED
    account = pipeline.sandboxes.ef_app.accounts[licence.ef_api_key]
    del account.clients[first.ef_client_id]  # deleted by the merchant in EF
    again = copy.deepcopy(case["order"])
    again.update(id="K3M7R", internalId=again["internalId"] + 1)
    pipeline.place(licence, again)
    second = pipeline.wait(licence, "K3M7R")
    assert second.state == OrderState.HANDLED, second.error_message
    assert second.ef_client_id not in (None, first.ef_client_id)
    assert EfClientMatch.objects.get(licence=licence).ef_client_id == second.ef_client_id


@pytest.mark.django_db(transaction=True)
def test_a_company_without_vat_number_is_not_invoiced_to_another_company_with_that_address(pipeline):
    """The bookkeeper's address again, but neither company gave a VAT number: the name tells them apart,
    also for the next order (the remembered match is per name when there is no number)."""
    import copy

    case = order_fixture("a02")
    without_vat = copy.deepcopy(case["order"])
    without_vat.update(customerTaxId="", customerTaxIdValid=False)
    licence = pipeline.licence(case)
    other_id = _ef_client(pipeline, licence, name="Bakkerij Ander Bedrijf NV", tax_code="")
    pipeline.place(licence, without_vat)
    order = pipeline.wait(licence, "R8VXD")
    assert order.state == OrderState.HANDLED, order.error_message
    assert order.ef_client_id != other_id
    client = next(c for c in pipeline.ef_clients(licence) if c["client_id"] == order.ef_client_id)
    assert client["name"] == "Hoveniersbedrijf De Linde BV"
    assert order.events.filter(message__contains=f"EF client {other_id}").filter(
        message__contains="another customer, not used"
    )

    # The other company orders with the same address: its own client, not De Linde's remembered one.
    bakery = copy.deepcopy(without_vat)
    bakery.update(id="R8VXF", orderNumber=90003, internalId=90003)
    bakery["billingPerson"]["companyName"] = "Bakkerij Ander Bedrijf NV"
    pipeline.place(licence, bakery)
    second = pipeline.wait(licence, "R8VXF")
    assert second.state == OrderState.HANDLED, second.error_message
    assert second.ef_client_id == other_id
    # De Linde's next order goes to De Linde's client without looking again.
    third = copy.deepcopy(without_vat)
    third.update(id="R8VXG", orderNumber=90004, internalId=90004)
    pipeline.place(licence, third)
    assert pipeline.wait(licence, "R8VXG").ef_client_id == order.ef_client_id
