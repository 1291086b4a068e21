"""Test fixtures: the sandboxes on free loopback ports, the order fixtures in tests/fixtures/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.sandboxes import Sandboxes, sandboxes_start

ROOT = Path(__file__).resolve().parent.parent
# The order fixtures live in the repository (copied from the team's shared folder): a clone stands alone.
FIXTURES = ROOT / "tests" / "fixtures"
ORDER_FIXTURES_DIR = FIXTURES / "orders"
ORDER_FIXTURES = sorted(ORDER_FIXTURES_DIR.glob("*.json"))


def order_fixture(name: str) -> dict[str, Any]:
    path = next(p for p in ORDER_FIXTURES if p.name.startswith(name))
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def sandboxes(settings) -> Iterator[Sandboxes]:
    """All three sandboxes, with the product's settings pointed at them."""
    boxes = sandboxes_start(
        client_id=settings.KMOSHOPS_CLIENT_ID, client_secret=settings.KMOSHOPS_CLIENT_SECRET
    )
    for name, value in boxes.settings.items():
        setattr(settings, name, value)
    yield boxes
    boxes.stop()


def control(base_url: str, path: str, body: Any = None, method: str = "POST") -> Any:
    """Call a sandbox's test-control API."""
    response = requests.request(method, f"{base_url}/_sandbox/{path}", json=body, timeout=10)
    assert response.status_code < 400, response.text
    return response.json()


@pytest.fixture(autouse=True)
def _fresh_shared_cache(settings):
    """The Redis cache (CI's PostgreSQL run) outlives each test's transaction: start every test empty."""
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        from django.core.cache import cache

        cache.clear()
