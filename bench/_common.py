"""What the PostgreSQL benchmarks share: loopback ports, a fresh database, production-like settings, and a
licence wired to the sandboxes. Imported by the scripts beside it (not a benchmark itself)."""

from __future__ import annotations

import socket
import time
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, seconds: float = 30) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def database_recreate(database_url: str) -> None:
    """Drop and create the benchmark's own database (never one the product uses)."""
    import psycopg

    name, admin = database_url.rsplit("/", 1)[1], database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off, quiet logs) on the benchmark's database, plus `extra`."""
    return {
        "DJANGO_SETTINGS_MODULE": "integration_site.settings",
        "DEBUG": "false",
        "HTTPS": "false",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "FIELD_ENCRYPTION_KEYS": "tyjPRZlNE8cGhDJ6kzL1b3z1mWZcj2w7i1D8mHfr1Dc=",
        "STATIC_MANIFEST": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "LOG_LEVEL": "ERROR",
        **extra,
    }


def sandbox_licence_fields(store_id: int, token: str, profile: dict[str, Any], ef_key: str) -> dict[str, Any]:
    """A licence connected to a sandbox shop and EF account, configured, processing every order."""
    from django.utils import timezone

    from licenses.models import ConnectionStatus

    return {
        "store_id": store_id,
        "shop_token": token,
        "shop_profile": profile,
        "shop_status": ConnectionStatus.OK,
        "ef_api_key": ef_key,
        "ef_vat_rates": ["0", "6", "12", "21"],
        "ef_status": ConnectionStatus.OK,
        "configured_at": timezone.now(),
        "process_from": timezone.now() - timezone.timedelta(days=3650),
    }
