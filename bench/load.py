"""Load benchmark, as deployed: gunicorn + PostgreSQL (+ Redis) + qcluster workers, against the sandboxes.

    .venv/bin/python bench/load.py [--redis] [--seconds 10] [--workers 2] [--gunicorn-workers 3]

Starts everything itself on loopback (a fresh database `integration_bench`, the sandboxes, gunicorn with
production settings, django-q2 workers), then measures in one run:

1. webhook ingest at saturation: signed webhooks/s and answer p50/p99, beside a Django view in the same
   gunicorn whose only work is one INSERT (the least a webhook can cost) — and their ratio;
2. webhook answers at a steady offered rate (default 200/s): p50/p99;
3. webhook → invoice at a steady 10 orders/s: p50/p99 from the shop's order to the handled EF invoice;
4. sustained invoices/s when more orders are offered than the workers keep up with, beside a single
   Python process making the same HTTP calls per order plus one row write (the yardstick) — and the ratio;
5. fairness: one licence has a backlog of 10,000 queued orders (`--backlog`) while other licences' new
   orders arrive by webhook: their webhook → invoice time (target < 60 s) and how much of the backlog
   went meanwhile.

Every request goes to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import http.client
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import database_recreate, free_port, production_env, sandbox_licence_fields, wait_http

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET = "bench_client_secret_0123456789"
STORES = 8  # several merchants: Ecwid allows 600 requests/min per store token
CUSTOMERS = 50  # e-mail addresses the placed orders cycle through (order n: store n % 8, customer n % 50)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


ROLES = (  # what a process is, by its command line (first match wins)
    ("bench/load.py", "load generator"),  # first: its own arguments may say "postgres" or "gunicorn"
    ("postgres", "PostgreSQL"),
    ("redis-server", "Redis"),
    ("qcluster", "workers (django-q2)"),
    ("pipeline_ticker", "ticker"),
    ("gunicorn", "web (gunicorn)"),
    ("sandbox", "sandboxes"),
)


def cpu_by_role() -> dict[str, float]:
    """CPU seconds used so far by every process on the machine, summed by role (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = next((name for marker, name in ROLES if marker in cmdline), None)
        if role:
            # utime + stime, and cutime + cstime: the children it reaped (a PostgreSQL backend that closed
            # its connection, a recycled worker) stay counted with their parent, of the same role.
            used[role] = used.get(role, 0.0) + sum(int(value) for value in fields[11:15]) / tick
    return used


def cpu_spent(before: dict[str, float], after: dict[str, float], into: dict[str, float]) -> None:
    """Add the CPU seconds each role used between two readings to `into`."""
    for _, role in ROLES:
        into[role] = into.get(role, 0.0) + after.get(role, 0.0) - before.get(role, 0.0)


def ms_per_item(used: dict[str, float], items: int) -> dict[str, float]:
    """CPU milliseconds per item, by role."""
    return {role: used.get(role, 0.0) * 1000 / max(items, 1) for _, role in ROLES}


def cpu_per_item(used: dict[str, float], items: int) -> str:
    spent = ms_per_item(used, items)
    shown = ", ".join(f"{role} {ms:.1f}" for role, ms in spent.items() if ms >= 0.05)
    return f"CPU ms per invoice: {shown} (total {sum(spent.values()):.1f})"


def ceiling_line(
    pipeline: dict[str, float], invoices: int, loop: dict[str, float], orders: int, loop_rate: float
) -> str:
    """The most any webhook-driven pipeline could sustain on these cores: each invoice costs at least the
    loop's own CPU per order (the same HTTP calls, the mapping, one row write) plus receiving its webhook as
    measured in the pipeline's run (gunicorn, the load generator that places the order, and what the shop's
    sandbox spends beyond the loop's calls: taking the order and delivering the signed webhook), with no
    queue and no bookkeeping at all. Where that is below the loop's rate, no pipeline reaches 1.0 here."""
    per_order, per_invoice = ms_per_item(loop, orders), ms_per_item(pipeline, invoices)
    loop_ms = sum(per_order.values())
    delivery_ms = max(0.0, per_invoice["sandboxes"] - per_order["sandboxes"])
    web_ms, placing_ms = per_invoice["web (gunicorn)"], per_invoice["load generator"]
    receiving_ms = web_ms + placing_ms + delivery_ms
    cores = os.cpu_count() or 1
    best = cores * 1000 / (loop_ms + receiving_ms)
    return (
        f"the loop keeps {loop_ms * loop_rate / 1000:.2f} of the {cores} cores busy with {loop_ms:.1f} ms per "
        f"order; with receiving each webhook (web {web_ms:.1f}, placing {placing_ms:.1f}, the shop's delivery "
        f"{delivery_ms:.1f} ms) the least an invoice can cost is {loop_ms + receiving_ms:.1f} ms, so at most "
        f"{best:.0f} invoices/s = {best / loop_rate:.2f} of the loop, before any queue or bookkeeping"
    )


@contextlib.contextmanager
def analyzing(every: float = 2.0) -> Iterator[None]:
    """ANALYZE the database every few seconds while the block runs, as autovacuum does in production.

    This machine's PostgreSQL runs with autovacuum off: its tables would never be analyzed, the planner
    would keep believing the new, growing tables empty and scan them whole for every statement (a run
    without this read 14 million order rows for 1,600 orders), and the prepared statements would keep
    those plans.
    """
    stop = threading.Event()

    def run() -> None:
        from django.db import connection

        try:
            while not stop.wait(every):
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="analyze", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.procs: list[subprocess.Popen] = []
        self.web_port, self.shop_port, self.ef_port, self.vies_port = (free_port() for _ in range(4))
        self.web = f"http://127.0.0.1:{self.web_port}"
        self.shop = f"http://127.0.0.1:{self.shop_port}"
        self.ef = f"http://127.0.0.1:{self.ef_port}"
        self.env = {
            **os.environ,
            **production_env(
                args.database_url,
                ALLOWED_HOSTS="127.0.0.1,localhost",
                REDIS_URL=args.redis_url if args.redis else "",
                KMOSHOPS_CLIENT_ID="bench-client",
                KMOSHOPS_CLIENT_SECRET=SECRET,
                KMOSHOPS_API_URL=f"{self.shop}/api/v3",
                EF_API_URL=self.ef,
                VIES_URL=f"http://127.0.0.1:{self.vies_port}",
                BENCH_BASELINE_VIEW="true",
                Q_WORKERS=str(args.workers),
                ORDER_RETRY_BASE_SECONDS="1",
            ),
        }

    # ------------------------------------------------------------------ set-up
    def start(self, *argv: str, quiet: bool = True) -> subprocess.Popen:
        proc = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL if quiet else None,
            stderr=subprocess.DEVNULL if quiet else None,
        )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)

    def database_fresh(self) -> None:
        database_recreate(self.args.database_url)
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True
        )
        if self.args.redis:
            import redis

            redis.Redis.from_url(self.args.redis_url).flushdb()

    def seed(self) -> None:
        """STORES shops with a licence each, and one more of its own for the single loop (so that the loop's
        calls never count against a pipeline shop's rate limit): `self.stores` and `self.loop_store` hold
        each shop's (id, token, EF key)."""
        import requests

        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from licenses.models import Licence

        case = json.loads(next((ROOT / "tests" / "fixtures" / "orders").glob("a01*.json")).read_text())
        self.case = case
        requests.post(f"{self.shop}/_sandbox/webhooks/config", json={"read_timeout": 10}, timeout=5)
        stores = []
        for n in range(STORES + 1):
            profile = copy.deepcopy(case["store_profile"])
            store_id = 97700000 + n
            profile["generalInfo"]["storeId"] = store_id
            requests.post(f"{self.shop}/_sandbox/stores", json={"profile": profile}, timeout=5)
            token = requests.post(f"{self.shop}/_sandbox/stores/{store_id}/tokens", json={}, timeout=5).json()
            key = f"bench-ef-{n}"
            requests.post(
                f"{self.ef}/_sandbox/accounts", json={"api_key": key, "rates": [21, 12, 6]}, timeout=5
            )
            Licence.objects.create(
                company_name=f"Bench {n}",
                **sandbox_licence_fields(store_id, token["access_token"], profile, key),
            )
            stores.append((store_id, token["access_token"], key))
        self.stores, self.loop_store = stores[:STORES], stores[STORES]
        # The loop's e-mail → EF client, as EfClientMatch is the pipeline's.
        self.loop_clients: dict[str, int] = {}

    # ------------------------------------------------------------------ load generation
    def _signed_event(self, store_id: int, order_id: str) -> tuple[bytes, str]:
        from connectors.kmoshops.signature import webhook_signature

        event = {
            "eventId": str(uuid.uuid4()),
            "eventCreated": int(time.time()),
            "storeId": store_id,
            "entityId": 1,
            "eventType": "order.updated",
            "data": {"orderId": order_id, "newPaymentStatus": "PAID"},
        }
        return json.dumps(event).encode(), webhook_signature(SECRET, event["eventCreated"], event["eventId"])

    def _post(self, conn: http.client.HTTPConnection, path: str, body: bytes, signature: str) -> float:
        started = time.perf_counter()
        conn.request(
            "POST",
            path,
            body,
            {"Content-Type": "application/json", "X-Ecwid-Webhook-Signature": signature},
        )
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        return (time.perf_counter() - started) * 1000

    def saturate(self, path: str, seconds: float, connections: int) -> tuple[float, list[float]]:
        """As many requests as `connections` keep-alive clients can make in `seconds`."""
        count = int(4000 * seconds) + 2000  # well above what 16 connections manage on two cores
        bodies = [self._signed_event(self.stores[n % STORES][0], f"SAT{n}") for n in range(count)]
        cursor = iter(bodies)
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def client() -> list[float]:
            conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=30)
            times: list[float] = []
            while time.monotonic() < stop_at:
                with lock:
                    body, signature = next(cursor)
                times.append(self._post(conn, path, body, signature))
            conn.close()
            return times

        started = time.monotonic()
        with ThreadPoolExecutor(connections) as pool:
            results = list(pool.map(lambda _: client(), range(connections)))
        elapsed = time.monotonic() - started
        latencies = [t for r in results for t in r]
        return len(latencies) / elapsed, latencies

    def steady(self, path: str, rate: float, seconds: float) -> list[float]:
        """Open loop: one request every 1/rate s; latency counted from when it was due (queueing included)."""
        count = int(rate * seconds)
        bodies = [self._signed_event(self.stores[n % STORES][0], f"STD{n}") for n in range(count)]
        start = time.perf_counter() + 0.2
        latencies: list[float] = []
        local = threading.local()

        def send(n: int) -> None:
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=30)
            self._post(local.conn, path, *bodies[n])
            latencies.append((time.perf_counter() - due) * 1000)

        with ThreadPoolExecutor(64) as pool:
            list(pool.map(send, range(count)))
        return latencies

    # ------------------------------------------------------------------ orders end to end
    def place_orders(
        self,
        prefix: str,
        rate: float,
        seconds: float,
        stores: list | None = None,
        first: int = 0,
        customers: str = "k",
    ) -> dict[str, float]:
        """Orders appear in the shops at `rate` per second; the shop sends order.created to gunicorn. The
        bodies are made before the clock starts and go out on one keep-alive connection, so that the load
        generator takes as little as it can of the CPU the pipeline is measured on."""
        stores = stores or self.stores
        count = int(rate * seconds)
        bodies = []
        for n in range(count):
            order = copy.deepcopy(self.case["order"])
            number = f"{prefix}{n:05d}"
            order.update(
                id=number,
                internalId=900000 + first + n,
                orderNumber=900000 + first + n,
                email=f"{customers}{n % CUSTOMERS}@x.example",
            )
            path = f"/_sandbox/stores/{stores[n % len(stores)][0]}/orders"
            bodies.append((number, path, json.dumps({"order": order}).encode()))
        conn = http.client.HTTPConnection("127.0.0.1", self.shop_port, timeout=10)
        placed: dict[str, float] = {}
        start = time.time() + 0.2
        for n, (number, path, body) in enumerate(bodies):
            due = start + n / rate
            if due > time.time():
                time.sleep(due - time.time())
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status >= 300:
                raise RuntimeError(f"placing {number}: the shop sandbox answered {response.status}")
            placed[number] = time.time()
        conn.close()
        return placed

    def handled(self, numbers: dict[str, float], deadline_s: float) -> dict[str, float]:
        from orders.models import Order, OrderState

        deadline = time.monotonic() + deadline_s
        done: dict[str, float] = {}
        while time.monotonic() < deadline and len(done) < len(numbers):
            rows = Order.objects.filter(
                order_number__in=[n for n in numbers if n not in done], state=OrderState.HANDLED
            ).values_list("order_number", "handled_at")
            for number, at in rows:
                done[number] = at.timestamp()
            time.sleep(0.25)
        return done

    def single_process_yardstick(
        self, orders: int, prefix: str, first: int, customers: int, cpu: dict[str, float]
    ) -> float:
        """The same HTTP calls per order as the pipeline, plus one row write, in one plain Python loop: the
        seconds it takes for `orders` orders (placed in the shop before the clock starts; the CPU every role
        spends while the clock runs is added to `cpu`). Like the pipeline, it looks a customer up in EF (and
        creates it) only the first time it sees the e-mail address, and its orders cycle through `customers`
        addresses: as many first sights per order as the pipeline's shops have."""
        from connectors.eenvoudigfactureren.client import EfClient
        from connectors.kmoshops.client import KmoShopsClient
        from orders.domain import DomainOrder  # noqa: F401 - same imports the pipeline pays for
        from orders.ecwid_mapping import domain_order_from_ecwid
        from orders.invoice_mapping import client_payload_build, invoice_payload_build
        from orders.models import WebhookEvent
        from orders.processing import invoice_options

        store_id, token, key = self.loop_store
        shop = KmoShopsClient(store_id=store_id, access_token=token)
        ef = EfClient(api_key=key)
        from licenses.models import Licence

        licence = Licence.objects.get(store_id=store_id)
        numbers = [f"{prefix}{n:05d}" for n in range(orders)]
        import requests

        for n, number in enumerate(numbers):
            order = copy.deepcopy(self.case["order"])
            order.update(
                id=number,
                internalId=1990000 + first + n,
                orderNumber=1990000 + first + n,
                email=f"loop{(first + n) % customers}@x.example",
            )
            requests.post(
                f"{self.shop}/_sandbox/stores/{store_id}/orders",
                json={"order": order, "notify": False},
                timeout=10,
            )
        requests.post(f"{self.shop}/_sandbox/app", json={"rate_limit_per_minute": 10**6}, timeout=5)
        before = cpu_by_role()
        started = time.perf_counter()
        for number in numbers:
            snapshot = shop.order_get(number)
            domain = domain_order_from_ecwid(snapshot, licence.shop_profile)
            email = domain.customer.email
            if email not in self.loop_clients:
                found = ef.client_find_by_email(email)
                self.loop_clients[email] = (
                    int(found["client_id"]) if found else ef.client_create(client_payload_build(domain))
                )
            client_id = self.loop_clients[email]
            payload = invoice_payload_build(
                domain, invoice_options(licence), client_id=client_id, external_id=f"loop-{number}"
            )
            invoice_id = ef.invoice_create(payload)
            ef.invoice_get(invoice_id)
            WebhookEvent.objects.create(  # the one row write
                event_id=f"loop-{number}", event_type="bench.loop", body={"invoice_id": invoice_id}
            )
        seconds = time.perf_counter() - started
        cpu_spent(before, cpu_by_role(), cpu)
        requests.post(f"{self.shop}/_sandbox/app", json={"rate_limit_per_minute": 600}, timeout=5)
        return seconds

    # ------------------------------------------------------------------ the run
    def run(self) -> None:
        args = self.args
        self.database_fresh()
        self.start(
            PYTHON,
            "manage.py",
            "sandbox",
            "--kmoshops-port",
            str(self.shop_port),
            "--ef-port",
            str(self.ef_port),
            "--vies-port",
            str(self.vies_port),
            "--webhook-url",
            f"{self.web}/webhooks/kmoshops/",
        )
        wait_http(f"{self.shop}/_sandbox/state")
        self.seed()
        gunicorn = str(Path(PYTHON).parent / "gunicorn")
        self.start(
            gunicorn,
            "integration_site.wsgi",
            "--workers",
            str(args.gunicorn_workers),
            "--bind",
            f"127.0.0.1:{self.web_port}",
            "--keep-alive",
            "30",
        )
        wait_http(f"{self.web}/healthz")
        broker = "Redis" if args.redis else "ORM (PostgreSQL)"
        print(
            f"setup: gunicorn {args.gunicorn_workers} workers, PostgreSQL, {broker} broker, {os.cpu_count()} cores"
        )

        with analyzing():
            self.measure()

    def measure(self) -> None:
        args = self.args
        if not args.sustained_only:
            self.ingest_phases()
        self._purge_backlog()
        workers, ticker = self.pipeline_start()
        if not args.sustained_only:
            placed = self.place_orders("L", 10, args.seconds * 2)
            done = self.handled(placed, 60)
            latencies = [done[n] - placed[n] for n in done]
            print(
                f"3. webhook → invoice at 10 orders/s for {args.seconds * 2:.0f} s ({args.workers} workers): "
                f"{len(done)}/{len(placed)} handled, p50 {pct(latencies, 50):.2f} s, p99 {pct(latencies, 99):.2f} s"
            )
        self.sustained(workers, ticker)

    def ingest_phases(self) -> None:
        args = self.args
        self.saturate("/bench/one-insert/", 2, args.connections)  # warm both up
        self.saturate("/webhooks/kmoshops/", 2, args.connections)
        # Interleaved slices, so that a machine that speeds up or slows down meanwhile (shared cores) weighs
        # on both sides of the ratio alike.
        slices = 4
        runs: dict[str, list[tuple[float, list[float]]]] = {"base": [], "hook": []}
        for _ in range(slices):
            runs["base"].append(self.saturate("/bench/one-insert/", args.seconds / slices, args.connections))
            runs["hook"].append(self.saturate("/webhooks/kmoshops/", args.seconds / slices, args.connections))
        base_rate = sum(rate for rate, _ in runs["base"]) / slices
        hook_rate = sum(rate for rate, _ in runs["hook"]) / slices
        base_lat = [ms for _, lat in runs["base"] for ms in lat]
        hook_lat = [ms for _, lat in runs["hook"] for ms in lat]
        print(
            f"1. ingest at saturation ({args.connections} keep-alive connections, {args.seconds:.0f} s each, "
            f"in {slices} interleaved slices)"
        )
        print(
            f"   one-INSERT view : {base_rate:7.1f} req/s   p50 {pct(base_lat, 50):6.1f} ms   p99 {pct(base_lat, 99):6.1f} ms"
        )
        print(
            f"   webhook         : {hook_rate:7.1f} req/s   p50 {pct(hook_lat, 50):6.1f} ms   p99 {pct(hook_lat, 99):6.1f} ms"
        )
        print(f"   ratio           : webhook / one-INSERT throughput = {hook_rate / base_rate:.2f}")

        steady = self.steady("/webhooks/kmoshops/", args.rate, args.seconds)
        print(
            f"2. webhooks offered at a steady {args.rate:.0f}/s for {args.seconds:.0f} s: "
            f"p50 {pct(steady, 50):.1f} ms, p99 {pct(steady, 99):.1f} ms"
        )

    def pipeline_start(self) -> tuple[subprocess.Popen, subprocess.Popen]:
        workers = self.start(PYTHON, "manage.py", "qcluster")
        ticker = self.start(PYTHON, "manage.py", "pipeline_ticker")
        time.sleep(3)  # imported and polling
        return workers, ticker

    def sustained(self, workers: subprocess.Popen, ticker: subprocess.Popen) -> None:
        """Phase 4, in interleaved slices (the pipeline offered more than it keeps up with, then the single
        loop), so that a machine that speeds up or slows down meanwhile weighs on both sides alike. The
        workers and the ticker are stopped while the loop runs (idle, they still poll) and started afresh
        for the next pipeline slice, outside the measured windows."""
        args = self.args
        offered, slices = args.burst_rate, args.slices
        per_slice = int(offered * args.seconds / slices)
        loop_per_slice = min(200, per_slice)
        # The pipeline's shops see lcm(STORES, CUSTOMERS) customers for the first time in its orders; the
        # loop (one shop) sees the same share of its orders' customers for the first time.
        first_sights = min(per_slice * slices, math.lcm(STORES, CUSTOMERS))
        loop_customers = max(1, round(first_sights * loop_per_slice / per_slice))
        placed_n = done_n = 0
        pipeline_seconds = placing_seconds = loop_seconds = 0.0
        pipeline_cpu: dict[str, float] = {}
        loop_cpu: dict[str, float] = {}
        for k in range(slices):
            if k:
                workers, ticker = self.pipeline_start()
            before = cpu_by_role()
            placing = time.time()
            placed = self.place_orders(
                f"T{k}-", offered, args.seconds / slices, first=k * per_slice, customers="sustained"
            )
            placing_seconds += time.time() - placing
            done = self.handled(placed, 180)
            cpu_spent(before, cpu_by_role(), pipeline_cpu)
            placed_n, done_n = placed_n + len(placed), done_n + len(done)
            if done:
                pipeline_seconds += max(done.values()) - min(placed.values())
            self.stop(workers)
            self.stop(ticker)
            loop_seconds += self.single_process_yardstick(
                loop_per_slice, f"LOOP{k}-", k * loop_per_slice, loop_customers, loop_cpu
            )
        pipeline_rate = done_n / pipeline_seconds if pipeline_seconds else 0.0
        yardstick = slices * loop_per_slice / loop_seconds
        backlog_line = fair_line = ""
        if not args.sustained_only:
            workers, ticker = self.pipeline_start()
            backlog_line, fair_line = self.fairness(args.backlog)
            self.stop(workers)
            self.stop(ticker)
        loop_cpu_line = cpu_per_item(loop_cpu, slices * loop_per_slice).replace("load generator", "the loop")
        print(
            f"4. offered {offered:.0f} orders/s, {slices} slices of {args.seconds / slices:.1f} s (placed at "
            f"{placed_n / placing_seconds:.0f}/s): {done_n}/{placed_n} invoiced, "
            f"{pipeline_rate:.1f} invoices/s sustained ({args.workers} workers)"
        )
        print(
            f"   single-process loop (same HTTP calls + one row write), {slices} slices of {loop_per_slice} "
            f"orders between them: {yardstick:.1f} orders/s"
        )
        print(f"   ratio           : pipeline / single loop = {pipeline_rate / yardstick:.2f}")
        print(f"   pipeline {cpu_per_item(pipeline_cpu, done_n)}")
        print(f"   single loop {loop_cpu_line}")
        print(
            f"   ceiling         : {ceiling_line(pipeline_cpu, done_n, loop_cpu, slices * loop_per_slice, yardstick)}"
        )
        if backlog_line:
            print(backlog_line)
            print(fair_line)

    def fairness(self, backlog: int) -> tuple[str, str]:
        """One licence has `backlog` orders queued (what a catch-up or a resume after a long outage leaves);
        another licence's new orders arrive by webhook meanwhile: how long do they wait?"""
        from django.utils import timezone

        from licenses.models import Licence
        from orders.models import Order, OrderState

        big = Licence.objects.get(store_id=self.stores[0][0])
        snapshot = copy.deepcopy(self.case["order"])
        rows = []
        for n in range(backlog):
            number = f"BACK{n:05d}"
            rows.append(
                Order(
                    licence=big,
                    order_number=number,
                    snapshot={**snapshot, "id": number, "email": f"b{n % 50}@x.example"},
                    snapshot_at=timezone.now(),
                    payment_status="PAID",
                    total=snapshot["total"],
                    state=OrderState.QUEUED,  # as queued by a bulk path: waiting for its licence's round
                )
            )
        Order.objects.bulk_create(rows, batch_size=2000)
        started = time.time()
        placed = self.place_orders("F", 1, 20, stores=self.stores[1:])
        done = self.handled(placed, 120)
        latencies = [done[n] - placed[n] for n in done]
        drained = Order.objects.filter(licence=big, state=OrderState.HANDLED).count()
        elapsed = time.time() - started
        return (
            f"5. one licence with a backlog of {backlog} queued orders; meanwhile {len(placed)} new orders of "
            f"other licences, 1/s for 20 s:",
            f"   their webhook → invoice: {len(done)}/{len(placed)} handled, p50 {pct(latencies, 50):.2f} s, "
            f"p99 {pct(latencies, 99):.2f} s (target < 60 s); the backlog drained {drained} in {elapsed:.0f} s",
        )

    def _purge_backlog(self) -> None:
        """Phases 1 and 2 stored events for orders that do not exist; workers need not chew on them."""
        from django_q.brokers import get_broker

        from orders.models import Order, WebhookEvent

        get_broker().purge_queue()
        WebhookEvent.objects.all().delete()
        Order.objects.all().delete()
        # What autovacuum does in production (this machine's PostgreSQL runs without it): the tens of
        # thousands of events phases 1 and 2 left are dead rows the next phases would otherwise wade through.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis", action="store_true", help="Redis broker (default: ORM broker)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/integration_bench"),
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200, help="steady webhook rate of phase 2")
    parser.add_argument(
        "--burst-rate", type=float, default=200, help="orders/s offered in phase 4 (above capacity)"
    )
    parser.add_argument("--slices", type=int, default=4, help="interleaved slices of phase 4, per side")
    parser.add_argument("--workers", type=int, default=2, help="django-q2 worker processes")
    parser.add_argument("--backlog", type=int, default=10_000, help="one licence's queued orders in phase 5")
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument(
        "--sustained-only", action="store_true", help="phase 4 only (when working on the workers' cost)"
    )
    bench = Bench(parser.parse_args())
    try:
        bench.run()
    finally:
        bench.stop_all()


if __name__ == "__main__":
    main()
