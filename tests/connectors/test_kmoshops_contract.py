"""KMO Shops client against the KMO Shops sandbox, over loopback HTTP."""

from __future__ import annotations

import copy
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.errors import AuthenticationError, NotFoundError, TransientError
from connectors.kmoshops.client import KmoShopsClient, oauth_authorize_url, oauth_code_exchange
from connectors.kmoshops.signature import webhook_signature, webhook_signature_valid
from connectors.sandbox_server import Request, Response, SandboxApp, SandboxServer, json_response
from tests.conftest import ORDER_FIXTURES, control, order_fixture

SPEC_SECRET = "test_client_secret_abc123"
SPEC_EVENT_ID = "5f0c3a8e-6d3b-4c51-9a7e-2f1d0c9b8a77"
SPEC_SIGNATURE = "h142gNqKCZLPMFjCF2ZShZa0INtHl+VdlNJmQAHJRfA="


def test_signature_matches_the_spec_test_vector():
    assert webhook_signature(SPEC_SECRET, 1725434529, SPEC_EVENT_ID) == SPEC_SIGNATURE
    assert webhook_signature_valid(SPEC_SECRET, 1725434529, SPEC_EVENT_ID, SPEC_SIGNATURE)


@pytest.mark.parametrize(
    ("secret", "created", "event_id", "signature"),
    [
        ("wrong-secret", 1725434529, SPEC_EVENT_ID, SPEC_SIGNATURE),
        (SPEC_SECRET, 1725434530, SPEC_EVENT_ID, SPEC_SIGNATURE),
        (SPEC_SECRET, 1725434529, SPEC_EVENT_ID.replace("5", "6"), SPEC_SIGNATURE),
        (SPEC_SECRET, 1725434529, SPEC_EVENT_ID, ""),
        ("", 1725434529, SPEC_EVENT_ID, SPEC_SIGNATURE),
        (SPEC_SECRET, 1725434529, SPEC_EVENT_ID, "h142gNqKCZLPMFjCF2ZShZa0INtHl+VdlNJmQAHJRfA"),
        (SPEC_SECRET, 1725434529, SPEC_EVENT_ID, "ünïcode"),
    ],
)
def test_signature_rejects_anything_else(secret, created, event_id, signature):
    assert not webhook_signature_valid(secret, created, event_id, signature)


def store_with_token(sandboxes, fixture_name: str = "a01") -> tuple[int, str, dict]:
    case = order_fixture(fixture_name)
    store_id = control(sandboxes.kmoshops.url, "stores", {"profile": case["store_profile"]})["store_id"]
    token = control(sandboxes.kmoshops.url, f"stores/{store_id}/tokens")["access_token"]
    return store_id, token, case


def load_order(sandboxes, store_id: int, order: dict, notify: bool = False) -> None:
    control(sandboxes.kmoshops.url, f"stores/{store_id}/orders", {"order": order, "notify": notify})


def authorize(redirect_uri: str, state: str, decision: str, store_id: int) -> dict[str, list[str]]:
    url = (
        oauth_authorize_url(redirect_uri=redirect_uri, state=state) + f"&auto={decision}&store_id={store_id}"
    )
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(redirect_uri)
    return parse_qs(urlsplit(location).query)


def test_oauth_code_flow_gives_a_working_token_and_echoes_state(sandboxes):
    store_id, _, case = store_with_token(sandboxes)
    redirect_uri = "http://127.0.0.1:9/install/callback"
    query = authorize(redirect_uri, "state-123", "approve", store_id)
    assert query["state"] == ["state-123"]
    grant = oauth_code_exchange(code=query["code"][0], redirect_uri=redirect_uri)
    assert grant.store_id == store_id
    assert grant.access_token.startswith("secret_")
    assert "read_orders" in grant.scope
    profile = KmoShopsClient(store_id=store_id, access_token=grant.access_token).profile()
    assert profile["formatsAndUnits"]["timezone"] == case["store_profile"]["formatsAndUnits"]["timezone"]


def test_oauth_refusal_comes_back_as_access_denied(sandboxes):
    store_id, _, _ = store_with_token(sandboxes)
    query = authorize("http://127.0.0.1:9/cb", "s1", "deny", store_id)
    assert query == {"error": ["access_denied"], "state": ["s1"]}


def test_reusing_an_oauth_code_fails_and_revokes_the_token(sandboxes):
    store_id, _, _ = store_with_token(sandboxes)
    redirect_uri = "http://127.0.0.1:9/cb"
    code = authorize(redirect_uri, "s", "approve", store_id)["code"][0]
    grant = oauth_code_exchange(code=code, redirect_uri=redirect_uri)
    with pytest.raises(Exception) as excinfo:
        oauth_code_exchange(code=code, redirect_uri=redirect_uri)
    assert "invalid_grant" in str(excinfo.value) or getattr(excinfo.value, "status", None) == 400
    with pytest.raises(AuthenticationError) as auth_error:
        KmoShopsClient(store_id=store_id, access_token=grant.access_token).profile()
    assert auth_error.value.code == "INVALID_API_TOKEN"
    assert auth_error.value.status == 403


def test_oauth_rejects_a_foreign_redirect_uri(sandboxes):
    sandboxes.shop.redirect_prefix = "http://127.0.0.1:9/"
    url = oauth_authorize_url(redirect_uri="https://evil.example/cb", state="s")
    assert requests.get(url, allow_redirects=False, timeout=5).status_code == 400


def test_an_unknown_token_is_an_authentication_error(sandboxes):
    store_id, _, _ = store_with_token(sandboxes)
    with pytest.raises(AuthenticationError):
        KmoShopsClient(store_id=store_id, access_token="secret_nope").order_get("X")


def test_a_token_for_another_store_does_not_reach_this_store(sandboxes):
    store_id, token, _ = store_with_token(sandboxes)
    other = control(sandboxes.kmoshops.url, "stores", {"profile": {"generalInfo": {"storeId": 97599999}}})
    with pytest.raises(NotFoundError) as excinfo:
        KmoShopsClient(store_id=other["store_id"], access_token=token).profile()
    assert excinfo.value.code == "STORE_NOT_FOUND"


@pytest.mark.parametrize("path", ORDER_FIXTURES, ids=lambda p: p.stem)
def test_every_fixture_order_reads_back_unchanged(sandboxes, path):
    case = json.loads(path.read_text(encoding="utf-8"))
    store_id, token, _ = store_with_token(sandboxes, path.stem[:3])
    load_order(sandboxes, store_id, case["order"])
    client = KmoShopsClient(store_id=store_id, access_token=token)
    assert client.order_get(case["order"]["id"]) == case["order"]
    assert client.order_get(case["order"]["internalId"]) == case["order"]
    assert client.profile() == case["store_profile"]


def test_a_missing_order_is_not_found_with_ecwids_code(sandboxes):
    store_id, token, _ = store_with_token(sandboxes)
    with pytest.raises(NotFoundError) as excinfo:
        KmoShopsClient(store_id=store_id, access_token=token).order_get("NOPE-1")
    assert excinfo.value.code == "ORDER_NOT_FOUND"


def make_orders(base: dict, count: int, *, status: str = "PAID", start_ts: int = 1_750_000_000) -> list[dict]:
    orders = []
    for n in range(count):
        order = copy.deepcopy(base)
        order.update(
            id=f"P{n:04d}",
            internalId=700_000 + n,
            orderNumber=700_000 + n,
            paymentStatus=status,
            updateTimestamp=start_ts + n,
            createTimestamp=start_ts + n,
        )
        orders.append(order)
    return orders


def test_search_pages_to_the_end(sandboxes):
    store_id, token, case = store_with_token(sandboxes)
    for order in make_orders(case["order"], 250):
        load_order(sandboxes, store_id, order)
    found = list(KmoShopsClient(store_id=store_id, access_token=token).orders_search())
    assert len(found) == 250
    assert len({o["id"] for o in found}) == 250


def test_search_filters_on_update_time_and_payment_status(sandboxes):
    store_id, token, case = store_with_token(sandboxes)
    orders = make_orders(case["order"], 10)
    orders[7]["paymentStatus"] = "AWAITING_PAYMENT"
    for order in orders:
        load_order(sandboxes, store_id, order)
    client = KmoShopsClient(store_id=store_id, access_token=token)
    recent = [o["id"] for o in client.orders_search(updated_from=1_750_000_005)]
    assert recent == ["P0005", "P0006", "P0007", "P0008", "P0009"]
    paid = [o["id"] for o in client.orders_search(updated_from=1_750_000_005, payment_statuses=["PAID"])]
    assert paid == ["P0005", "P0006", "P0008", "P0009"]


def test_incomplete_orders_are_hidden_unless_asked_for(sandboxes):
    store_id, token, case = store_with_token(sandboxes)
    orders = make_orders(case["order"], 3)
    orders[1]["paymentStatus"] = "INCOMPLETE"
    for order in orders:
        load_order(sandboxes, store_id, order)
    client = KmoShopsClient(store_id=store_id, access_token=token)
    assert [o["id"] for o in client.orders_search()] == ["P0000", "P0002"]
    assert [o["id"] for o in client.orders_search(payment_statuses=["INCOMPLETE"])] == ["P0001"]


def test_rate_limit_answers_429_with_retry_after(sandboxes):
    store_id, token, _ = store_with_token(sandboxes)
    sandboxes.shop.rate_limit_per_minute = 3
    client = KmoShopsClient(store_id=store_id, access_token=token)
    for _ in range(3):
        client.profile()
    with pytest.raises(TransientError) as excinfo:
        client.profile()
    assert excinfo.value.status == 429
    assert excinfo.value.code == "RATE_LIMITED"
    assert excinfo.value.retry_after is not None and 1 <= excinfo.value.retry_after <= 61


def test_server_errors_and_unreachable_shops_are_transient(sandboxes, settings):
    store_id, token, _ = store_with_token(sandboxes)
    control(sandboxes.kmoshops.url, "faults", {"status": 503, "count": 1})
    client = KmoShopsClient(store_id=store_id, access_token=token)
    with pytest.raises(TransientError) as excinfo:
        client.profile()
    assert excinfo.value.status == 503
    assert client.profile()["generalInfo"]["storeId"] == store_id
    with pytest.raises(TransientError):
        KmoShopsClient(store_id=store_id, access_token=token, api_url="http://127.0.0.1:9/api/v3").profile()


class Receiver(SandboxApp):
    """A webhook endpoint that answers a scripted sequence of statuses and records what arrived."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__()
        self.statuses = statuses
        self.received: list[Request] = []
        self.route("POST", r"/hook", self.hook)

    def hook(self, request: Request) -> Response:
        with self.lock:
            self.received.append(request)
            status = self.statuses.pop(0) if self.statuses else 200
        return json_response({}, status)


@pytest.fixture
def receiver(sandboxes):
    servers = []

    def start(statuses: list[int]) -> Receiver:
        app = Receiver(statuses)
        server = SandboxServer(app).start()
        servers.append(server)
        sandboxes.shop.webhook_url = f"{server.url}/hook"
        return app

    yield start
    for server in servers:
        server.stop()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def test_webhooks_are_signed_and_carry_the_event_type(sandboxes, receiver):
    hook = receiver([])
    store_id, _, case = store_with_token(sandboxes)
    load_order(sandboxes, store_id, case["order"], notify=True)
    wait_for(lambda: len(hook.received) == 1)
    request = hook.received[0]
    event = request.json()
    assert request.arg("eventtype") == "order.created"
    assert event["eventType"] == "order.created"
    assert event["storeId"] == store_id
    assert event["data"]["orderId"] == case["order"]["id"]
    assert webhook_signature_valid(
        sandboxes.shop.client_secret,
        event["eventCreated"],
        event["eventId"],
        request.header("x-ecwid-webhook-signature"),
    )


def test_payment_change_sends_order_updated_with_old_and_new_status(sandboxes, receiver):
    hook = receiver([])
    store_id, _, _ = store_with_token(sandboxes)
    case = order_fixture("a10")
    load_order(sandboxes, store_id, case["order"])
    control(
        sandboxes.kmoshops.url,
        f"stores/{store_id}/orders/{case['order']['id']}/payment-status",
        {"paymentStatus": "PAID"},
    )
    wait_for(lambda: len(hook.received) == 1)
    data = hook.received[0].json()["data"]
    assert data["oldPaymentStatus"] == "AWAITING_PAYMENT"
    assert data["newPaymentStatus"] == "PAID"


def test_only_ecwid_success_codes_count_and_failures_are_retried(sandboxes, receiver):
    sandboxes.shop.time_compression = 900 * 60  # 15 minutes become 1/60 s
    hook = receiver([500, 203, 302, 201])
    store_id, _, case = store_with_token(sandboxes)
    load_order(sandboxes, store_id, case["order"], notify=True)
    wait_for(
        lambda: len(control(sandboxes.kmoshops.url, "webhooks/deliveries", method="GET")["deliveries"]) == 4
    )
    deliveries = control(sandboxes.kmoshops.url, "webhooks/deliveries", method="GET")["deliveries"]
    assert [d["status"] for d in deliveries] == [500, 203, 302, 201]
    assert [d["delivered"] for d in deliveries] == [False, False, False, True]
    assert len({r.json()["eventId"] for r in hook.received}) == 1


def test_duplicate_and_out_of_order_delivery_modes(sandboxes, receiver):
    hook = receiver([])
    store_id, _, case = store_with_token(sandboxes)
    control(sandboxes.kmoshops.url, "webhooks/config", {"hold": True})
    load_order(sandboxes, store_id, case["order"], notify=True)
    control(
        sandboxes.kmoshops.url,
        f"stores/{store_id}/orders/{case['order']['id']}",
        {"fulfillmentStatus": "SHIPPED"},
    )
    control(sandboxes.kmoshops.url, "webhooks/config", {"hold": False, "duplicate": True})
    control(sandboxes.kmoshops.url, "webhooks/flush", {"reverse": True})
    wait_for(lambda: len(hook.received) == 4)
    types = [r.json()["eventType"] for r in hook.received]
    assert types == ["order.updated", "order.updated", "order.created", "order.created"]


def test_uninstall_revokes_the_token_and_says_so(sandboxes, receiver):
    hook = receiver([])
    store_id, token, _ = store_with_token(sandboxes)
    control(sandboxes.kmoshops.url, f"stores/{store_id}/uninstall")
    wait_for(lambda: len(hook.received) == 1)
    assert hook.received[0].json()["eventType"] == "application.uninstalled"
    with pytest.raises(AuthenticationError):
        KmoShopsClient(store_id=store_id, access_token=token).profile()


def test_deleting_an_order_sends_order_deleted(sandboxes, receiver):
    hook = receiver([])
    store_id, _, case = store_with_token(sandboxes)
    load_order(sandboxes, store_id, case["order"])
    control(sandboxes.kmoshops.url, f"stores/{store_id}/orders/{case['order']['id']}", method="DELETE")
    wait_for(lambda: len(hook.received) == 1)
    event = hook.received[0].json()
    assert event["eventType"] == "order.deleted"
    assert event["data"] == {"orderId": case["order"]["id"]}


def test_paying_an_unfinished_checkout_sends_order_created(sandboxes, receiver):
    hook = receiver([])
    store_id, token, case = store_with_token(sandboxes)
    unfinished = dict(case["order"], paymentStatus="INCOMPLETE")
    load_order(sandboxes, store_id, unfinished)
    assert list(KmoShopsClient(store_id=store_id, access_token=token).orders_search()) == []
    control(
        sandboxes.kmoshops.url,
        f"stores/{store_id}/orders/{unfinished['id']}/payment-status",
        {"paymentStatus": "PAID"},
    )
    wait_for(lambda: len(hook.received) == 1)
    assert hook.received[0].json()["eventType"] == "order.created"


def test_refunds_and_cancellation_change_the_order_as_ecwid_does_and_send_order_updated(sandboxes, receiver):
    hook = receiver([])
    store_id, token, case = store_with_token(sandboxes)
    order_id, total = case["order"]["id"], case["order"]["total"]
    load_order(sandboxes, store_id, case["order"])
    shop = KmoShopsClient(store_id=store_id, access_token=token)
    base = f"stores/{store_id}/orders/{order_id}"
    control(sandboxes.kmoshops.url, f"{base}/refund", {"amount": 10, "reason": "Beschadigd"})
    order = shop.order_get(order_id)
    assert order["paymentStatus"] == "PARTIALLY_REFUNDED" and order["refundedAmount"] == 10
    assert [(r["amount"], r["reason"], r["source"]) for r in order["refunds"]] == [(10, "Beschadigd", "CP")]
    control(sandboxes.kmoshops.url, f"{base}/refund", {"amount": 5})
    control(sandboxes.kmoshops.url, f"{base}/refund", {})  # the rest
    order = shop.order_get(order_id)
    assert order["paymentStatus"] == "REFUNDED" and order["refundedAmount"] == total
    assert [r["amount"] for r in order["refunds"]] == [10, 5, round(total - 15, 2)]
    assert order["total"] == total  # Ecwid keeps the total; the refunds sit beside it
    control(sandboxes.kmoshops.url, f"{base}/cancel", {})
    assert shop.order_get(order_id)["paymentStatus"] == "CANCELLED"
    wait_for(lambda: len(hook.received) == 4)
    statuses = [request.json()["data"]["newPaymentStatus"] for request in hook.received]
    assert [request.json()["eventType"] for request in hook.received] == ["order.updated"] * 4
    assert statuses == ["PARTIALLY_REFUNDED", "PARTIALLY_REFUNDED", "REFUNDED", "CANCELLED"]
