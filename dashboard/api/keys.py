"""API keys: made (shown once), found by their digest, revoked. Plain functions, scoped to a licence."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from licenses.models import Licence

from ..models import ApiKey

KEY_PREFIX = "kmo_"
LAST_USED_EVERY = timedelta(minutes=1)  # "last used" is written at most once a minute per key


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, licence: Licence, name: str, user: Any = None) -> tuple[ApiKey, str]:
    """A new key for this licence; the second value is the key itself, never stored and never shown again."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey.objects.create(
        licence=licence,
        name=name.strip()[:100] or "API",
        prefix=key[:10],
        digest=key_digest(key),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    return row, key


def api_key_revoke(*, licence: Licence, key_id: int) -> bool:
    return bool(
        ApiKey.objects.filter(licence=licence, pk=key_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def api_key_find(key: str) -> ApiKey | None:
    """The active key, with its licence; None for an unknown or revoked key."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = (
        ApiKey.objects.select_related("licence")
        .filter(digest=key_digest(key), revoked_at__isnull=True)
        .first()
    )
    if row is not None and (row.last_used_at is None or timezone.now() - row.last_used_at > LAST_USED_EVERY):
        row.last_used_at = timezone.now()
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=row.last_used_at)
    return row
