"""`python manage.py sandbox` runs all three sandboxes and says how to reach them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import requests

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sandbox_command_serves_all_three_and_prints_their_urls():
    ports = [free_port() for _ in range(3)]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "integration_site.test_settings", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--kmoshops-port", str(ports[0]), "--ef-port", str(ports[1])]
        + ["--vies-port", str(ports[2]), "--ef-api-key", "demo-key"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("VIES_URL" in line for line in lines):
            lines.append(process.stdout.readline())
        output = "".join(lines)
        assert f"KMOSHOPS_API_URL=http://127.0.0.1:{ports[0]}/api/v3" in output
        assert f"EF_API_URL=http://127.0.0.1:{ports[1]}" in output
        assert "API key: demo-key" in output
        answer = requests.get(
            f"http://127.0.0.1:{ports[1]}/api/v1/accounts/current",
            headers={"X-API-Key": "demo-key", "Accept": "application/json"},
            timeout=5,
        )
        assert answer.status_code == 200 and re.match(r"C\d+", answer.json()["number"])
        state = requests.get(f"http://127.0.0.1:{ports[0]}/_sandbox/state", timeout=5).json()
        assert "97510001" in state["stores"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
