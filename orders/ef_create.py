"""Creating a document in EF exactly once (invoices and credit notes alike).

The create is marked (committed) before the call. If we never learn the answer, a later attempt first
looks in EF by `external_invoice_id`, and does not create again before a look-up made after EF must have
finished with the earlier call (`uncertain_create_settles_at`) has found nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from connectors.eenvoudigfactureren.client import EfClient
from connectors.errors import ConnectorError, TransientError

from .texts import Text


class Deferred(Exception):
    """Not now, and not a failure: try again at `at` (an earlier create may still land in EF)."""

    def __init__(self, at: datetime, reason: str) -> None:
        super().__init__(reason)
        self.at, self.reason = at, reason


def uncertain_create_settles_at(started_at: datetime) -> datetime:
    """When EF must have finished with a create that started at `started_at`, even if it never answered."""
    wait = settings.HTTP_READ_TIMEOUT + settings.EF_UNCERTAIN_CREATE_MARGIN_SECONDS
    return started_at + timedelta(seconds=wait)


def create_surely_refused(exc: ConnectorError) -> bool:
    """EF answered with an error (4xx, an HTTP-200 error body, 429): nothing was made.

    A timeout, a lost connection or a 5xx leaves the outcome unknown: the document may exist.
    """
    if exc.status is None:
        return False
    if isinstance(exc, TransientError):
        return exc.status == 429
    return True


def marks_after_failure(exc: ConnectorError) -> dict[str, datetime | None]:
    """What a failed call leaves of its marks ("started", "settles"): both cleared when EF surely made
    nothing; "settles" now when EF answered (a 5xx: whatever it did is stored, the next look-up is
    conclusive); unchanged when we never heard (a timeout, a lost connection)."""
    if create_surely_refused(exc):
        return {"started": None, "settles": None}
    if exc.status is not None:
        return {"settles": timezone.now()}
    return {}


def earlier_create_find(
    ef: EfClient,
    external_id: str,
    *,
    started_at: datetime,
    settles_at: datetime | None,
    too_early: str,
) -> dict[str, Any] | None:
    """The document an earlier create made, or None once sure there is none.

    Raises Deferred (with `too_early`, a template taking `time`) while EF may still be storing it.
    """
    looked_at = timezone.now()
    existing = ef.invoice_find_by_external_id(external_id)
    if existing:
        return existing
    settled_at = settles_at or uncertain_create_settles_at(started_at)
    if looked_at < settled_at:
        raise Deferred(settled_at, Text(too_early, time=f"{timezone.localtime(settled_at):%H:%M:%S}"))
    return None
