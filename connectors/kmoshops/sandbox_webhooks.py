"""How the KMO Shops sandbox sends webhooks as Ecwid does: signed, at least once (duplicates on request),
only 200/201/202/204/209 count as delivered, redirects do not, retried 15, 30, 45 minutes and then hourly
for 24 hours (time compressed for tests); held, dropped or flushed in reverse on request. Mixed into the
sandbox, which keeps the routes.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from .signature import webhook_signature

DELIVERED_STATUSES = {200, 201, 202, 204, 209}
# Minutes after the event: 15, 30, 45, then every hour up to 24 h = 27 retries (§4.5).
RETRY_SCHEDULE_MINUTES = [15, 30, 45] + [60 * h for h in range(1, 25)]


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    event: dict[str, Any] = field(compare=False)
    attempt: int = field(default=0, compare=False)


class WebhookDispatcher:
    lock: threading.RLock
    client_secret: str
    webhook_url: str
    connect_timeout: float
    read_timeout: float
    time_compression: float
    duplicate: bool
    hold: bool
    drop: bool
    held: list[dict[str, Any]]
    events: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    _queue: list[_Delivery]
    _seq: itertools.count
    _wake: threading.Condition
    _stopped: bool
    _in_flight: int
    _http: requests.Session

    def _emit_order(
        self, store_id: int, event_type: str, order: dict[str, Any], old: dict[str, Any] | None = None
    ) -> None:
        data = {
            "orderId": str(order["id"]),
            "newPaymentStatus": str(order.get("paymentStatus", "")),
            "newFulfillmentStatus": str(order.get("fulfillmentStatus", "")),
        }
        if event_type == "order.updated" and old is not None:
            data["oldPaymentStatus"] = str(old.get("paymentStatus", ""))
            data["oldFulfillmentStatus"] = str(old.get("fulfillmentStatus", ""))
        self._emit(store_id, event_type, int(order.get("internalId") or 0), data)

    def _emit(self, store_id: int, event_type: str, entity_id: int, data: dict[str, str] | None) -> None:
        event: dict[str, Any] = {
            "eventId": str(uuid.uuid4()),
            "eventCreated": int(time.time()),
            "storeId": store_id,
            "entityId": entity_id,
            "eventType": event_type,
        }
        if data is not None:
            event["data"] = data
        with self.lock:
            self.events.append(event)
            if self.drop:
                self.deliveries.append(
                    {"eventId": event["eventId"], "eventType": event_type, "dropped": True}
                )
                return
            if self.hold:
                self.held.append(event)
                return
            self._enqueue(event)

    def _enqueue(self, event: dict[str, Any]) -> None:
        copies = 2 if self.duplicate else 1
        for _ in range(copies):
            heapq.heappush(self._queue, _Delivery(time.monotonic(), next(self._seq), event))
        self._wake.notify_all()

    def _dispatch_loop(self) -> None:
        while True:
            with self.lock:
                while not self._stopped and (not self._queue or self._queue[0].due > time.monotonic()):
                    timeout = self._queue[0].due - time.monotonic() if self._queue else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                delivery = heapq.heappop(self._queue)
                self._in_flight += 1
                url = self.webhook_url
                timeouts = (self.connect_timeout, self.read_timeout)
            status, error = self._deliver(url, delivery.event, timeouts)
            with self.lock:
                self._in_flight -= 1
                self.deliveries.append(
                    {
                        "eventId": delivery.event["eventId"],
                        "eventType": delivery.event["eventType"],
                        "attempt": delivery.attempt + 1,
                        "status": status,
                        "error": error,
                        "delivered": status in DELIVERED_STATUSES,
                    }
                )
                if status not in DELIVERED_STATUSES and delivery.attempt < len(RETRY_SCHEDULE_MINUTES):
                    delay = RETRY_SCHEDULE_MINUTES[delivery.attempt] * 60 / max(self.time_compression, 1e-9)
                    heapq.heappush(
                        self._queue,
                        _Delivery(
                            delivery.due + delay, next(self._seq), delivery.event, delivery.attempt + 1
                        ),
                    )
                    self._wake.notify_all()

    def _deliver(
        self, url: str, event: dict[str, Any], timeouts: tuple[float, float]
    ) -> tuple[int | None, str]:
        if not url:
            return None, "no webhook URL configured"
        signature = webhook_signature(self.client_secret, event["eventCreated"], event["eventId"])
        try:
            response = self._http.post(
                url,
                params={"eventtype": event["eventType"]},
                json=event,
                headers={
                    "X-Ecwid-Webhook-Signature": signature,
                    "Content-Type": "application/json; charset=UTF-8",
                    "Cache-Control": "no-cache",
                },
                timeout=timeouts,
                allow_redirects=False,  # a redirect is "not delivered" (§4.5)
            )
        except requests.RequestException as exc:
            return None, type(exc).__name__
        return response.status_code, ""

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Test helper: wait until no delivery is due within the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self._in_flight == 0 and (not self._queue or self._queue[0].due > deadline):
                    return True
            time.sleep(0.02)
        return False
