"""A licence wired to the sandboxes, and helpers to place orders and watch them go through."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils import timezone

from licenses.models import ConnectionStatus, Licence
from orders.models import Order, OrderState
from tests.conftest import control, order_fixture

TERMINAL = (OrderState.HANDLED, OrderState.ERROR, OrderState.OPEN, OrderState.IGNORED, OrderState.DELETED)


@dataclass
class Pipeline:
    sandboxes: Any
    live_url: str
    counter: int = 0

    def licence(self, case: dict[str, Any] | None = None, **config: Any) -> Licence:
        case = case or order_fixture("a01")
        self.counter += 1
        profile = copy.deepcopy(case["store_profile"])
        store_id = 97600000 + self.counter
        profile["generalInfo"]["storeId"] = store_id
        control(self.sandboxes.kmoshops.url, "stores", {"profile": profile})
        token = control(self.sandboxes.kmoshops.url, f"stores/{store_id}/tokens")["access_token"]
        ef_key = f"ef-key-{store_id}"
        rates = [r for r in case["ef_vat_rates"] if r]
        control(
            self.sandboxes.ef.url, "accounts", {"api_key": ef_key, "name": f"EF {store_id}", "rates": rates}
        )
        fields = {
            "company_name": profile.get("settings", {}).get("storeName", "Shop"),
            "store_id": store_id,
            "shop_token": token,
            "shop_profile": profile,
            "shop_status": ConnectionStatus.OK,
            "ef_api_key": ef_key,
            "ef_vat_rates": [str(r) for r in case["ef_vat_rates"]],
            "ef_layouts": [{"layout_id": 8001, "name": "Standaard"}],
            "ef_status": ConnectionStatus.OK,
            "configured_at": timezone.now(),
            "process_from": datetime(2020, 1, 1, tzinfo=UTC),
        }
        fields.update(config)
        return Licence.objects.create(**fields)

    def place(self, licence: Licence, order: dict[str, Any], *, notify: bool = True) -> None:
        control(
            self.sandboxes.kmoshops.url,
            f"stores/{licence.store_id}/orders",
            {"order": order, "notify": notify},
        )

    def pay(self, licence: Licence, order_number: str, status: str = "PAID") -> None:
        control(
            self.sandboxes.kmoshops.url,
            f"stores/{licence.store_id}/orders/{order_number}/payment-status",
            {"paymentStatus": status},
        )

    def wait(self, licence: Licence, order_number: str, states=TERMINAL, timeout: float = 20) -> Order:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            order = Order.objects.filter(licence=licence, order_number=order_number).first()
            # A row just made by a webhook is Open with no reason until the order is read and decided.
            undecided = order is not None and order.state == OrderState.OPEN and not order.state_reason
            if order is not None and order.state in states and not undecided:
                return order
            time.sleep(0.05)
        state = order.state if order else "missing"
        raise AssertionError(f"order {order_number} did not reach {states} (now {state})")

    def webhooks_idle(self) -> None:
        assert self.sandboxes.shop.wait_idle(20)

    def ef_invoices(self, licence: Licence) -> list[dict[str, Any]]:
        return control(self.sandboxes.ef.url, f"accounts/{licence.ef_api_key}/invoices", method="GET")

    def ef_clients(self, licence: Licence) -> list[dict[str, Any]]:
        return control(self.sandboxes.ef.url, f"accounts/{licence.ef_api_key}/clients", method="GET")

    def ef_posts(self, path: str) -> int:
        """How many POSTs to this EF path the sandbox received (creates: at most one per document)."""
        log = self.sandboxes.ef_app.requests_log
        return sum(1 for entry in log if entry["method"] == "POST" and entry["path"] == path)

    def ef_fault(self, **fault: Any) -> None:
        control(self.sandboxes.ef.url, "faults", fault)


@pytest.fixture
def pipeline(sandboxes, live_server, settings) -> Pipeline:
    sandboxes.shop.webhook_url = f"{live_server.url}/webhooks/kmoshops/"
    settings.ORDER_RETRY_BASE_SECONDS = 0
    settings.ORDER_RETRY_MAX_SECONDS = 0
    # A create that never answered settles after read timeout + margin: short here, so tests stay fast.
    settings.HTTP_READ_TIMEOUT = 2.0
    settings.EF_UNCERTAIN_CREATE_MARGIN_SECONDS = 0.2
    return Pipeline(sandboxes, live_server.url)
