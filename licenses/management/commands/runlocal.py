"""Run the whole product locally: sandboxes, web server, task worker, demo data; Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

SANDBOX_PORTS = (8101, 8102, 8103)


def wait_for(url: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return True
        except requests.RequestException:
            time.sleep(0.2)
    return False


class Command(BaseCommand):
    help = (
        "Start both sandboxes, the web server and a django-q2 worker, provision demo data; stop all together."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument(
            "--no-sandboxes",
            action="store_true",
            help="use the configured real services instead of the sandboxes",
        )

    def handle(self, *args: object, **options: object) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        env = dict(os.environ)
        use_sandboxes = not options["no_sandboxes"]
        host, port = str(options["host"]), int(options["port"])  # type: ignore[arg-type]
        site = os.environ.get("SITE_URL") or f"http://{host}:{port}"
        env["SITE_URL"] = site
        if use_sandboxes:
            kmo, ef, vies = (f"http://127.0.0.1:{p}" for p in SANDBOX_PORTS)
            env.update(
                KMOSHOPS_API_URL=f"{kmo}/api/v3",
                KMOSHOPS_OAUTH_URL=f"{kmo}/api/oauth",
                KMOSHOPS_CLIENT_ID=env.get("KMOSHOPS_CLIENT_ID") or "sandbox-client-id",
                KMOSHOPS_CLIENT_SECRET=env.get("KMOSHOPS_CLIENT_SECRET") or "sandbox-client-secret",
                EF_API_URL=ef,
                VIES_URL=vies,
            )
        children: list[subprocess.Popen[bytes]] = []

        def start(argv: list[str]) -> None:
            children.append(subprocess.Popen(manage + argv, env=env))

        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            if use_sandboxes:
                start(["sandbox", "--webhook-url", f"{site}/webhooks/kmoshops/"])
                wait_for(f"http://127.0.0.1:{SANDBOX_PORTS[0]}/_sandbox/state")
            start(["runserver", f"{host}:{port}", "--noreload"])
            start(["qcluster"])
            start(["pipeline_ticker"])
            wait_for(f"http://{host}:{port}/healthz")
            if use_sandboxes:
                call_command("demo_data")
            self.stdout.write(self.style.SUCCESS(f"Running at {site}/  (Ctrl-C stops everything)"))
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("Stopped.")
