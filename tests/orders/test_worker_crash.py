"""A real django-q2 worker is killed right after EF created the invoice: still exactly one invoice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django_q.brokers import get_broker
from django_q.conf import Conf

from orders.models import Order, OrderState
from orders.sweep import orders_sweep, webhook_events_hand_out
from tests.conftest import ROOT, control, order_fixture

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(sandboxes) -> subprocess.Popen:
    env = {
        **os.environ,
        **sandboxes.settings,
        "DJANGO_SETTINGS_MODULE": "integration_site.test_settings",
        "DATABASE_URL": database_url(),
        "Q_SYNC": "false",
        "Q_WORKERS": "1",
        "Q_POLL_SECONDS": "0.1",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_worker_killed_after_ef_created_the_invoice(pipeline, monkeypatch, settings):
    monkeypatch.setattr(Conf, "SYNC", False)  # this test uses the real broker and a real worker process
    get_broker().purge_queue()
    case = order_fixture("a02")
    licence = pipeline.licence(case)
    # EF creates the invoice, then takes 60 s to answer: the worker is killed while it waits.
    control(
        pipeline.sandboxes.ef.url,
        "faults",
        {"status": 0, "delay": 60, "after": True, "path": "/invoices", "method": "POST"},
    )
    worker = start_worker(pipeline.sandboxes)
    try:
        pipeline.place(licence, case["order"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not pipeline.ef_invoices(licence):
            webhook_events_hand_out()  # as the ticker does: the stored event goes to the worker
            time.sleep(0.1)
        assert len(pipeline.ef_invoices(licence)) == 1, "the worker never reached EF"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    order = Order.objects.get(licence=licence, order_number=case["order"]["id"])
    assert order.state == OrderState.PROCESSING
    assert order.ef_create_started_at is not None and order.ef_invoice_id is None

    # The sweep hands the order to another worker (here: inline), which finds the invoice in EF.
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.ORDER_CLAIM_STALE_SECONDS = 0
    orders_sweep()
    orders_sweep()
    order = pipeline.wait(licence, case["order"]["id"], states=(OrderState.HANDLED,))
    [invoice] = pipeline.ef_invoices(licence)
    assert order.ef_invoice_id == invoice["invoice_id"]
    assert order.events.filter(message__startswith="Found invoice").exists()
