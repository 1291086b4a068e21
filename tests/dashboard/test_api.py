"""The merchant's REST API: keys, every endpoint, one error shape, throttling, other licences unreachable,
and an OpenAPI schema that names every endpoint."""

from __future__ import annotations

import re

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from dashboard.api.authentication import PerKeyThrottle
from dashboard.api.keys import api_key_create
from dashboard.models import ApiKey, Ticket
from orders.models import OrderState
from tests.factories import licence_for, login, order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    user = login("api@shop.example")
    licence = licence_for(user)
    orders = {
        "handled": order_for(licence, OrderState.HANDLED, customer_name="Lotte Claes"),
        "error": order_for(licence, OrderState.ERROR, error_code="VAT_RATE_UNKNOWN"),
        "open": order_for(licence, OrderState.OPEN),
    }
    _, key = api_key_create(licence=licence, name="Boekhouder")
    return user, licence, orders, key


@pytest.fixture
def other():
    user = login("other@shop.example")
    licence = licence_for(user)
    order = order_for(licence, OrderState.ERROR, order_number="THEIRS-1")
    _, key = api_key_create(licence=licence, name="Theirs")
    return licence, order, key


def call(client, method, name, key, *args, language="en", data=None, **query):
    url = reverse(name, args=args)
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    if key:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    if method == "get":
        return client.get(url, query, **headers)
    return client.post(url, data or {}, content_type="application/json", **headers)


def test_a_key_is_shown_once_stored_as_a_digest_and_listed_by_its_prefix(client, shop):
    user, licence, _, _ = shop
    client.force_login(user)
    url = reverse("dashboard-api-keys", args=[licence.key])
    made = client.post(url, {"name": "Mijn script"}, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    key = made.split('id="new-key-value">')[1].split("<")[0]
    assert key.startswith("kmo_") and len(key) > 40
    row = ApiKey.objects.get(licence=licence, name="Mijn script")
    assert key not in row.digest and row.prefix == key[:10]
    again = client.get(url, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert key not in again and row.prefix in again and "Mijn script" in again
    assert call(client, "get", "api-licence", key).status_code == 200


def test_licence_shows_state_connections_and_configuration_without_secrets(client, shop):
    _, licence, _, key = shop
    body = call(client, "get", "api-licence", key).json()
    assert body["key"] == licence.key and body["state"] == "trial"
    assert body["connections"]["eenvoudigfactureren"]["status"] == "ok"
    assert body["configuration"]["peppol_be_business"] is True
    assert licence.ef_api_key not in str(body) and licence.shop_token not in str(body)


def test_no_key_a_wrong_key_and_a_revoked_key_are_401_in_one_error_shape(client, shop):
    user, licence, _, key = shop
    missing = call(client, "get", "api-licence", None)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    wrong = call(client, "get", "api-licence", "kmo_not-a-key", language="nl")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {
            "code": "authentication_failed",
            "message": "Deze API-sleutel is onbekend of werd ingetrokken.",
        }
    }
    client.force_login(user)
    row = ApiKey.objects.get(licence=licence)
    client.post(reverse("dashboard-api-keys", args=[licence.key]), {"revoke": row.pk})
    client.logout()
    assert call(client, "get", "api-licence", key).status_code == 401


def test_orders_list_by_tab_with_cursor_pages_and_only_the_keys_licence(client, shop, other):
    _, licence, orders, key = shop
    everything = call(client, "get", "api-orders", key).json()
    assert {o["order_number"] for o in everything["results"]} == {o.order_number for o in orders.values()}
    errors = call(client, "get", "api-orders", key, tab="errors").json()["results"]
    assert [o["order_number"] for o in errors] == [orders["error"].order_number]
    assert errors[0]["error_code"] == "VAT_RATE_UNKNOWN"
    by_state = call(client, "get", "api-orders", key, state="open").json()["results"]
    assert [o["order_number"] for o in by_state] == [orders["open"].order_number]
    assert call(client, "get", "api-orders", key, state="lost").status_code == 400
    first = call(client, "get", "api-orders", key, page_size=2).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"], HTTP_AUTHORIZATION=f"Bearer {key}").json()
    seen = [o["order_number"] for o in first["results"] + second["results"]]
    assert sorted(seen) == sorted(o.order_number for o in orders.values())
    assert "THEIRS-1" not in str(everything)
    bad = call(client, "get", "api-orders", key, tab="everything")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    later = call(client, "get", "api-orders", key, updated_since="2999-01-01T00:00:00+00:00").json()
    assert later["results"] == []


def test_one_order_with_timeline_and_how_to_fix_it_and_another_licences_order_is_404(client, shop, other):
    _, _, orders, key = shop
    body = call(client, "get", "api-order", key, orders["error"].order_number, language="fr").json()
    assert body["explanation"]["title"] == "Taux de TVA absent d'EenvoudigFactureren"
    assert body["timeline"][0]["kind"] == "webhook" and body["timeline"][0]["message"]
    missing = call(client, "get", "api-order", key, other[1].order_number)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    for name in ("api-order-process", "api-order-ignore"):
        assert call(client, "post", name, key, other[1].order_number).status_code == 404
    assert other[1].__class__.objects.get(pk=other[1].pk).state == OrderState.ERROR


def test_process_and_ignore_follow_the_buttons_rules(client, shop):
    _, _, orders, key = shop
    ignored = call(client, "post", "api-order-ignore", key, orders["error"].order_number)
    assert ignored.status_code == 202 and ignored.json()["order"]["state"] == "ignored"
    refused = call(client, "post", "api-order-process", key, orders["handled"].order_number, language="nl")
    assert refused.status_code == 409
    assert refused.json() == {"error": {"code": "refused", "message": "al gefactureerd"}}
    again = call(client, "post", "api-order-process", key, orders["error"].order_number)
    assert again.status_code == 202
    event = orders["error"].events.filter(kind="action").last()
    assert event.actor == "api:Boekhouder"


def test_tickets_are_listed_and_asked_through_the_api(client, shop, other):
    _, licence, orders, key = shop
    made = call(
        client,
        "post",
        "api-tickets",
        key,
        data={"message": "Waarom?", "order_number": orders["error"].order_number},
    )
    assert made.status_code == 201 and made.json()["kind"] == "problem"
    assert call(client, "post", "api-tickets", key, data={"message": "Vraag"}).json()["kind"] == "question"
    assert [t["message"] for t in call(client, "get", "api-tickets", key).json()] == ["Vraag", "Waarom?"]
    foreign = call(
        client, "post", "api-tickets", key, data={"message": "x", "order_number": other[1].order_number}
    )
    assert foreign.status_code == 404
    empty = call(client, "post", "api-tickets", key, data={})
    assert empty.status_code == 400 and empty.json()["error"]["message"].startswith("message:")
    assert Ticket.objects.filter(licence=licence).count() == 2


def test_each_key_is_throttled_with_retry_after(client, shop, other, monkeypatch):
    monkeypatch.setattr(PerKeyThrottle, "THROTTLE_RATES", {"api_key": "3/min"})
    key = shop[3]
    answers = [call(client, "get", "api-licence", key) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0 and answers[-1].json()["error"]["code"] == "throttled"
    assert call(client, "get", "api-licence", other[2]).status_code == 200  # another key has its own budget


def test_the_openapi_schema_is_generated_without_warnings_and_names_every_endpoint(tmp_path, client):
    from dashboard.api.urls import urlpatterns

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    for pattern in urlpatterns:
        route = "/api/v1/" + str(pattern.pattern).replace("<str:order_number>", "{order_number}")
        if pattern.name in ("api-schema", "api-docs"):
            continue
        assert route in paths, route
    assert client.get(reverse("api-schema")).status_code == 200
    assert client.get(reverse("api-docs")).status_code == 200


def test_the_api_docs_page_loads_everything_from_us_not_from_a_cdn(client):
    """/api/v1/docs/ was blank where a CDN is out of reach (#20.5): ReDoc and its fonts came from outside."""
    from django.contrib.staticfiles import finders

    page = client.get(reverse("api-docs")).content.decode()
    addresses = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert addresses and all(address.startswith("/") for address in addresses), addresses
    assert "googleapis" not in page and "jsdelivr" not in page
    [script] = [a for a in addresses if a.endswith(".js")]
    assert finders.find(script.removeprefix("/" + settings.STATIC_URL.lstrip("/")))  # served by us
