"""Small fixed-window counters in the shared cache (sign-ups per address, failed logins per account)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest, *, proxy_hops: int | None = None) -> str:
    """The address that reached our first trusted proxy; REMOTE_ADDR when no proxy is trusted.

    X-Forwarded-For is written by whoever sends the request, and each proxy appends the address it saw.
    With N trusted proxies in front of us, only the N right-most entries were written by them: the N-th
    from the right is the client. Anything left of it is the client's own claim and is never believed.
    """
    hops = settings.TRUSTED_PROXY_HOPS if proxy_hops is None else proxy_hops
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if hops <= 0:
        return remote
    entries = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) < hops:
        return remote  # the proxies did not say: count the request against the proxy itself
    return entries[-hops][:64]


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
