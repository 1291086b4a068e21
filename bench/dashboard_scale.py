"""A merchant with 100,000 orders: Report, search, Errors, Open, CSV export and catch-up, on PostgreSQL.

    .venv/bin/python bench/dashboard_scale.py [--orders 100000] [--others 10] [--other-orders 10000]

Seeds a fresh database `integration_scale` (one licence with --orders handled orders plus 5 % errors,
and --others licences with --other-orders each), then measures server time in this process (Django's
test client, production settings, PostgreSQL) for each page, its query count beside the same page for a
licence with 10 orders (the baseline in the same run), the CSV export of twelve months (first bytes,
total, peak memory) and a catch-up with nothing new. Loops are bounded; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _common import database_recreate, production_env

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/integration_scale")
os.environ.update(production_env(DB, ALLOWED_HOSTS="testserver"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=10)
    parser.add_argument("--other-orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    database_recreate(DB)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from licenses.models import ConnectionStatus, Licence, MerchantAccess
    from orders.catchup import licence_catch_up
    from orders.models import Order, OrderState

    call_command("migrate", verbosity=0)
    now = timezone.now()
    snapshot = {"id": "X", "items": [{"name": "Koffiebonen 1 kg", "price": 24.5, "quantity": 2}] * 8}
    snapshot["note"] = "x" * 2500  # a real order snapshot is a few KB

    def seed(licence: Licence, count: int, errors: float) -> None:
        batch = []
        for n in range(count):
            error = n % int(1 / errors) == 0 if errors else False
            at = now - timedelta(minutes=5 * n)  # spread over about a year for 100,000 orders
            batch.append(
                Order(
                    licence=licence,
                    order_number=f"{licence.pk}-{n:06d}",
                    snapshot=snapshot,
                    payment_status="PAID",
                    order_created_at=at,
                    customer_name=f"Klant {n % 5000} BV",
                    customer_email=f"klant{n % 5000}@example.be",
                    total=Decimal("126.90"),
                    state=OrderState.ERROR if error else OrderState.HANDLED,
                    error_code="TOTAL_MISMATCH" if error else "",
                    handled_at=None if error else at + timedelta(seconds=2),
                    ef_invoice_id=None if error else 500000 + n,
                    ef_invoice_number="" if error else f"2026-{n:06d}",
                    ef_client_id=None if error else 1000 + n % 5000,
                )
            )
            if len(batch) == 5000:
                Order.objects.bulk_create(batch)
                batch = []
        Order.objects.bulk_create(batch)
        Order.objects.filter(licence=licence).update(created_at=timezone.now())

    def licence_for(name: str) -> Licence:
        return Licence.objects.create(
            company_name=name,
            store_id=97800000 + Licence.objects.count(),
            shop_status=ConnectionStatus.OK,
            ef_status=ConnectionStatus.OK,
            configured_at=now,
            process_from=now - timedelta(days=800),
        )

    started = time.monotonic()
    big, small = licence_for("Big"), licence_for("Small")
    seed(big, args.orders, 0.05)
    seed(small, 10, 0.0)
    for n in range(args.others):
        seed(licence_for(f"Other {n}"), args.other_orders, 0.01)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps: statistics and visibility map
    user = get_user_model().objects.create_user("bench@x.example", "bench@x.example", "pw-bench-1234")
    MerchantAccess.objects.create(user=user, licence=big)
    MerchantAccess.objects.create(user=user, licence=small)
    total = Order.objects.count()
    print(f"seeded {total} orders ({args.orders} for one licence) in {time.monotonic() - started:.0f} s")

    client = Client()
    client.force_login(user)
    year = f"from={(now - timedelta(days=365)).date()}&to={now.date()}"
    deep = args.orders * 95 // 100 // 50  # the last Report page of the year
    pages = {
        "Report, page 1": "report/?" + year,
        "Report, deep page": f"report/?{year}&page={deep}",
        "Report, broad search, deep page": f"report/?{year}&q=klant1&page=40",
        "Errors": "errors/?" + year,
        "Open": "open/?" + year,
    }

    def measure(licence: Licence, path: str) -> tuple[float, int]:
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(f"/dashboard/{licence.key}/{path}")
                times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
        return statistics.median(times), len(queries.captured_queries)

    print(f"{'page':36} {'100k licence':>14} {'queries':>8} {'10-order licence':>17} {'queries':>8}")
    for name, path in pages.items():
        big_ms, big_q = measure(big, path)
        small_ms, small_q = measure(small, path.replace(f"&page={deep}", "").replace("&page=40", ""))
        print(f"{name:36} {big_ms:11.0f} ms {big_q:8d} {small_ms:14.0f} ms {small_q:8d}")

    url = f"/dashboard/{big.key}/report.csv?{year}"
    t0 = time.perf_counter()
    stream = iter(client.get(url).streaming_content)
    first = next(stream)
    first_ms = (time.perf_counter() - t0) * 1000
    size = len(first) + sum(len(chunk) for chunk in stream)
    total_s = time.perf_counter() - t0
    assert first.startswith(b"\xef\xbb\xbf")
    tracemalloc.start()  # a second pass, for memory only (tracemalloc slows Python down several times)
    for _ in client.get(url).streaming_content:
        pass
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(
        f"CSV export, twelve months ({size / 2**20:.1f} MiB): first bytes {first_ms:.0f} ms, all {total_s:.1f} s, "
        f"peak Python memory {peak:.1f} MiB"
    )

    # Catch-up with nothing new: the shop reports no changed orders (a local stub of the shop client).
    import licenses.services as services

    class QuietShop:
        def orders_search(self, **_: object) -> list[dict]:
            return []

    services_shop_client = services.shop_client
    import orders.catchup as catchup

    catchup.shop_client = lambda licence: QuietShop()
    with CaptureQueriesContext(connection) as queries:
        t0 = time.perf_counter()
        licence_catch_up(big)
        ms = (time.perf_counter() - t0) * 1000
    catchup.shop_client = services_shop_client
    print(f"catch-up, nothing new, 100k licence: {ms:.1f} ms, {len(queries.captured_queries)} queries")


if __name__ == "__main__":
    main()
