"""`python manage.py pipeline_ticker`: every few seconds, hand due retries, stale claims and lost tasks to
the workers, so that a retry starts within seconds of its time (django-q2's scheduler wakes only every
30 s and our sweep schedule once a minute). Safe to run on several hosts at once: every step is guarded.
"""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from orders.sweep import pipeline_tick


class Command(BaseCommand):
    help = "Every few seconds: queue due retries, take over stale claims, re-queue lost tasks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=settings.ORDER_TICK_SECONDS)
        parser.add_argument("--once", action="store_true", help="one tick, then stop")

    def handle(self, *args: object, **options: object) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while True:
            close_old_connections()
            done = pipeline_tick()
            if any(done.values()):
                self.stdout.write(", ".join(f"{name} {count}" for name, count in done.items()))
            if options["once"] or stop.wait(float(options["every"])):  # type: ignore[arg-type]
                return
