"""OSS (issue #21.2): a Belgian shop charging a Dutch, German or French consumer that country's VAT. The
sale is recognised from the order (country and rates), the invoice carries the rates and says whose VAT
and why, a rate EF lacks is named with the reason, and the evidence of where the customer is stays with
the order. Against the sandboxes, with fixture orders of NL, DE and FR consumers."""

from __future__ import annotations

import copy

import pytest
from django.utils import translation

from orders.ecwid_mapping import domain_order_from_ecwid
from orders.models import OrderState
from orders.oss import OssSale, oss_sale
from orders.texts import shown, translated
from tests.conftest import order_fixture


def _sale(name: str, **changes) -> OssSale | None:
    case = order_fixture(name)
    order = copy.deepcopy(case["order"])
    order.update(changes)
    return oss_sale(domain_order_from_ecwid(order, case["store_profile"]))


def test_an_oss_sale_is_recognised_from_the_country_and_the_rates():
    assert _sale("a12") == OssSale("NL", ("21", "9"))
    assert _sale("a13") == OssSale("DE", ("19", "7"))
    assert _sale("a14") == OssSale("FR", ("20", "5.5"))
    assert _sale("a01") is None  # a Belgian consumer: home VAT
    assert _sale("a06") is None  # a Dutch company with a VAT number: intra-community supply, 0 %
    # A Dutch consumer charged only 21 % cannot be told apart from Belgian VAT: not marked.
    only_21 = copy.deepcopy(order_fixture("a12")["order"]["items"][1:])
    assert _sale("a12", items=only_21) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fixture", "language", "words"),
    [
        ("a12", "nl", ["Btw-tarief 9% van Nederland staat niet", "Voeg 9% toe in EenvoudigFactureren"]),
        ("a12", "fr", ["Le taux de TVA 9% (Pays-Bas) ne figure pas", "guichet unique (OSS)"]),
        ("a12", "en", ["VAT rate 9% of the Netherlands is not among", "One Stop Shop (OSS)"]),
        # Two rates read as two, in every language (one rate's sentence said "VAT rate 5.5%, 20% is").
        ("a14", "nl", ["De btw-tarieven 5,5%, 20% van Frankrijk staan niet", "One Stop Shop (OSS)"]),
        ("a14", "fr", ["Les taux de TVA 5,5%, 20% (France) ne figurent pas", "un consommateur d'un autre"]),
        (
            "a14",
            "en",
            ["VAT rates 5.5%, 20% of France are not among", "Add 5.5%, 20% in EenvoudigFactureren"],
        ),
    ],
)
def test_a_rate_ef_lacks_is_named_with_its_country_and_why(pipeline, fixture, language, words):
    case = order_fixture(fixture)
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.ERROR and order.error_code == "VAT_RATE_UNKNOWN"
    with translation.override(language):
        message = translated(order.error_text, "")
    assert all(word in message for word in words), message
    evidence = order.oss_evidence  # where the customer is, kept with the order
    country = case["order"]["shippingPerson"]["countryCode"]
    assert evidence["country"] == evidence["billing_country"] == evidence["shipping_country"] == country
    assert evidence["ip_address"] == case["order"]["ipAddress"] and evidence["recorded_at"]


@pytest.mark.django_db(transaction=True)
def test_an_oss_invoice_carries_the_destinations_rates_and_says_so(pipeline):
    case = order_fixture("a13")
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.HANDLED, (order.error_code, order.error_message)
    [invoice] = pipeline.ef_invoices(licence)
    assert {str(item["tax_rate"]) for item in invoice["items"]} == {"7", "19"}
    assert "One Stop Shop (OSS)" in invoice["note"] and "Duitsland (DE)" in invoice["note"]
    [client] = pipeline.ef_clients(licence)
    assert client["country_code"] == "DE"
    assert order.oss_evidence["country"] == "DE"


@pytest.mark.django_db(transaction=True)
def test_more_info_shows_the_oss_evidence_in_the_merchants_language(pipeline, client):
    from django.urls import reverse

    from tests.factories import login

    case = order_fixture("a13")
    licence = pipeline.licence(case)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    user = login("oss@shop.example")
    licence.access.create(user=user)
    client.force_login(user)
    page = client.get(reverse("dashboard-order", args=[licence.key, order.pk]), HTTP_ACCEPT_LANGUAGE="nl")
    evidence = page.content.decode().split('id="oss-evidence">')[1].split("</p>")[0]
    assert "OSS-verkoop: de btw van Duitsland" in evidence and "IP-adres 93.184.216.34" in evidence


@pytest.mark.django_db(transaction=True)
def test_a_rate_removed_in_ef_since_the_rates_were_read_is_named_when_ef_refuses_it(pipeline):
    """Our copy of EF's rates still lists 7 %; EF refuses it ("tax_rate invalid"): named, with the reason."""
    case = order_fixture("a13")
    licence = pipeline.licence(case)
    account = pipeline.sandboxes.ef_app.accounts[licence.ef_api_key]
    account.rates = [rate for rate in account.rates if str(rate) not in ("7", "7.0")]
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.state == OrderState.ERROR and order.error_code == "VAT_RATE_UNKNOWN", order.error_message
    with translation.override("nl"):
        message = translated(order.error_text, "")
    assert "Duitsland" in message and "One Stop Shop (OSS)" in message and "7%" in message
    assert pipeline.ef_invoices(licence) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("registered", [True, False])
def test_a_dutch_consumer_at_21_percent_is_oss_when_the_merchant_is_registered_for_it(pipeline, registered):
    """21 % is Dutch and Belgian alike: the merchant's "registered for OSS" decides (Configuration)."""
    case = order_fixture("a12")
    order = copy.deepcopy(case["order"])
    order.update(id="OSS-NL21", internalId=order["internalId"] + 9, items=order["items"][1:])
    order["total"] = round(order["total"] - 29.95, 2)
    order["tax"] = round(order["tax"] - 2.47, 2)
    order["subtotal"] = round(order["subtotal"] - 29.95, 2)
    licence = pipeline.licence(case, oss_registered=registered)
    pipeline.place(licence, order)
    placed = pipeline.wait(licence, "OSS-NL21")
    assert placed.state == OrderState.HANDLED, (placed.error_code, placed.error_message)
    [invoice] = pipeline.ef_invoices(licence)
    assert ("Nederland (NL)" in invoice["note"]) is registered
    assert bool(placed.oss_evidence) is registered


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("en", "VAT rate 9% is not among", "VAT rates 9%, 21% are not among"),
        ("nl", "Btw-tarief 9% staat niet", "De btw-tarieven 9%, 21% staan niet"),
        ("fr", "Le taux de TVA 9% ne figure pas", "Les taux de TVA 9%, 21% ne figurent pas"),
    ],
)
def test_missing_home_rates_are_named_as_one_or_several(language, one, two):
    from decimal import Decimal

    from orders.checks import check_vat_rates

    case = order_fixture("a12")
    order = copy.deepcopy(case["order"])
    order["shippingPerson"]["countryCode"] = order["billingPerson"]["countryCode"] = "BE"  # not OSS
    domain = domain_order_from_ecwid(order, case["store_profile"])
    with translation.override(language):
        lacks_one = check_vat_rates(domain, [Decimal("21")])
        lacks_two = check_vat_rates(domain, [Decimal("6")])
        assert one in shown(lacks_one.message), shown(lacks_one.message)
        assert two in shown(lacks_two.message), shown(lacks_two.message)
