"""Every merchant-facing page speaks Dutch, French and English: chosen by the browser, with a switch."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from orders.models import OrderState
from tests.factories import licence_for, login, order_for

pytestmark = pytest.mark.django_db


def dashboard_pages(client, language: str, state: str, tab: str) -> tuple[str, str]:
    """A merchant reading in `language` with one order in `state`: the `tab` page and the order's More info."""
    user = login(f"{language}-{state}-{tab}@shop.example")
    licence = licence_for(user)
    order = order_for(licence, state)
    client.force_login(user)
    pages = (
        reverse("dashboard-tab", args=[licence.key, tab]),
        reverse("dashboard-order", args=[licence.key, order.pk]),
    )
    tab_page, detail = (client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode() for url in pages)
    return tab_page, detail


@pytest.mark.parametrize(
    ("language", "text"),
    [("nl", "Start 30 dagen gratis"), ("fr", "Essai gratuit de 30 jours"), ("en", "Start 30-day trial")],
)
def test_the_browser_language_is_used(client, language, text):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert text in page
    assert f'<html lang="{language}">' in page


def test_the_switch_changes_the_language(client):
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert "Essai gratuit de 30 jours" in client.get("/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_switch_names_each_language_in_its_own_words(client, language):
    """A Dutch page offers "English", not "Engels": the reader of each language must recognise it."""
    page = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    options = re.findall(r'<option value="(nl|fr|en)"[^>]*>([^<]+)</option>', page)
    assert options == [("nl", "Nederlands"), ("fr", "Français"), ("en", "English")]


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("nl", ["Fouten", "Meer info", "Het totaal van de bestelling klopt niet", "Zo lost u het op:"]),
        (
            "fr",
            ["Erreurs", "Plus d'infos", "Le total de la commande ne correspond pas", "Comment résoudre :"],
        ),
    ],
)
def test_dashboard_and_more_info_are_translated(client, language, texts):
    tab, detail = dashboard_pages(client, language, OrderState.ERROR, "errors")
    for text in texts:
        assert text in tab + detail, text


def test_the_signup_email_is_in_the_merchants_language(client, django_capture_on_commit_callbacks):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("signup"),
            {"email": "fr@shop.example", "company_name": "Boutique", "shop_url": "https://b.example"},
            HTTP_ACCEPT_LANGUAGE="fr",
        )
    assert "Votre URL d'installation" in mail.outbox[0].subject


def test_reasons_and_error_messages_are_shown_in_the_merchants_language(client):
    from orders.checks import check_total
    from orders.ecwid_mapping import domain_order_from_ecwid
    from orders.texts import text_fields
    from tests.conftest import order_fixture

    case = order_fixture("a09")
    failure = check_total(domain_order_from_ecwid(case["order"], case["store_profile"]))
    user = login("nl2@shop.example")
    licence = licence_for(user)
    order = order_for(licence, OrderState.ERROR)
    type(order).objects.filter(pk=order.pk).update(**text_fields(error_message=failure.message))
    client.force_login(user)
    page = client.get(
        reverse("dashboard-tab", args=[licence.key, "errors"]), HTTP_ACCEPT_LANGUAGE="nl"
    ).content.decode()
    assert "Het totaal van de bestelling is € 72,33" in page and "€ 77,33" in page
    page = client.get(
        reverse("dashboard-tab", args=[licence.key, "errors"]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "The order total is €72.33" in page


@pytest.mark.parametrize(
    ("language", "tab_label", "state"),
    [("fr", "Ouvertes (1)", "Ouverte"), ("nl", "Open (1)", "Open"), ("en", "Open (1)", "Open")],
)
def test_the_open_tab_is_plural_and_an_orders_state_singular(client, language, tab_label, state):
    """French names the tab "Ouvertes" (the open orders) but one order's state "Ouverte"."""
    tab, detail = dashboard_pages(client, language, OrderState.OPEN, "open")
    assert f">{tab_label}</a>" in tab
    assert f'<span class="muted">{state}</span></h2>' in detail


@pytest.mark.parametrize(
    ("language", "invoiced", "processing"),
    [
        ("nl", "al gefactureerd", "niet mogelijk in de staat Bezig"),
        ("fr", "déjà facturée", "impossible dans l'état En cours"),
        ("en", "already invoiced", "not possible in the state Processing"),
    ],
)
def test_why_process_was_refused_is_said_in_the_merchants_language(client, language, invoiced, processing):
    user = login(f"refused-{language}@shop.example")
    licence = licence_for(user)
    handled, busy = order_for(licence, OrderState.HANDLED), order_for(licence, OrderState.PROCESSING)
    client.force_login(user)
    page = client.post(
        reverse("dashboard-process", args=[licence.key]),
        {"orders": [handled.pk, busy.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    page = html.unescape(page)  # as the merchant reads it
    assert invoiced in page and processing in page


@pytest.mark.parametrize(
    ("language", "received", "read"),
    [
        ("nl", "Melding „nieuwe bestelling” ontvangen", "(melding „nieuwe bestelling”)"),
        ("fr", "Message « nouvelle commande » reçu", "(message « nouvelle commande »)"),
        ("en", "“New order” notice received", "(“new order” notice)"),
    ],
)
def test_the_timeline_names_webhooks_and_triggers_in_words(language, received, read):
    from django.utils import translation

    from orders.texts import Text, payload_of, translated

    line = Text("%(event)s received", event="order.created")
    read_line = Text(
        "Read from KMO Shops (%(trigger)s): %(status)s, total €%(total)s",
        trigger="webhook order.created",
        status="PAID",
        total="25.00",
    )
    with translation.override(language):
        assert translated(payload_of(line), "") == received
        assert read in translated(payload_of(read_line), "")


@pytest.mark.parametrize(
    ("language", "read", "credit_note", "changed"),
    [
        ("nl", "totaal € 1.234,50", "van € 12,10 gemaakt", "gefactureerd € 1.234,50"),
        ("fr", "total 1\xa0234,50 €", "de 12,10 € créée", "facturé 1\xa0234,50 €"),
        ("en", "total €1,234.50", "of €12.10 for", "invoiced €1,234.50"),
    ],
)
def test_amounts_in_the_timeline_read_as_the_merchants_language_writes_them(
    language, read, credit_note, changed
):
    """A Dutch or French merchant reads a decimal comma (and the shop's thousands), not "€1234.5"."""
    from django.utils import translation

    from orders.texts import Text, payload_of, translated

    lines = [
        Text("Read from KMO Shops: %(status)s, total €%(total)s", status="PAID", total="1234.5"),
        Text(
            "Created credit note %(number)s of €%(amount)s for invoice %(invoice)s.",
            number="CN-1",
            amount="12.10",
            invoice="F-1",
        ),
        Text(
            "Changed after invoicing: invoiced €%(invoiced)s, the shop now says €%(total)s. No second invoice "
            "is made; use Credit and re-invoice if the invoice must follow.",
            invoiced="1234.50",
            total="1300.00",
        ),
    ]
    with translation.override(language):
        shown = [translated(payload_of(line), "") for line in lines]
    assert read in shown[0]
    assert credit_note in shown[1]
    assert changed in shown[2]
    assert all("1234.5" not in line for line in shown)


@pytest.mark.parametrize(
    ("language", "written"), [("nl", "€ 1.234,50"), ("fr", "1\xa0234,50 €"), ("en", "€1,234.50")]
)
def test_one_money_format_per_language_in_lists_sentences_and_the_timeline(language, written):
    """The Errors list, an error sentence and the timeline write an amount the same way (#20.6)."""
    from django.template import Context, Template
    from django.utils import translation

    from orders.texts import Text, payload_of, translated

    with translation.override(language):
        listed = Template("{% load merchant %}{{ amount|money }}").render(Context({"amount": "1234.5"}))
        sentence = translated(payload_of(Text("The order total is %(total)s, but …", total="€1234.50")), "")
        timeline = translated(
            payload_of(
                Text("Read from KMO Shops: %(status)s, total €%(total)s", status="PAID", total="1234.5")
            ),
            "",
        )
    assert listed == written and written in sentence and written in timeline


@pytest.mark.parametrize(
    ("language", "order", "licence"), [("nl", "Geannuleerd", "Opgezegd"), ("fr", "Annulée", "Résiliée")]
)
def test_a_cancelled_order_and_a_cancelled_licence_are_different_words(language, order, licence):
    """KMO Shops' CANCELLED payment status is an order cancelled, not a licence terminated (#20.6)."""
    from django.utils import translation

    from licenses.models import LicenceState
    from orders.labels import payment_status_label

    with translation.override(language):
        assert payment_status_label("CANCELLED") == order
        assert str(LicenceState.CANCELLED.label) == licence


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_refusal_that_is_a_whole_sentence_does_not_end_in_two_full_stops(client, language):
    """Process on an order still waiting for payment: the reason is a sentence of its own (#20.6)."""
    user = login(f"stops-{language}@shop.example")
    licence = licence_for(user)
    waiting = order_for(licence, OrderState.OPEN, payment_status="AWAITING_PAYMENT")
    client.force_login(user)
    page = client.post(
        reverse("dashboard-process", args=[licence.key]),
        {"orders": [waiting.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    [message] = re.findall(r'<li class="error">([^<]+)</li>', page)
    assert waiting.order_number in message and not re.search(r"(?<!\.)\.\.(?!\.)", message), message


def test_a_country_in_a_sentence_is_named_in_the_merchants_language_and_grammar():
    """Codes became names ("DE" → "Duitsland", "Allemagne"): no "de Allemagne" in French (#20.6)."""
    from django.utils import translation

    from orders.checks import check_vat_number
    from orders.ecwid_mapping import domain_order_from_ecwid
    from orders.texts import payload_of, translated
    from tests.conftest import order_fixture

    case = order_fixture("a07")
    failure = check_vat_number(domain_order_from_ecwid(case["order"], case["store_profile"]))
    shown = {}
    for language in ("nl", "fr", "en"):
        with translation.override(language):
            shown[language] = translated(payload_of(failure.message), "")
    assert "uit Duitsland" in shown["nl"]
    assert "(Allemagne)" in shown["fr"] and "de Allemagne" not in shown["fr"]
    assert "from Germany" in shown["en"]
