"""KMO Shops sandbox: an Ecwid-v3-shaped shop server (OAuth, profile, orders, signed webhooks).

Faithful to `docs/specs/kmoshops-api.md`: Bearer auth with Ecwid's error codes, 600 req/min per token
(configurable) answered with 429 + Retry-After, single-use OAuth codes (a reused code revokes the token),
`INCOMPLETE` orders hidden unless asked for, and a webhook dispatcher that follows §4.5 (only
200/201/202/204/209 count, 3 s / 10 s timeouts, the retry schedule with a time-compression factor) with
optional duplicate, held (out-of-order) and dropped delivery. Test controls live under `/_sandbox/`.
"""

from __future__ import annotations

import copy
import html as html_lib
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import requests

from ..sandbox_server import Request, Response, SandboxApp, html, json_response, redirect
from .sandbox_state import AuthCode, Store, Token, ecwid_error, ecwid_time, parse_query_time
from .sandbox_webhooks import WebhookDispatcher, _Delivery

CODE_LIFETIME_SECONDS = 300


class KmoShopsSandbox(WebhookDispatcher, SandboxApp):
    name = "kmoshops-sandbox"

    def __init__(
        self,
        *,
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",
        redirect_prefix: str = "",
        webhook_url: str = "",
        rate_limit_per_minute: int = 600,
        time_compression: float = 900.0,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_prefix = redirect_prefix
        self.webhook_url = webhook_url
        self.rate_limit_per_minute = rate_limit_per_minute
        self.time_compression = time_compression
        self.connect_timeout = 3.0
        self.read_timeout = 10.0
        self.duplicate = False
        self.hold = False
        self.drop = False
        self.stores: dict[int, Store] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, AuthCode] = {}
        self.requests_by_token: dict[str, deque[float]] = {}
        self.faults: deque[int] = deque()
        self.held: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self._queue: list[_Delivery] = []
        self._seq = itertools.count()
        self._wake = threading.Condition(self.lock)
        self._stopped = False
        self._in_flight = 0
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="kmoshops-webhooks", daemon=True)
        self._dispatcher.start()
        self._http = requests.Session()
        self._add_routes()

    # ------------------------------------------------------------------ routes
    def _add_routes(self) -> None:
        r = self.route
        r("GET", r"/api/oauth/authorize", self.oauth_authorize_page)
        r("POST", r"/api/oauth/authorize", self.oauth_authorize_decision)
        r("GET", r"/api/oauth/token", self.oauth_token)
        r("POST", r"/api/oauth/token", self.oauth_token)
        r("GET", r"/api/v3/(?P<store_id>[^/]+)/profile", self.api_profile)
        r("GET", r"/api/v3/(?P<store_id>[^/]+)/orders", self.api_orders)
        r("GET", r"/api/v3/(?P<store_id>[^/]+)/orders/last", self.api_order_last)
        r("GET", r"/api/v3/(?P<store_id>[^/]+)/orders/(?P<order_id>[^/]+)", self.api_order)
        r("GET", r"/_sandbox/state", self.ctl_state)
        r("POST", r"/_sandbox/app", self.ctl_app)
        r("POST", r"/_sandbox/faults", self.ctl_faults)
        r("POST", r"/_sandbox/webhooks/config", self.ctl_webhook_config)
        r("POST", r"/_sandbox/webhooks/flush", self.ctl_webhook_flush)
        r("GET", r"/_sandbox/webhooks/deliveries", self.ctl_deliveries)
        r("POST", r"/_sandbox/stores", self.ctl_store_create)
        r("POST", r"/_sandbox/stores/(?P<store_id>\d+)/tokens", self.ctl_token_issue)
        r("POST", r"/_sandbox/stores/(?P<store_id>\d+)/orders", self.ctl_order_put)
        r(
            "POST",
            r"/_sandbox/stores/(?P<store_id>\d+)/orders/(?P<order_id>[^/]+)/payment-status",
            self.ctl_pay,
        )
        r("POST", r"/_sandbox/stores/(?P<store_id>\d+)/orders/(?P<order_id>[^/]+)/refund", self.ctl_refund)
        r("POST", r"/_sandbox/stores/(?P<store_id>\d+)/orders/(?P<order_id>[^/]+)/cancel", self.ctl_cancel)
        r("POST", r"/_sandbox/stores/(?P<store_id>\d+)/orders/(?P<order_id>[^/]+)", self.ctl_order_update)
        r("DELETE", r"/_sandbox/stores/(?P<store_id>\d+)/orders/(?P<order_id>[^/]+)", self.ctl_order_delete)
        r("POST", r"/_sandbox/stores/(?P<store_id>\d+)/uninstall", self.ctl_uninstall)

    def not_found(self, request: Request) -> Response:
        return ecwid_error(404, "NOT_FOUND", "Resource not found")

    def method_not_allowed(self, request: Request) -> Response:
        return ecwid_error(405, "METHOD_NOT_ALLOWED", "Method not allowed")

    # ------------------------------------------------------------------ OAuth
    def _oauth_params_error(self, params: dict[str, str]) -> str | None:
        if params.get("client_id") != self.client_id:
            return "Unknown client_id"
        if params.get("response_type") != "code":
            return "response_type must be code"
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or not redirect_uri.startswith(self.redirect_prefix):
            return "redirect_uri does not match the registered redirect URL"
        if not params.get("scope"):
            return "scope is required"
        return None

    def oauth_authorize_page(self, request: Request) -> Response:
        params = {k: v[0] for k, v in request.query.items()}
        problem = self._oauth_params_error(params)
        if problem:
            return html(f"<h1>Authorization error</h1><p>{html_lib.escape(problem)}</p>", 400)
        auto = params.pop("auto", "")
        if auto in ("approve", "deny"):
            store_id = params.pop("store_id", "") or str(next(iter(self.stores), ""))
            return self._decide(params, auto, store_id)
        with self.lock:
            options = "".join(
                f'<option value="{s.store_id}">{html_lib.escape(self._store_name(s))} ({s.store_id})</option>'
                for s in self.stores.values()
            )
        hidden = "".join(
            f'<input type="hidden" name="{html_lib.escape(k)}" value="{html_lib.escape(v)}">'
            for k, v in params.items()
        )
        page = f"""<!doctype html><html><head><title>KMO Shops sandbox: authorize app</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>KMO Shops (sandbox)</h1>
<p>The app <strong>{html_lib.escape(params["client_id"])}</strong> asks for:
<code>{html_lib.escape(params["scope"])}</code></p>
<form method="post" action="/api/oauth/authorize">{hidden}
<label>Store <select name="store_id" id="store_id">{options}</select></label>
<p><button name="decision" value="approve" id="approve">Approve</button>
<button name="decision" value="deny" id="deny">Deny</button></p></form></body></html>"""
        return html(page)

    def oauth_authorize_decision(self, request: Request) -> Response:
        params = request.form()
        decision = params.pop("decision", "deny")
        store_id = params.pop("store_id", "")
        problem = self._oauth_params_error(params)
        if problem:
            return html(f"<h1>Authorization error</h1><p>{html_lib.escape(problem)}</p>", 400)
        return self._decide(params, decision, store_id)

    def _decide(self, params: dict[str, str], decision: str, store_id: str) -> Response:
        extra = {"state": params["state"]} if "state" in params else {}
        sep = "&" if "?" in params["redirect_uri"] else "?"
        if decision != "approve":
            return redirect(params["redirect_uri"] + sep + urlencode({"error": "access_denied", **extra}))
        with self.lock:
            if not store_id.isdigit() or int(store_id) not in self.stores:
                return html("<h1>No such store</h1>", 400)
            code = secrets.token_hex(16)
            self.codes[code] = AuthCode(
                code, int(store_id), params["redirect_uri"], params["scope"], time.time()
            )
        return redirect(params["redirect_uri"] + sep + urlencode({"code": code, **extra}))

    def oauth_token(self, request: Request) -> Response:
        params = {k: v[0] for k, v in request.query.items()}
        if request.method == "POST":
            ctype = request.header("content-type")
            params.update(request.json() or {} if "json" in ctype else request.form())
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            return json_response(
                {"error": "invalid_client", "error_description": "Wrong client credentials"}, 400
            )
        if params.get("grant_type") != "authorization_code":
            return json_response({"error": "unsupported_grant_type"}, 400)
        with self.lock:
            code = self.codes.get(params.get("code", ""))
            if code is None or time.time() - code.created > CODE_LIFETIME_SECONDS:
                return json_response(
                    {"error": "invalid_grant", "error_description": "Unknown or expired code"}, 400
                )
            if code.token is not None:
                # A reused code disables the token issued for it (spec §3.2).
                self.tokens[code.token].revoked = True
                return json_response(
                    {"error": "invalid_grant", "error_description": "Code already used"}, 400
                )
            if params.get("redirect_uri") != code.redirect_uri:
                return json_response(
                    {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}, 400
                )
            token = self._issue_token(code.store_id, code.scope)
            code.token = token.value
            store = self.stores[code.store_id]
        self._emit(code.store_id, "application.installed", code.store_id, None)
        return json_response(
            {
                "access_token": token.value,
                "token_type": "bearer",
                "scope": token.scope,
                "store_id": token.store_id,
                "email": store.profile.get("account", {}).get("accountEmail", ""),
            }
        )

    def _issue_token(self, store_id: int, scope: str) -> Token:
        token = Token("secret_" + secrets.token_urlsafe(24), store_id, scope)
        self.tokens[token.value] = token
        return token

    # ------------------------------------------------------------------ REST API
    def before(self, request: Request) -> Response | None:
        if not request.path.startswith("/api/v3/"):
            return None
        header = request.header("authorization")
        value = header[7:].strip() if header.lower().startswith("bearer ") else (request.arg("token") or "")
        with self.lock:
            token = self.tokens.get(value)
            if token is None or token.revoked:
                return ecwid_error(403, "INVALID_API_TOKEN", "The access token is invalid or revoked.")
            retry_after = self._rate_limited(value)
            if retry_after:
                return ecwid_error(
                    429, "RATE_LIMITED", "Too many requests.", **{"Retry-After": str(retry_after)}
                )
            if self.faults:
                status = self.faults.popleft()
                return ecwid_error(status, "INTERNAL_ERROR", "Injected failure")
            store_id = request.params.get("store_id", "")
            if not store_id.isdigit() or int(store_id) not in self.stores or int(store_id) != token.store_id:
                return ecwid_error(404, "STORE_NOT_FOUND", "Store not found.")
            needed = "read_store_profile" if request.path.endswith("/profile") else "read_orders"
            if needed not in token.scope.split():
                return ecwid_error(403, "INSUFFICIENT_APP_SCOPE", f"The app needs the {needed} scope.")
        return None

    def _rate_limited(self, token: str) -> int:
        now = time.monotonic()
        window = self.requests_by_token.setdefault(token, deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self.rate_limit_per_minute:
            return max(1, int(60 - (now - window[0])) + 1)
        window.append(now)
        return 0

    def api_profile(self, request: Request) -> Response:
        with self.lock:
            return json_response(copy.deepcopy(self.stores[int(request.params["store_id"])].profile))

    def _find_order(self, store: Store, order_id: str) -> dict[str, Any] | None:
        if order_id in store.orders:
            return store.orders[order_id]
        if order_id.isdigit():
            for order in store.orders.values():
                if int(order_id) in (order.get("internalId"), order.get("orderNumber")):
                    return order
        return None

    def api_order(self, request: Request) -> Response:
        with self.lock:
            store = self.stores[int(request.params["store_id"])]
            order = self._find_order(store, request.params["order_id"])
            if order is None:
                return ecwid_error(404, "ORDER_NOT_FOUND", "Order with specified ID was not found.")
            return json_response(copy.deepcopy(order))

    def api_order_last(self, request: Request) -> Response:
        with self.lock:
            store = self.stores[int(request.params["store_id"])]
            if not store.orders:
                return ecwid_error(404, "ORDER_NOT_FOUND", "Order with specified ID was not found.")
            last = max(
                store.orders.values(), key=lambda o: (o.get("createTimestamp", 0), o.get("internalId", 0))
            )
            return json_response(copy.deepcopy(last))

    def api_orders(self, request: Request) -> Response:
        try:
            offset = int(request.arg("offset", "0") or 0)
            limit = min(100, int(request.arg("limit", "100") or 100))
            bounds = {
                name: parse_query_time(request.arg(name, "") or "")
                for name in ("createdFrom", "createdTo", "updatedFrom", "updatedTo")
            }
        except ValueError as exc:
            return ecwid_error(400, "WRONG_PARAMETER", f"Wrong parameter value: {exc}")
        if offset < 0 or limit < 0:
            return ecwid_error(400, "WRONG_PARAMETER", "offset and limit must not be negative")
        statuses = [s for s in (request.arg("paymentStatus", "") or "").split(",") if s]
        fulfillment = [s for s in (request.arg("fulfillmentStatus", "") or "").split(",") if s]
        ids = [s for s in (request.arg("ids", "") or "").split(",") if s]
        email = (request.arg("email", "") or "").lower()
        with self.lock:
            store = self.stores[int(request.params["store_id"])]
            matches = []
            for order in store.orders.values():
                status = order.get("paymentStatus")
                if statuses and status not in statuses:
                    continue
                if not statuses and status == "INCOMPLETE":
                    continue
                if fulfillment and order.get("fulfillmentStatus") not in fulfillment:
                    continue
                if ids and not any(self._find_order(store, i) is order for i in ids):
                    continue
                if email and str(order.get("email", "")).lower() != email:
                    continue
                if not self._in_bounds(order, bounds):
                    continue
                matches.append(order)
            matches.sort(key=lambda o: (o.get("updateTimestamp", 0), o.get("internalId", 0)))
            page = [copy.deepcopy(o) for o in matches[offset : offset + limit]]
        return json_response(
            {"total": len(matches), "count": len(page), "offset": offset, "limit": limit, "items": page}
        )

    @staticmethod
    def _in_bounds(order: dict[str, Any], bounds: dict[str, float | None]) -> bool:
        created = order.get("createTimestamp", 0)
        updated = order.get("updateTimestamp", created)
        checks = [
            (bounds["createdFrom"], created, True),
            (bounds["createdTo"], created, False),
            (bounds["updatedFrom"], updated, True),
            (bounds["updatedTo"], updated, False),
        ]
        for bound, value, lower in checks:
            if bound is None:
                continue
            if lower and value < bound:
                return False
            if not lower and value > bound:
                return False
        return True

    # ------------------------------------------------------------------ test controls
    @staticmethod
    def _store_name(store: Store) -> str:
        return str(store.profile.get("settings", {}).get("storeName") or store.store_id)

    def ctl_state(self, request: Request) -> Response:
        with self.lock:
            return json_response(
                {
                    "client_id": self.client_id,
                    "webhook_url": self.webhook_url,
                    "stores": {sid: sorted(s.orders) for sid, s in self.stores.items()},
                    "events": len(self.events),
                    "held": len(self.held),
                    "pending": len(self._queue),
                }
            )

    def ctl_app(self, request: Request) -> Response:
        names = ("client_id", "client_secret", "redirect_prefix", "webhook_url", "rate_limit_per_minute")
        return self.configure(request.json() or {}, names)

    def ctl_faults(self, request: Request) -> Response:
        body = request.json() or {}
        with self.lock:
            self.faults.extend([int(body.get("status", 503))] * int(body.get("count", 1)))
        return json_response({"ok": True})

    def ctl_webhook_config(self, request: Request) -> Response:
        names = ("duplicate", "hold", "drop", "time_compression", "connect_timeout", "read_timeout")
        return self.configure(request.json() or {}, names)

    def ctl_webhook_flush(self, request: Request) -> Response:
        body = request.json() or {}
        with self.lock:
            held, self.held = self.held, []
            if body.get("reverse", True):
                held.reverse()
            for event in held:
                self._enqueue(event)
        return json_response({"flushed": len(held)})

    def ctl_deliveries(self, request: Request) -> Response:
        with self.lock:
            return json_response({"deliveries": list(self.deliveries), "pending": len(self._queue)})

    def ctl_store_create(self, request: Request) -> Response:
        body = request.json() or {}
        profile = copy.deepcopy(body.get("profile") or body)
        with self.lock:
            store_id = int(profile.get("generalInfo", {}).get("storeId") or 0) or (
                max(self.stores, default=97500000) + 1
            )
            profile.setdefault("generalInfo", {})["storeId"] = store_id
            existing = self.stores.get(store_id)
            self.stores[store_id] = Store(store_id, profile, existing.orders if existing else {})
        return json_response({"store_id": store_id}, 201)

    def ctl_token_issue(self, request: Request) -> Response:
        body = request.json() or {}
        with self.lock:
            store_id = int(request.params["store_id"])
            if store_id not in self.stores:
                return ecwid_error(404, "STORE_NOT_FOUND", "Store not found.")
            token = self._issue_token(store_id, body.get("scope", "read_store_profile read_orders"))
        return json_response({"access_token": token.value, "store_id": store_id}, 201)

    def _store_or_404(self, request: Request) -> Store | Response:
        store = self.stores.get(int(request.params["store_id"]))
        return store if store is not None else ecwid_error(404, "STORE_NOT_FOUND", "Store not found.")

    def ctl_order_put(self, request: Request) -> Response:
        body = request.json() or {}
        order = copy.deepcopy(body.get("order") or body)
        with self.lock:
            store = self._store_or_404(request)
            if isinstance(store, Response):
                return store
            order_id = str(order["id"])
            old = store.orders.get(order_id)
            store.orders[order_id] = order
        if body.get("notify", True):
            if old is None:
                self._emit_order(store.store_id, "order.created", order)
            else:
                self._emit_order(store.store_id, "order.updated", order, old)
        return json_response({"id": order_id}, 201)

    def _change_order(
        self, request: Request, change: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Response:
        """Apply `change` to one order and send the webhook a real shop would send for it."""
        with self.lock:
            store = self._store_or_404(request)
            if isinstance(store, Response):
                return store
            order = self._find_order(store, request.params["order_id"])
            if order is None:
                return ecwid_error(404, "ORDER_NOT_FOUND", "Order with specified ID was not found.")
            old = copy.deepcopy(order)
            order.update(change(order) if callable(change) else change)
            self._touch(order)
            snapshot = copy.deepcopy(order)
        # Paying an unfinished (INCOMPLETE) checkout creates the order, as far as webhooks go.
        event = "order.created" if old.get("paymentStatus") == "INCOMPLETE" else "order.updated"
        self._emit_order(store.store_id, event, snapshot, old)
        return json_response({"updateCount": 1})

    def ctl_order_update(self, request: Request) -> Response:
        return self._change_order(request, request.json() or {})

    def ctl_pay(self, request: Request) -> Response:
        body = request.json() or {}
        return self._change_order(request, {"paymentStatus": body.get("paymentStatus", "PAID")})

    def ctl_refund(self, request: Request) -> Response:
        """Refund as the merchant does in the Ecwid admin: `{"amount": 10.0, "reason": "…"}`, or the whole
        rest without an amount. Adds a `refunds[]` entry, raises `refundedAmount` and sets the payment status
        to PARTIALLY_REFUNDED or REFUNDED, then sends `order.updated`."""
        body = request.json() or {}

        def change(order: dict[str, Any]) -> dict[str, Any]:
            total = float(order.get("total") or 0)
            refunded = float(order.get("refundedAmount") or 0)
            amount = round(float(body.get("amount", total - refunded)), 2)
            refunded = round(refunded + amount, 2)
            entry = {
                "date": ecwid_time(time.time()),
                "source": str(body.get("source") or "CP"),
                "reason": str(body.get("reason") or ""),
                "amount": amount,
            }
            status = "REFUNDED" if refunded >= total else "PARTIALLY_REFUNDED"
            return {
                "refunds": [*(order.get("refunds") or []), entry],
                "refundedAmount": refunded,
                "paymentStatus": status,
            }

        return self._change_order(request, change)

    def ctl_cancel(self, request: Request) -> Response:
        return self._change_order(
            request, {"paymentStatus": "CANCELLED", "fulfillmentStatus": "WILL_NOT_DELIVER"}
        )

    def ctl_order_delete(self, request: Request) -> Response:
        with self.lock:
            store = self._store_or_404(request)
            if isinstance(store, Response):
                return store
            order = self._find_order(store, request.params["order_id"])
            if order is None:
                return ecwid_error(404, "ORDER_NOT_FOUND", "Order with specified ID was not found.")
            del store.orders[str(order["id"])]
        self._emit(store.store_id, "order.deleted", order.get("internalId", 0), {"orderId": str(order["id"])})
        return json_response({"deleteCount": 1})

    def ctl_uninstall(self, request: Request) -> Response:
        with self.lock:
            store = self._store_or_404(request)
            if isinstance(store, Response):
                return store
            for token in self.tokens.values():
                if token.store_id == store.store_id:
                    token.revoked = True
        self._emit(store.store_id, "application.uninstalled", store.store_id, None)
        return json_response({"ok": True})

    @staticmethod
    def _touch(order: dict[str, Any]) -> None:
        now = time.time()
        order["updateTimestamp"] = int(now)
        order["updateDate"] = ecwid_time(now)

    def stop(self) -> None:
        with self.lock:
            self._stopped = True
            self._wake.notify_all()
