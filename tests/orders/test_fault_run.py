"""The fault run: 200 orders through real worker processes and `pipeline_ticker` while EF fails, webhooks
repeat and arrive out of order, workers are killed and the database drops every session once (what a
PostgreSQL restart does). Every order ends with exactly one invoice; none is left behind; the ticker lives on.

Runs on PostgreSQL (`.ci/run` does, with the Redis broker): several processes share the database there as
in production. On SQLite it skips.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.db import connection
from django_q.brokers import get_broker
from django_q.conf import Conf

from orders.invoice_mapping import external_invoice_id
from orders.models import Order, OrderState
from tests.conftest import ROOT, control, order_fixture
from tests.database_outage import database_down_for
from tests.orders.test_worker_crash import database_url

pytestmark = pytest.mark.django_db(transaction=True)
ORDERS = 200
PIPELINE_ENV = {
    "ORDER_RETRY_BASE_SECONDS": "0.2",
    "ORDER_RETRY_MAX_SECONDS": "2",
    "ORDER_MAX_ATTEMPTS": "200",  # faults are passing here: no order may give up
    "HTTP_READ_TIMEOUT": "1",
    "EF_UNCERTAIN_CREATE_MARGIN_SECONDS": "3.0",
    "ORDER_CLAIM_STALE_SECONDS": "4",
    "ORDER_LOST_TASK_SECONDS": "5",
}


class Workers:
    """`manage.py qcluster` processes, each in its own process group so that a kill takes all of it."""

    def __init__(self, sandboxes) -> None:
        self.env = {
            **os.environ,
            **sandboxes.settings,
            **PIPELINE_ENV,
            "DJANGO_SETTINGS_MODULE": "integration_site.test_settings",
            "DATABASE_URL": database_url(),
            "Q_SYNC": "false",
            "Q_WORKERS": "2",
            "Q_POLL_SECONDS": "0.1",
        }
        self.running: list[subprocess.Popen] = []

    def start(self, *command: str) -> subprocess.Popen:
        """A `manage.py qcluster` (or the given command) in its own process group."""
        self.running.append(
            subprocess.Popen(
                [sys.executable, "manage.py", *(command or ["qcluster"])],
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        return self.running[-1]

    def kill_oldest(self) -> None:
        self.kill(self.running[0])

    def kill(self, process: subprocess.Popen) -> None:
        self.running.remove(process)
        with contextlib.suppress(ProcessLookupError):  # the whole group, even if its leader is gone
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        while self.running:
            self.kill_oldest()


def _order(case: dict, n: int, status: str) -> dict:
    order = copy.deepcopy(case["order"])
    order["id"] = f"F{n:04d}"
    order["internalId"] = order["orderNumber"] = 700000 + n
    order["email"] = f"klant{n}@fault.example"
    order["paymentStatus"] = status
    return order


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the fault run needs PostgreSQL (several worker processes); .ci/run runs it there",
)
def test_200_orders_under_ef_faults_repeated_webhooks_killed_workers_and_a_database_restart(
    pipeline, settings, monkeypatch
):
    monkeypatch.setattr(Conf, "SYNC", False)  # the webhook endpoint hands work to the real broker
    for name, value in PIPELINE_ENV.items():
        setattr(settings, name, float(value) if "." in value else int(value))
    get_broker().purge_queue()
    case = order_fixture("a01")
    licence = pipeline.licence(case)
    shop, ef = pipeline.sandboxes.kmoshops.url, pipeline.sandboxes.ef.url
    # 30 % of all EF calls fail (429/5xx); on top, slow creates that land 2 s after our read timeout (the
    # margin covers them) and
    # creates whose answer is lost after EF made the invoice.
    control(ef, "quirks", {"random_fault_rate": 0.3, "seed": 2026})
    control(ef, "faults", {"status": 0, "slow_work": 3.0, "path": "/invoices", "method": "POST", "count": 10})
    control(
        ef,
        "faults",
        {"status": 502, "drop": True, "after": True, "path": "/invoices", "method": "POST", "count": 10},
    )
    control(shop, "webhooks/config", {"duplicate": True})

    workers = Workers(pipeline.sandboxes)
    # The ticker hands the events out, retries what is due and takes over what killed workers held: the
    # test does not sweep, so a ticker that died at the database restart would leave orders behind.
    ticker = workers.start("pipeline_ticker", "--every", "0.5", "--events-every", "0.1")
    workers.start()
    workers.start()
    try:
        half = ORDERS // 2
        for n in range(half):  # paid at once, every webhook delivered twice
            pipeline.place(licence, _order(case, n, "PAID"))
        # The other half: created unpaid, then paid; the shop holds both webhooks and sends them newest first.
        control(shop, "webhooks/config", {"hold": True})
        for n in range(half, ORDERS):
            pipeline.place(licence, _order(case, n, "AWAITING_PAYMENT"))
            pipeline.pay(licence, f"F{n:04d}")
        control(shop, "webhooks/config", {"hold": False})
        control(shop, "webhooks/flush", {"reverse": True})

        deadline = time.monotonic() + 240
        kills = [time.monotonic() + 3, time.monotonic() + 12]
        restart_at: float | None = time.monotonic() + 6
        while time.monotonic() < deadline:
            if kills and time.monotonic() > kills[0]:
                kills.pop(0)
                workers.kill(next(p for p in workers.running if p is not ticker))  # with orders in hand
                workers.start()
            if restart_at is not None and time.monotonic() > restart_at:
                restart_at = None
                database_down_for(1.5)  # every session of the workers and the ticker ends
            handled = Order.objects.filter(licence=licence, state=OrderState.HANDLED).count()
            if handled == ORDERS and not kills and restart_at is None:
                break
            time.sleep(0.5)
        assert ticker.poll() is None, "pipeline_ticker stopped"
    finally:
        workers.stop()

    states = Counter(Order.objects.filter(licence=licence).values_list("state", flat=True))
    assert states == {OrderState.HANDLED: ORDERS}, states
    invoices = pipeline.ef_invoices(licence)
    per_order = Counter(invoice["external_invoice_id"] for invoice in invoices)
    expected = {external_invoice_id(licence.pk, f"F{n:04d}") for n in range(ORDERS)}
    assert set(per_order) == expected
    assert max(per_order.values()) == 1, [k for k, v in per_order.items() if v > 1]
    for order in Order.objects.filter(licence=licence):
        assert order.ef_invoice_id and order.ef_invoice_number
