"""Ecwid webhook signatures: base64(HMAC-SHA256(client_secret, "{eventCreated}.{eventId}"))."""

from __future__ import annotations

import base64
import hashlib
import hmac


def webhook_signature(client_secret: str, event_created: int | str, event_id: str) -> str:
    message = f"{event_created}.{event_id}".encode()
    digest = hmac.new(client_secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def webhook_signature_valid(
    client_secret: str, event_created: int | str, event_id: str, signature: str
) -> bool:
    """Constant-time comparison; an empty secret or signature never validates."""
    if not client_secret or not signature:
        return False
    expected = webhook_signature(client_secret, event_created, event_id)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("ascii", "replace"))
