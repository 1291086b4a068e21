"""Sign-up, the installation URL wizard (OAuth with the sandbox shop, EF key popup, configuration)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from licenses.installation import oauth_state_make
from licenses.models import ConnectionStatus, Licence, MerchantAccess
from tests.conftest import control, order_fixture
from tests.factories import login

pytestmark = pytest.mark.django_db


def signup(client, email="nieuw@winkel.example", company="Nieuwe Winkel BV", shop="https://winkel.example"):
    return client.post(reverse("signup"), {"email": email, "company_name": company, "shop_url": shop})


def test_integrations_page_offers_the_trial(client):
    page = client.get("/").content.decode()
    assert "KMO Shops ↔ EenvoudigFactureren" in page and reverse("signup") in page


def test_signup_creates_licence_login_and_sends_one_email(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = signup(client)
    assert response.status_code == 200 and "nieuw@winkel.example" in response.content.decode()
    licence = Licence.objects.get()
    assert licence.state == "trial" and 29 <= licence.trial_days_left <= 30
    user = get_user_model().objects.get(email="nieuw@winkel.example")
    assert MerchantAccess.objects.filter(user=user, licence=licence).exists()
    [message] = mail.outbox
    assert f"/install/{licence.install_token}/" in message.body
    assert licence.key in message.body
    assert re.search(r"/password/set/[^/]+/[^/]+/", message.body)


def test_signing_up_again_adds_the_licence_to_the_same_login(client, django_capture_on_commit_callbacks):
    existing = login("Winkelier@Example.be")
    with django_capture_on_commit_callbacks(execute=True):
        signup(client, email="winkelier@example.be")
    assert get_user_model().objects.count() == 1
    assert MerchantAccess.objects.get().user == existing
    assert "password: the one you already use" in mail.outbox[0].body


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not-an-email", "company_name": "X", "shop_url": "https://x.example"},
        {"email": "a@b.example", "company_name": "", "shop_url": "https://x.example"},
        {"email": "a@b.example", "company_name": "X", "shop_url": "javascript:alert(1)"},
        {"email": "a@b.example", "company_name": "X\x00Y", "shop_url": "https://x.example"},
    ],
)
def test_bad_signup_input_gets_clear_errors_and_creates_nothing(client, data):
    response = client.post(reverse("signup"), data)
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not Licence.objects.exists()


def test_signup_is_rate_limited(client, settings):
    settings.SIGNUP_RATE_PER_HOUR = 2
    signup(client, email="a1@x.example")
    signup(client, email="a2@x.example")
    response = signup(client, email="a3@x.example")
    assert response.status_code == 429
    assert Licence.objects.count() == 2


def test_signup_throttling_ignores_a_spoofed_forwarded_for_without_a_proxy(client, settings):
    settings.SIGNUP_RATE_PER_HOUR = 5
    settings.TRUSTED_PROXY_HOPS = 0
    statuses = [
        client.post(
            reverse("signup"),
            {"email": f"s{n}@x.example", "company_name": "Spoof BV", "shop_url": "https://s.example"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(7)
    ]
    assert statuses.count(429) == 2
    assert Licence.objects.count() == 5


def test_behind_one_proxy_the_right_most_forwarded_address_counts(client, settings):
    """The client can put anything left of the proxy's own entry; only the proxy's entry is believed."""
    settings.SIGNUP_RATE_PER_HOUR = 2
    settings.TRUSTED_PROXY_HOPS = 1

    def attempt(n, forwarded):
        data = {"email": f"p{n}@x.example", "company_name": "Proxy BV", "shop_url": "https://p.example"}
        return client.post(reverse("signup"), data, HTTP_X_FORWARDED_FOR=forwarded).status_code

    spoofed = [attempt(n, f"198.51.100.{n}, 192.0.2.7") for n in range(3)]
    assert spoofed[-1] == 429  # one real client (192.0.2.7), whatever it claims in front
    assert attempt(9, "192.0.2.8") != 429  # another real client has its own budget


def test_an_unknown_installation_link_is_404(client):
    assert client.get(reverse("install", args=["nope"])).status_code == 404


def test_the_installation_link_works_whatever_login_is_open(client):
    someone_else = login("other@merchant.example")
    client.force_login(someone_else)
    licence = Licence.objects.create(company_name="Mine")
    page = client.get(reverse("install", args=[licence.install_token])).content.decode()
    assert licence.key in page and 'id="connect-shop"' in page


def sandbox_store(sandboxes, case=None):
    case = case or order_fixture("a01")
    return control(sandboxes.kmoshops.url, "stores", {"profile": case["store_profile"]})["store_id"]


def authorize(client, licence, decision, store_id):
    callback = authorized_callback(client, licence, decision, store_id)
    return client.get(callback.path, parse_qs(callback.query), follow=True)


def authorized_callback(client, licence, decision, store_id):
    """Connect pressed in this browser, the shop's consent page answered: the callback URL it sends back."""
    response = client.post(reverse("install-kmoshops", args=[licence.install_token]))
    assert response.status_code == 302
    url = response["Location"]
    assert "state=" in url and "response_type=code" in url
    answer = requests.get(f"{url}&auto={decision}&store_id={store_id}", allow_redirects=False, timeout=5)
    callback = urlsplit(answer.headers["Location"])
    assert callback.path == reverse("install-kmoshops-callback")
    return callback


def test_connect_kmoshops_through_oauth_turns_the_dot_green(client, sandboxes):
    licence = Licence.objects.create(company_name="Mine")
    store_id = sandbox_store(sandboxes)
    page = authorize(client, licence, "approve", store_id).content.decode()
    licence.refresh_from_db()
    assert licence.store_id == store_id
    assert licence.shop_status == ConnectionStatus.OK
    assert licence.shop_profile["formatsAndUnits"]["timezone"] == "Europe/Brussels"
    assert licence.process_from is not None
    assert "KMO Shops is connected." in page
    assert licence.shop_token not in page


def test_refusing_in_kmoshops_shows_a_clear_message(client, sandboxes):
    licence = Licence.objects.create(company_name="Mine")
    page = authorize(client, licence, "deny", sandbox_store(sandboxes)).content.decode()
    assert "You did not give access in KMO Shops" in page
    licence.refresh_from_db()
    assert licence.shop_status == ConnectionStatus.NONE


def test_a_forged_state_is_refused(client, sandboxes):
    response = client.get(reverse("install-kmoshops-callback"), {"code": "x", "state": "forged"})
    assert response.status_code == 400
    assert "could not be verified" in response.content.decode()


def test_a_store_already_connected_to_another_licence_is_refused(client, sandboxes):
    store_id = sandbox_store(sandboxes)
    Licence.objects.create(company_name="First", store_id=store_id)
    second = Licence.objects.create(company_name="Second")
    page = authorize(client, second, "approve", store_id).content.decode()
    assert "already connected" in page
    second.refresh_from_db()
    assert second.store_id is None


def test_ef_key_is_verified_before_the_dot_turns_green(client, sandboxes):
    licence = Licence.objects.create(company_name="Mine")
    url = reverse("install-ef", args=[licence.install_token])
    bad = client.post(url, {"api_key": "wrong-key"})
    assert bad.status_code == 400 and "does not accept this API key" in bad.content.decode()
    control(sandboxes.ef.url, "accounts", {"api_key": "limited", "rights": ["invoices", "clients"]})
    limited = client.post(url, {"api_key": "limited"})
    assert "lacks access to: Items, Layouts" in limited.content.decode()
    control(sandboxes.ef.url, "accounts", {"api_key": "good-key", "name": "Mijn EF", "rates": [21, 6]})
    assert client.post(url, {"api_key": "good-key"}).status_code == 302
    licence.refresh_from_db()
    assert licence.ef_status == ConnectionStatus.OK
    assert licence.ef_vat_rates == ["0", "6", "21"]
    assert licence.ef_layouts == [{"layout_id": 8001, "name": "Standaard"}]
    assert licence.ef_api_key == "good-key"


def test_secrets_are_encrypted_at_rest(db):
    from django.db import connection

    licence = Licence.objects.create(ef_api_key="plain-ef-key-123", shop_token="secret_plain_token")
    with connection.cursor() as cursor:
        cursor.execute("SELECT ef_api_key, shop_token FROM licenses_licence WHERE id = %s", [licence.pk])
        ef_value, shop_value = cursor.fetchone()
    assert ef_value.startswith("fernet:") and "plain-ef-key-123" not in ef_value
    assert shop_value.startswith("fernet:") and "secret_plain_token" not in shop_value
    assert Licence.objects.get(pk=licence.pk).ef_api_key == "plain-ef-key-123"


def test_configuration_completes_the_installation(client, sandboxes):
    licence = Licence.objects.create(
        company_name="Mine",
        shop_status=ConnectionStatus.OK,
        ef_status=ConnectionStatus.OK,
        ef_layouts=[{"layout_id": 8001, "name": "S"}],
    )
    url = reverse("install-configuration", args=[licence.install_token])
    response = client.post(
        url,
        {
            "processable_statuses": ["PAID"],
            "process_from": "2026-11-01",
            "amounts": "shop",
            "reference_template": "{order_number}",
            "vies_check": "on",
        },
        follow=True,
    )
    assert 'id="install-complete"' in response.content.decode()
    licence.refresh_from_db()
    assert licence.installation_complete


def test_oauth_state_is_tied_to_the_licence_and_the_browser_session(db):
    a, b = Licence.objects.create(), Licence.objects.create()
    from licenses.installation import InstallationError, oauth_state_read

    session, other_browser = {}, {}
    state_a, state_b = oauth_state_make(session, a), oauth_state_make(session, b)
    assert a.install_token not in signing_payload(state_a)  # nothing secret readable in the URL
    assert oauth_state_read(session, state_a).licence == a
    assert oauth_state_read(session, state_b).licence == b
    assert oauth_state_read(session, state_a).replay  # used before: never exchanged again
    with pytest.raises(InstallationError):
        oauth_state_read(other_browser, oauth_state_make(session, a))


def signing_payload(state: str) -> str:
    import base64

    head = state.split(":")[0]
    return base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()


def test_reloading_the_callback_keeps_the_connection_and_says_so(client, sandboxes):
    """#19.2: KMO Shops revokes the token of a code used twice; a reload must not exchange it again."""
    licence = Licence.objects.create(company_name="Mine")
    store_id = sandbox_store(sandboxes)
    callback = authorized_callback(client, licence, "approve", store_id)
    first = client.get(callback.path, parse_qs(callback.query), follow=True).content.decode()
    assert "KMO Shops is connected." in first
    reload = client.get(callback.path, parse_qs(callback.query), follow=True).content.decode()
    assert "already connected and keeps working" in reload
    licence.refresh_from_db()
    assert licence.shop_status == ConnectionStatus.OK
    # The token still works at the shop: it was not revoked by a second exchange.
    from connectors.kmoshops.client import KmoShopsClient

    assert KmoShopsClient(store_id=store_id, access_token=licence.shop_token).profile()


def test_a_reload_after_the_token_was_revoked_says_the_connection_no_longer_works(client, sandboxes):
    licence = Licence.objects.create(company_name="Mine")
    store_id = sandbox_store(sandboxes)
    callback = authorized_callback(client, licence, "approve", store_id)
    client.get(callback.path, parse_qs(callback.query))
    licence.refresh_from_db()
    # The code is used a second time elsewhere (the old release's reload did this): the shop revokes the token.
    from connectors.errors import ConnectorError
    from connectors.kmoshops.client import oauth_code_exchange
    from licenses.installation import oauth_redirect_uri

    with pytest.raises(ConnectorError):
        oauth_code_exchange(code=parse_qs(callback.query)["code"][0], redirect_uri=oauth_redirect_uri())
    page = client.get(callback.path, parse_qs(callback.query), follow=True).content.decode()
    assert "no longer works" in page
    licence.refresh_from_db()
    assert licence.shop_status == ConnectionStatus.FAILING


def test_a_finished_installations_link_changes_nothing_any_more(client, sandboxes):
    """#19.10: a forwarded welcome e-mail cannot replace the EF key once the merchant uses the dashboard."""
    user = login("done@merchant.example")
    licence = Licence.objects.create(
        company_name="Mine",
        shop_status=ConnectionStatus.OK,
        ef_status=ConnectionStatus.OK,
        configured_at=timezone.now(),
    )
    MerchantAccess.objects.create(user=user, licence=licence)
    user.last_login = timezone.now()
    user.save()
    old_token = licence.install_token
    response = client.post(reverse("install-ef", args=[old_token]), {"api_key": "attacker-key"})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    licence.refresh_from_db()
    assert licence.install_token != old_token and licence.ef_api_key != "attacker-key"
    assert client.post(reverse("install-kmoshops", args=[old_token])).status_code == 404
    # The merchant who opens the welcome e-mail's link again learns why it stopped and where to go,
    # not only that the licence may have been cancelled.
    page = client.get(reverse("install", args=[old_token]))
    assert page.status_code == 404
    text = page.content.decode()
    assert "installation was finished" in text and "a newer link replaced it" in text
    assert reverse("login") in text


def _unfinished_licence(email: str = "late@merchant.example") -> Licence:
    user = login(email)
    licence = Licence.objects.create(company_name="Late BV")
    MerchantAccess.objects.create(user=user, licence=licence)
    return licence


def test_an_installation_link_expires_after_its_days(client, settings):
    """#19.10: a welcome e-mail's link that was never used does not open the wizard (EF key, shop
    connection) forever: after INSTALL_LINK_DAYS it explains how to go on, and a step changes nothing."""
    settings.INSTALL_LINK_DAYS = 30
    licence = _unfinished_licence()
    assert client.get(reverse("install", args=[licence.install_token])).status_code == 200
    Licence.objects.filter(pk=licence.pk).update(
        install_token_issued_at=timezone.now() - timezone.timedelta(days=31)
    )
    page = client.get(reverse("install", args=[licence.install_token]))
    assert page.status_code == 410
    text = page.content.decode()
    assert "expired" in text and "30 days" in text and reverse("login") in text
    step = client.post(reverse("install-ef", args=[licence.install_token]), {"api_key": "attacker-key"})
    assert step.status_code == 410
    licence.refresh_from_db()
    assert licence.ef_api_key in ("", None)


def test_a_logged_in_merchant_continues_the_installation_with_a_fresh_link(client, settings):
    settings.INSTALL_LINK_DAYS = 30
    licence = _unfinished_licence()
    old_token = licence.install_token
    Licence.objects.filter(pk=licence.pk).update(
        install_token_issued_at=timezone.now() - timezone.timedelta(days=31)
    )
    client.force_login(licence.access.get().user)
    home = client.get(reverse("dashboard-home"), follow=True).content.decode()
    continue_url = reverse("dashboard-installation", args=[licence.key])
    assert continue_url in home  # the banner's "Continue the installation"
    response = client.get(continue_url)
    licence.refresh_from_db()
    assert licence.install_token != old_token
    assert response.status_code == 302 and response["Location"] == reverse(
        "install", args=[licence.install_token]
    )
    assert client.get(response["Location"]).status_code == 200
    assert client.get(reverse("install", args=[old_token])).status_code == 404  # the old link stays dead
    # Another merchant cannot get a link to this licence through that URL.
    client.force_login(login("other@merchant.example"))
    assert client.get(continue_url).status_code == 404
