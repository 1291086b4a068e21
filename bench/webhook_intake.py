"""Benchmark: the webhook answer is fast because the EF work happens later, in a worker.

Measures, in one run on this machine, the time our endpoint needs to answer a signed `order.created`
webhook (verify, deduplicate, store: the stored event is the queue) and the time a worker needs to process one
order end to end against the sandboxes (read the order, checks, EF client, invoice, read-back). Reports
both and their ratio; Ecwid's delivery timeout (10 s) is the budget the answer must stay far below.

    .venv/bin/python bench/webhook_intake.py [--webhooks 300] [--orders 60]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_site.test_settings")
os.environ["Q_SYNC"] = "false"
os.environ["DATABASE_URL"] = (
    os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
)
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from connectors.kmoshops.signature import webhook_signature  # noqa: E402
from connectors.sandboxes import sandboxes_start  # noqa: E402
from licenses.models import ConnectionStatus, Licence  # noqa: E402
from orders.intake import webhook_event_handle  # noqa: E402
from orders.models import Order, OrderState, WebhookEvent  # noqa: E402
from orders.processing import order_process  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--webhooks", type=int, default=300)
    parser.add_argument("--orders", type=int, default=60)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    boxes = sandboxes_start(
        client_id=settings.KMOSHOPS_CLIENT_ID, client_secret=settings.KMOSHOPS_CLIENT_SECRET
    )
    for name, value in boxes.settings.items():
        setattr(settings, name, value)
    case = json.loads(next((ROOT / "tests" / "fixtures" / "orders").glob("a01*.json")).read_text())
    import requests

    store = requests.post(
        f"{boxes.kmoshops.url}/_sandbox/stores", json={"profile": case["store_profile"]}, timeout=5
    ).json()["store_id"]
    token = requests.post(f"{boxes.kmoshops.url}/_sandbox/stores/{store}/tokens", json={}, timeout=5).json()[
        "access_token"
    ]
    requests.post(
        f"{boxes.ef.url}/_sandbox/accounts", json={"api_key": "bench", "rates": [21, 12, 6]}, timeout=5
    )
    boxes.shop.rate_limit_per_minute = 10**6
    licence = Licence.objects.create(
        store_id=store,
        shop_token=token,
        shop_profile=case["store_profile"],
        shop_status=ConnectionStatus.OK,
        ef_api_key="bench",
        ef_vat_rates=["0", "6", "12", "21"],
        ef_status=ConnectionStatus.OK,
        configured_at=timezone.now(),
        process_from=timezone.now() - timezone.timedelta(days=3650),
    )
    for n in range(args.webhooks):
        order = copy.deepcopy(case["order"])
        order.update(
            id=f"B{n:05d}", internalId=800000 + n, orderNumber=800000 + n, email=f"klant{n % 40}@example.be"
        )
        requests.post(
            f"{boxes.kmoshops.url}/_sandbox/stores/{store}/orders",
            json={"order": order, "notify": False},
            timeout=5,
        )

    client = Client()
    intake_ms = []
    for n in range(args.webhooks):
        event = {
            "eventId": str(uuid.uuid4()),
            "eventCreated": int(time.time()),
            "storeId": store,
            "entityId": n,
            "eventType": "order.created",
            "data": {"orderId": f"B{n:05d}", "newPaymentStatus": "PAID"},
        }
        signature = webhook_signature(
            settings.KMOSHOPS_CLIENT_SECRET, event["eventCreated"], event["eventId"]
        )
        started = time.perf_counter()
        response = client.post(
            "/webhooks/kmoshops/",
            json.dumps(event),
            content_type="application/json",
            HTTP_X_ECWID_WEBHOOK_SIGNATURE=signature,
        )
        intake_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content

    process_ms = []
    for event in WebhookEvent.objects.order_by("pk")[: args.orders]:
        started = time.perf_counter()
        webhook_event_handle(event.pk)  # read the order, decide (queued)
        order = Order.objects.get(licence=licence, order_number=event.order_number)
        order_process(order.pk)  # checks, EF client, invoice, read-back
        process_ms.append((time.perf_counter() - started) * 1000)
        assert Order.objects.get(pk=order.pk).state == OrderState.HANDLED
    boxes.stop()

    p50, p95 = statistics.median(intake_ms), percentile(intake_ms, 95)
    work = statistics.median(process_ms)
    print(f"webhook answer   : p50 {p50:.2f} ms, p95 {p95:.2f} ms over {len(intake_ms)} signed webhooks")
    print(
        f"order processing : p50 {work:.2f} ms per order over {len(process_ms)} orders (sandboxes on loopback)"
    )
    print(f"ratio            : processing / answer (p50) = {work / p50:.1f}x")
    print(f"budget           : Ecwid waits 10 000 ms; the p95 answer uses {p95 / 10000:.3%} of it")


if __name__ == "__main__":
    main()
