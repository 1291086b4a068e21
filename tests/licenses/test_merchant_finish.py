"""A Dutch or French merchant installs without a dead end: dates, password, replayed callbacks, reinstalls."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import mail
from django.urls import reverse
from django.utils import translation

from licenses.forms import ConfigurationForm
from licenses.models import ConnectionStatus, Licence, MerchantAccess
from tests.factories import login
from tests.licenses.test_signup_and_installation import authorize, sandbox_store

pytestmark = pytest.mark.django_db
NL = {"HTTP_ACCEPT_LANGUAGE": "nl"}
FR = {"HTTP_ACCEPT_LANGUAGE": "fr"}


def installed(**fields) -> Licence:
    return Licence.objects.create(
        company_name="Mine",
        shop_status=ConnectionStatus.OK,
        ef_status=ConnectionStatus.OK,
        configured_at=datetime(2026, 11, 1, tzinfo=UTC),
        process_from=datetime(2026, 11, 28, 12, tzinfo=UTC),
        **fields,
    )


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_start_date_is_an_iso_date_in_every_language(language):
    licence = installed()
    with translation.override(language):
        html = str(ConfigurationForm(licence=licence)["process_from"])
    assert 'value="2026-11-28"' in html, html


@pytest.mark.parametrize("headers", [NL, FR, {}], ids=["nl", "fr", "en"])
def test_configuration_tab_shows_the_saved_date_and_saves_it_back_unchanged(client, headers):
    user = login("m@x.example")
    licence = installed()
    MerchantAccess.objects.create(user=user, licence=licence)
    client.force_login(user)
    page = client.get(reverse("dashboard-configuration", args=[licence.key]), **headers).content.decode()
    assert 'value="2026-11-28"' in page


@pytest.mark.parametrize(
    ("headers", "peppol_note", "credit_note_note"),
    [
        (NL, "Wettelijk verplicht", "Ze worden verstuurd zoals hun factuur."),
        (FR, "Obligatoire", "Envoyées comme leur facture."),
        ({}, "Required by Belgian law", "Sent the same way as their invoice."),
    ],
    ids=["nl", "fr", "en"],
)
def test_a_checkbox_setting_shows_its_explanation_tied_to_the_box(
    client, headers, peppol_note, credit_note_note
):
    """The Peppol box carries the legal reason to keep it on, the credit-note box how credit notes travel:
    both were left out of the page for checkboxes."""
    user = login("m@x.example")
    licence = installed()
    MerchantAccess.objects.create(user=user, licence=licence)
    client.force_login(user)
    page = client.get(reverse("dashboard-configuration", args=[licence.key]), **headers).content.decode()
    assert peppol_note in page
    assert credit_note_note in page
    # A screen reader reads the explanation with the box (Django points the box at `<id>_helptext`).
    assert 'aria-describedby="id_peppol_be_business_helptext"' in page
    assert 'id="id_peppol_be_business_helptext"' in page


@pytest.mark.parametrize("headers", [NL, FR], ids=["nl", "fr"])
def test_password_reset_pages_and_mail_are_the_products_own(client, settings, headers):
    settings.SITE_URL = "https://koppeling.example.be"
    login("winkel@x.example")
    page = client.get(reverse("password_reset"), **headers).content.decode()
    assert "Django" not in page and "KMO Shops → EenvoudigFactureren" in page
    client.post(reverse("password_reset"), {"email": "winkel@x.example"}, **headers)
    [message] = mail.outbox
    assert "https://koppeling.example.be/password/set/" in message.body
    assert "127.0.0.1" not in message.body and "testserver" not in message.body
    assert "KMO Shops → EenvoudigFactureren" in message.subject
    dead = client.get(
        reverse("password_reset_confirm", args=["MQ", "set-password"]), **headers
    ).content.decode()
    assert 'id="link-invalid"' in dead and "Django" not in dead
    assert reverse("password_reset") in dead


def test_the_finished_installation_lets_the_merchant_choose_the_password_and_log_in(client):
    user = login("nieuw@winkel.example")
    licence = installed()
    MerchantAccess.objects.create(user=user, licence=licence)
    page = client.get(reverse("install", args=[licence.install_token])).content.decode()
    assert 'id="install-password"' in page and "nieuw@winkel.example" in page
    response = client.post(
        reverse("install-password", args=[licence.install_token]),
        {"new_password1": "fiets-bel-zomer-42", "new_password2": "fiets-bel-zomer-42"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard-home")
    assert client.get(reverse("dashboard-home")).status_code == 302  # logged in: on to the licence
    user.refresh_from_db()
    assert user.check_password("fiets-bel-zomer-42") and user.last_login is not None
    # Once chosen, the installation link cannot choose it again.
    client.logout()
    page = client.get(reverse("install", args=[licence.install_token])).content.decode()
    assert 'id="install-password"' not in page and reverse("password_reset") in page
    again = client.post(
        reverse("install-password", args=[licence.install_token]),
        {"new_password1": "other-pass-9876", "new_password2": "other-pass-9876"},
    )
    assert again["Location"] == reverse("login")
    user.refresh_from_db()
    assert user.check_password("fiets-bel-zomer-42")


def test_the_installation_link_from_a_dutch_mail_opens_in_dutch(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("signup"),
            {"email": "nl@winkel.example", "company_name": "Winkel", "shop_url": "https://w.example"},
            HTTP_ACCEPT_LANGUAGE="nl",
        )
    link = next(line for line in mail.outbox[0].body.splitlines() if "/install/" in line).strip()
    assert link.endswith("?lang=nl")
    fresh = client.__class__()
    page = fresh.get(
        urlsplit(link).path + "?" + urlsplit(link).query, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert '<html lang="nl">' in page


def test_back_after_the_oauth_return_leaves_the_working_connection_green(client, sandboxes):
    licence = Licence.objects.create(company_name="Mine")
    store_id = sandbox_store(sandboxes)
    response = client.post(reverse("install-kmoshops", args=[licence.install_token]))
    answer = requests.get(
        f"{response['Location']}&auto=approve&store_id={store_id}", allow_redirects=False, timeout=5
    )
    callback = urlsplit(answer.headers["Location"])
    client.get(callback.path, parse_qs(callback.query), follow=True)
    licence.refresh_from_db()
    assert licence.shop_status == ConnectionStatus.OK
    replay = client.get(callback.path, parse_qs(callback.query), follow=True, **NL).content.decode()
    licence.refresh_from_db()
    assert licence.shop_status == ConnectionStatus.OK and licence.shop_status_reason == ""
    assert "Bad Request" not in replay and "al gekoppeld" in replay


def test_reinstalling_on_a_connected_store_says_what_to_do(client, sandboxes):
    store_id = sandbox_store(sandboxes)
    first = Licence.objects.create(company_name="First", store_id=store_id)
    second = Licence.objects.create(company_name="Second")
    client.cookies["django_language"] = "fr"
    page = authorize(client, second, "approve", store_id).content.decode()
    assert first.key in page and "Supprimer" in page


def test_a_refused_authorization_code_is_explained_in_the_merchants_language(client, sandboxes):
    licence = Licence.objects.create(company_name="Mine")
    started = client.post(reverse("install-kmoshops", args=[licence.install_token]))
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    response = client.get(
        reverse("install-kmoshops-callback"),
        {"code": "not-a-code", "state": state},
        follow=True,
        **NL,
    )
    page = response.content.decode()
    assert "KMO Shops aanvaardde de koppeling niet" in page
    licence.refresh_from_db()
    with translation.override("nl"):
        assert licence.shop_status_shown.startswith("KMO Shops aanvaardde de koppeling niet")
    assert licence.shop_status_reason == "400 Bad Request"  # the shop's words, behind Details only
