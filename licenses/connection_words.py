"""What a merchant reads about a connection that does not work: our own sentence, in their language.

The sentence is stored as its English template (`<which>_status_text = {"t": template}`, the payload shape
orders.texts uses) and translated when shown. The counterpart's words (KMO Shops' "The access token is
invalid or revoked.", EF's "authentication failed: invalid api key") are kept in `<which>_status_reason`
and shown only behind "Details"."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_noop

# A connection that worked and stopped: the token or key is no longer accepted.
ACCESS_LOST = {
    "shop": gettext_noop(
        "KMO Shops no longer accepts our access to your store: the app's permission was withdrawn or has "
        "expired."
    ),
    "ef": gettext_noop(
        "EenvoudigFactureren no longer accepts the API key: it was deleted or changed, or lost its rights."
    ),
}
APP_REMOVED = gettext_noop("The app was removed from your KMO Shops backend.")


def connection_text(template: str) -> dict[str, Any]:
    """The payload stored beside the status: a sentence marked with gettext_noop, kept in English."""
    return {"t": template}


def connection_sentence(which: str, status: str, payload: dict[str, Any] | None) -> str:
    """Our sentence for a connection's state, in the current language ("" when there is nothing to say)."""
    if payload and payload.get("t"):
        return gettext(payload["t"])
    if status == "failing":  # a row from before the sentence was stored: the only way it turned red
        return gettext(ACCESS_LOST[which])
    return ""
