"""`pipeline_ticker` outlives its database connection (issue #19, item 5): after PostgreSQL drops it (a
restart, a fail-over), the ticker connects again and goes on handing out webhook events within seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.db import connection
from django_q.brokers import get_broker

from orders.management.commands.pipeline_ticker import ticker_pause
from orders.models import WebhookEvent
from tests.conftest import ROOT
from tests.database_outage import database_down_for
from tests.orders.test_worker_crash import database_url


def test_the_pause_grows_while_ticks_fail_and_is_short_again_after():
    assert ticker_pause(0.1, 0) == 0.1
    assert ticker_pause(0.1, 1) == 0.2 and ticker_pause(0.1, 3) == 0.8
    assert ticker_pause(0.1, 20) == 5.0


def _handed_out(event: WebhookEvent, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event.refresh_from_db()
        if event.handed_out_at is not None:
            return True
        time.sleep(0.1)
    return False


def _event(n: int) -> WebhookEvent:
    return WebhookEvent.objects.create(
        event_id=f"ticker-{n}", event_type="order.created", store_id=None, body={"data": {"orderId": "X"}}
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="drops the ticker's PostgreSQL connection; .ci/run runs it there"
)
def test_the_ticker_hands_out_events_again_after_its_database_connection_was_killed():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "integration_site.test_settings",
        "DATABASE_URL": database_url(),
        "Q_SYNC": "false",
    }
    ticker = subprocess.Popen(
        [sys.executable, "manage.py", "pipeline_ticker", "--every", "0.5", "--events-every", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert _handed_out(_event(1), 20), "the ticker never handed out an event"
        # What a PostgreSQL restart does to the ticker: its session ends, and for a while no new one opens.
        database_down_for(2.0)
        assert _handed_out(_event(2), 15), "the ticker did not recover"
        assert ticker.poll() is None, ticker.stderr.read().decode()[-2000:] if ticker.stderr else ""
    finally:
        ticker.terminate()
        ticker.wait(10)
        get_broker().purge_queue()  # its tasks are for events no worker of the suite will see
