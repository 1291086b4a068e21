"""Small fixed-window counters (sign-ups and password resets per address, failed logins per account and per
address, tickets per licence), in the database: one atomic statement counts, and a window lasts exactly as
long as it says. (The cache counted before: Django's database cache rewrites a key with its default 300 s
timeout on every increment, so a 15-minute or one-hour window was forgotten after five minutes.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from .models import ThrottleCount


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


KEY_MAX = 200  # ThrottleCount.key


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def hits(key: str, *, now: datetime | None = None) -> int:
    """How often `key` was hit in its current window."""
    found = ThrottleCount.objects.filter(key=key[:KEY_MAX], window_ends_at__gt=_now(now)).values_list(
        "count", flat=True
    )
    return next(iter(found), 0)


def hit(key: str, window_seconds: int, *, now: datetime | None = None) -> int:
    """Count one hit of `key`; a window of `window_seconds` starts with the first hit after the last one
    ended. Returns the hits in the window so far. One statement: concurrent hits are all counted."""
    moment = _now(now)
    quote = connection.ops.quote_name
    table, key_, count, ends_at = (
        quote(name) for name in (ThrottleCount._meta.db_table, "key", "count", "window_ends_at")
    )
    ended = f"{table}.{ends_at} <= %s"
    sql = (
        f"INSERT INTO {table} ({key_}, {count}, {ends_at}) VALUES (%s, 1, %s) "  # noqa: S608 - model's names
        f"ON CONFLICT ({key_}) DO UPDATE SET "
        f"{count} = CASE WHEN {ended} THEN 1 ELSE {table}.{count} + 1 END, "
        f"{ends_at} = CASE WHEN {ended} THEN excluded.{ends_at} ELSE {table}.{ends_at} END "
        f"RETURNING {count}"
    )
    field = ThrottleCount._meta.get_field("window_ends_at")
    ends, at = (
        field.get_db_prep_save(value, connection)
        for value in (moment + timedelta(seconds=window_seconds), moment)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key[:KEY_MAX], ends, at, at])
        return int(cursor.fetchone()[0])


def reset(key: str) -> None:
    ThrottleCount.objects.filter(key=key[:KEY_MAX]).delete()


def throttle_counts_expire() -> int:
    """Windows that ended go (every sweep)."""
    return ThrottleCount.objects.filter(window_ends_at__lte=timezone.now()).delete()[0]
