"""`python manage.py pipeline_ticker`: hand newly stored webhook events to the workers several times a
second, and every few seconds due retries, stale claims and lost tasks, so that a new order starts within a
fraction of a second and a retry within seconds of its time (django-q2's scheduler wakes only every 30 s and
our sweep schedule once a minute). Safe to run on several hosts at once: every step is guarded.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connections

from orders.sweep import pipeline_tick, webhook_events_hand_out

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Hand new webhook events to the workers; every few seconds queue due retries, take over stale claims."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=settings.ORDER_TICK_SECONDS)
        parser.add_argument("--events-every", type=float, default=settings.WEBHOOK_HAND_OUT_SECONDS)
        parser.add_argument("--once", action="store_true", help="one tick, then stop")

    def handle(self, *args: object, **options: object) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        every, events_every = float(options["every"]), float(options["events_every"])  # type: ignore[arg-type]
        next_tick = 0.0
        failures = 0
        while True:
            close_old_connections()
            try:
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + every
                    done = pipeline_tick()
                    if any(done.values()):
                        self.stdout.write(", ".join(f"{name} {count}" for name, count in done.items()))
                else:
                    webhook_events_hand_out()
                failures = 0
            except Exception:  # noqa: BLE001 - a database restart must not stop the pipeline
                failures += 1
                # The first failure in a row is an error (mailed to ADMINS); the rest only warnings.
                log = logger.exception if failures == 1 else logger.warning
                log("pipeline_ticker: tick failed (%s in a row); trying again", failures)
                connections.close_all()  # the next tick connects afresh
            if options["once"] or stop.wait(ticker_pause(events_every, failures)):
                return


def ticker_pause(events_every: float, failures: int) -> float:
    """Seconds until the next tick: the usual pace, or a growing pause (at most 5 s) while ticks fail, so a
    database that is down is not hammered and a database that is back is used within seconds."""
    if not failures:
        return events_every
    return min(5.0, events_every * 2**failures)
