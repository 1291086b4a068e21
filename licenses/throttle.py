"""Small fixed-window counters in the shared cache (sign-ups per address, failed logins per account)."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    # Behind the TLS proxy the first X-Forwarded-For hop is the client; REMOTE_ADDR otherwise.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return (
        forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR", "")
    ) or "unknown"


def hits(key: str) -> int:
    return int(cache.get(key, 0))


def hit(key: str, window_seconds: int) -> int:
    if cache.add(key, 1, window_seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        return 1


def reset(key: str) -> None:
    cache.delete(key)
