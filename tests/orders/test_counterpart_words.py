"""The counterparts' own English (EF's error, the Peppol rule, "client is not registered on the Peppol
network") is never part of what a Dutch or French merchant reads: our sentence says what happened, in
their language, once; the counterpart's words wait behind "Details" for whoever needs them (issue #20.2)."""

from __future__ import annotations

import html as markup
import re

import pytest
from django.urls import reverse

from tests.conftest import order_fixture
from tests.english import english_in
from tests.factories import login
from tests.orders.test_after_invoice import B2B, not_on_peppol_without_fallback, peppol_directory

pytestmark = pytest.mark.django_db(transaction=True)
RULE = "[BR-CO-15]-Invoice total amount with VAT = Invoice total amount without VAT + Invoice total VAT."
DETAILS = re.compile(r"<details.*?</details>", re.S)
TAGS = re.compile(r"<[^>]+>")


def _more_info(client, pipeline, licence, order, language: str) -> tuple[str, str]:
    """The More info page as read (without the closed Details) and the Details' contents."""
    user = login(f"words-{language}@shop.example")
    licence.access.create(user=user)
    client.force_login(user)
    url = reverse("dashboard-order", args=[licence.key, order.pk])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    html = html.split("<body", 1)[1]
    details = markup.unescape(" ".join(DETAILS.findall(html)))
    read = markup.unescape(TAGS.sub(" ", DETAILS.sub(" ", html)))
    return read, details


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_a_peppol_rejection_reads_in_the_merchants_words_with_the_rule_behind_details(
    pipeline, client, language
):
    case = order_fixture(B2B)
    licence = pipeline.licence(case)
    peppol_directory(pipeline, licence, "rejected", RULE)
    pipeline.place(licence, case["order"])
    order = pipeline.wait(licence, case["order"]["id"])
    assert order.error_code == "PEPPOL_REJECTED"
    read, details = _more_info(client, pipeline, licence, order, language)
    assert english_in(read, language) == [] and "BR-CO-15" not in read
    # Once under the error, not again under each place that mentions the failure (the Calls stay whole).
    assert details.split('id="calls-card"')[0].count("BR-CO-15") == 1
    assert RULE in order.error_message  # support (admin, tickets, logs) keeps the whole English


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_a_customer_not_on_peppol_reads_in_the_merchants_words(pipeline, client, language):
    licence, order = not_on_peppol_without_fallback(pipeline)
    read, details = _more_info(client, pipeline, licence, order, language)
    assert english_in(read, language) == []
    assert "not registered on the Peppol network" in details
