"""What a merchant sees after the invoice: labels on Report, the follow-ups under More info, "changed after
invoicing" with its button, in English, Dutch and French."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import FollowUp, OrderState
from tests.factories import licence_for, login, order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    user = login("peppol@shop.example")
    licence = licence_for(user)
    order = order_for(licence, OrderState.HANDLED, total=Decimal("121.00"), invoiced_total=Decimal("121.00"))
    FollowUp.objects.create(
        order=order,
        key=f"send:{order.ef_invoice_id}",
        kind=FollowUp.Kind.SEND,
        state=FollowUp.State.DONE,
        plan={"invoice_id": order.ef_invoice_id, "document": "invoice", "channel": "peppol"},
        result={"channel": "peppol"},
        attempts=1,
        done_at=timezone.now(),
    )
    FollowUp.objects.create(
        order=order,
        key="credit:refund:d:20.00:1",
        kind=FollowUp.Kind.CREDIT_NOTE,
        state=FollowUp.State.DONE,
        plan={
            "invoice_id": order.ef_invoice_id,
            "amount": "20.00",
            "mirror": False,
            "reason": "Kapotte vaas",
        },
        result={"credit_note_id": 9001, "number": "2026-00051", "amount": "20.00"},
        attempts=1,
        done_at=timezone.now(),
    )
    return user, licence, order


WORDS = {
    "en": (
        "sent via Peppol",
        "credit note 2026-00051",
        "After the invoice",
        "Changed after invoicing",
        "Credit and re-invoice",
    ),
    "nl": (
        "verzonden via Peppol",
        "creditnota 2026-00051",
        "Na de factuur",
        "Gewijzigd na facturatie",
        "Crediteren en opnieuw factureren",
    ),
    "fr": (
        "envoyée via Peppol",
        "note de crédit 2026-00051",
        "Après la facture",
        "Modifiée après facturation",
        "Créditer et refacturer",
    ),
}


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_report_shows_how_the_invoice_went_out_and_its_credit_notes(client, shop, language):
    user, licence, order = shop
    client.force_login(user)
    page = client.get(reverse("dashboard-tab", args=[licence.key, "report"]), HTTP_ACCEPT_LANGUAGE=language)
    text = page.content.decode()
    peppol, credit, *_ = WORDS[language]
    assert peppol in text and credit in text


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_more_info_lists_the_follow_ups_and_offers_credit_and_reinvoice_when_changed(client, shop, language):
    user, licence, order = shop
    client.force_login(user)
    url = reverse("dashboard-order", args=[licence.key, order.pk])
    peppol, credit, card, changed, button = WORDS[language]
    text = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert card in text and "Kapotte vaas" in text and credit in text
    assert changed not in text and 'id="credit-and-reinvoice"' not in text

    order.total = Decimal("141.00")
    order.save(update_fields=["total"])
    text = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert changed in text and button in text and 'id="credit-and-reinvoice"' in text
    assert "20,00" in text if language != "en" else "20.00" in text


def test_a_failed_follow_up_is_explained_in_errors(client, shop):
    user, licence, order = shop
    order.state, order.error_code = OrderState.ERROR, "PEPPOL_REJECTED"
    order.error_message = "Invoice 2026-00001 is made, but: Peppol refused the invoice: [BR-27] …"
    order.save()
    client.force_login(user)
    text = client.get(
        reverse("dashboard-order", args=[licence.key, order.pk]), HTTP_ACCEPT_LANGUAGE="nl"
    ).content.decode()
    assert "PEPPOL_REJECTED" in text and 'id="how-to-fix"' in text


@pytest.mark.parametrize(
    ("language", "never"),
    [
        ("en", "No second invoice is made by itself"),
        ("nl", "nooit een tweede"),
        ("fr", "jamais une deuxième"),
    ],
)
def test_more_info_never_promises_no_second_invoice_beside_the_button_that_makes_one(client, language, never):
    """An invoiced order in Errors that changed in the shop: Process (same invoice) and Credit and re-invoice
    (a new one) stand side by side; each says what it does, neither says "never a second invoice" (#20.4)."""
    user = login(f"two-buttons-{language}@shop.example")
    licence = licence_for(user)
    order = order_for(
        licence,
        OrderState.ERROR,
        error_code="SEND_FAILED",
        ef_invoice_id=5001,
        ef_invoice_number="2026-00077",
        total=Decimal("130.00"),
        invoiced_total=Decimal("121.00"),
    )
    client.force_login(user)
    page = client.get(reverse("dashboard-order", args=[licence.key, order.pk]), HTTP_ACCEPT_LANGUAGE=language)
    html = page.content.decode()
    assert 'id="process-order"' in html and 'id="credit-and-reinvoice"' in html
    assert never not in html
    assert (
        "2026-00077" in html.split('id="invoiced-unfinished"')[1].split("</p>")[0]
    )  # names the invoice kept
