"""What one order costs a worker: CPU, wall time and queries per order, in one process, on PostgreSQL.

    .venv/bin/python bench/worker_cost.py [--orders 300] [--profile out.txt]

Starts the sandboxes in their own process and a fresh database (`BENCH_WORKER_DATABASE_URL`, default
`postgres://postgres@127.0.0.1:5432/integration_worker_cost`), places `--orders` orders in the shop and
stores an `order.created` event for each, then handles the events one after another exactly as a worker's
task does (`orders.intake.webhook_event_handle`: read, store, claim, check, EF client, invoice, read-back,
handled). CPU is this process only — neither the sandboxes nor PostgreSQL — so it is the worker's own cost
per order, the figure to compare before and after a change (run both in the same minute: the machine's
speed drifts). A second round counts the queries (with Django's query log on, which costs CPU itself).
`--profile` writes a cProfile of the first round, sorted by cumulative time.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from _common import database_recreate, free_port, production_env, sandbox_licence_fields, wait_http

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--profile", help="write a cProfile report of the timed round to this file")
    parser.add_argument(
        "--batch", type=int, default=1, help="events per task, as the ticker hands them out under load"
    )
    parser.add_argument("--show-queries", action="store_true", help="print the last order's statements")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_WORKER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/integration_worker_cost"
        ),
    )
    args = parser.parse_args()
    shop_port, ef_port, vies_port = free_port(), free_port(), free_port()
    os.environ.update(
        production_env(
            args.database_url,
            ALLOWED_HOSTS="127.0.0.1",
            KMOSHOPS_CLIENT_ID="bench-client",
            KMOSHOPS_CLIENT_SECRET="bench_client_secret_0123456789",
            KMOSHOPS_API_URL=f"http://127.0.0.1:{shop_port}/api/v3",
            EF_API_URL=f"http://127.0.0.1:{ef_port}",
            VIES_URL=f"http://127.0.0.1:{vies_port}",
            Q_SYNC="false",
        )
    )
    database_recreate(args.database_url)
    sandboxes = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--kmoshops-port", str(shop_port), "--ef-port", str(ef_port)]
        + ["--vies-port", str(vies_port), "--webhook-url", "http://127.0.0.1:9/unused"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run(args, f"http://127.0.0.1:{shop_port}", f"http://127.0.0.1:{ef_port}")
    finally:
        sandboxes.terminate()
        sandboxes.wait(10)


def run(args: argparse.Namespace, shop: str, ef: str) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import requests
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, reset_queries

    from licenses.models import Licence
    from orders.intake import webhook_events_handle
    from orders.models import Order, OrderState, WebhookEvent

    call_command("migrate", verbosity=0)
    wait_http(f"{shop}/_sandbox/state")
    case = json.loads(next((ROOT / "tests" / "fixtures" / "orders").glob("a01*.json")).read_text())
    profile = copy.deepcopy(case["store_profile"])
    store_id = 97800001
    profile["generalInfo"]["storeId"] = store_id
    requests.post(f"{shop}/_sandbox/stores", json={"profile": profile}, timeout=5)
    token = requests.post(f"{shop}/_sandbox/stores/{store_id}/tokens", json={}, timeout=5).json()
    requests.post(f"{shop}/_sandbox/app", json={"rate_limit_per_minute": 10**6}, timeout=5)
    requests.post(f"{ef}/_sandbox/accounts", json={"api_key": "bench-ef", "rates": [21, 12, 6]}, timeout=5)
    licence = Licence.objects.create(
        company_name="Bench", **sandbox_licence_fields(store_id, token["access_token"], profile, "bench-ef")
    )

    def stored_events(prefix: str, count: int) -> list[int]:
        pks = []
        for n in range(count):
            order = copy.deepcopy(case["order"])
            number = f"{prefix}{n:05d}"
            order.update(
                id=number, internalId=800000 + n, orderNumber=800000 + n, email=f"k{n % 50}@x.example"
            )
            requests.post(
                f"{shop}/_sandbox/stores/{store_id}/orders",
                json={"order": order, "notify": False},
                timeout=10,
            )
            event = WebhookEvent.objects.create(
                event_id=str(uuid.uuid4()),
                event_type="order.created",
                store_id=store_id,
                licence=licence,
                body={"eventType": "order.created", "data": {"orderId": number}},
            )
            pks.append(event.pk)
        return pks

    stored = stored_events(
        "WARM", args.orders
    )  # warm up: imports, prepared statements, the EF clients of 50 e-mails

    def handle(pks: list[int]) -> None:
        for start in range(0, len(pks), args.batch):
            webhook_events_handle(pks[start : start + args.batch])

    handle(stored)
    # As autovacuum would by now (this machine runs PostgreSQL without it).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    stored = stored_events("TIME", args.orders)
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waits
    backend = database_backend_cpu(connection)
    backend_cpu = backend()
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    handle(stored)
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    backend_cpu = backend() - backend_cpu
    handled = Order.objects.filter(order_number__startswith="TIME", state=OrderState.HANDLED).count()
    counted = min(args.orders, 200)  # Django's query log keeps the last 9,000
    stored = stored_events("COUNT", counted)
    settings.DEBUG = True
    reset_queries()
    handle(stored)
    queries = len(connection.queries)
    settings.DEBUG = False
    if args.show_queries:
        reset_queries()
        settings.DEBUG = True
        webhook_events_handle(stored_events("SHOW", 1))
        settings.DEBUG = False
        for query in connection.queries:
            print(f"   {query['time']}s  {query['sql'][:160]}")
    print(
        f"{args.orders} orders handled one after another in one process, {args.batch} per task "
        f"({handled} handled)"
    )
    print(f"   CPU  {1000 * cpu / args.orders:6.2f} ms per order (this process only)")
    if backend_cpu is not None:
        print(
            f"   CPU  {1000 * backend_cpu / args.orders:6.2f} ms per order in its PostgreSQL backend process"
        )
    print(
        f"   wall {1000 * wall / args.orders:6.2f} ms per order (with the sandboxes' and PostgreSQL's time)"
    )
    print(f"   {queries / counted:.1f} queries per order (BEGIN, SAVEPOINT and COMMIT included)")
    if profiler:
        profiler.dump_stats(f"{args.profile}.prof")  # for pstats / snakeviz
        with open(args.profile, "w") as out:
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(80)
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(50)
        print(f"   profile written to {args.profile}")


def database_backend_cpu(connection) -> Callable[[], float | None]:
    """CPU seconds used so far by the PostgreSQL process serving this connection (same machine, Linux)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    stat = Path(f"/proc/{pid}/stat")

    def used() -> float | None:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return used


if __name__ == "__main__":
    main()
