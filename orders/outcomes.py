"""How an attempt on an order ends when it does not end handled: an error, or a retry later.

Shared by processing (the worker), sync (reading the shop) and the follow-ups, so that none of them
has to import another for these rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from connectors.eenvoudigfactureren.client import SERVICE as EF_SERVICE
from connectors.errors import TransientError

from .call_log import order_attempt_store_now
from .models import Order, OrderEvent, OrderState
from .retry import retry_delay_seconds
from .rows import row_update, row_update_statement
from .texts import Text, text_fields
from .timeline import order_event_add


def order_update(order: Order, **fields: Any) -> None:
    """Write these fields of the order row and keep the Python object in step.

    A new state is committed together with the timeline lines and calls its attempt has collected so far,
    so whoever sees the state also sees why.
    """
    fields = text_fields(**fields)
    if "state" in fields:
        with transaction.atomic(savepoint=False):  # inside a caller's transaction: no savepoint of its own
            order_attempt_store_now(order.pk, row_update_statement(Order, order.pk, fields))
    else:  # one autocommitted UPDATE, no transaction around it
        row_update(Order, order.pk, fields)
    for name, value in fields.items():
        setattr(order, name, value)


def order_error(order: Order, code: str, message: str, *, ef_answer: str = "") -> None:
    # The line first: it is committed with the state.
    order_event_add(
        order,
        OrderEvent.Kind.STATE,
        Text(gettext_noop("→ error %(code)s: %(message)s"), code=code, message=message),
    )
    order_update(
        order,
        state=OrderState.ERROR,
        error_code=code,
        error_message=message,
        ef_answer=ef_answer,
        error_alerted_at=None,  # a new error: the merchant hears of it (dashboard.alerts)
        state_reason="",
        claimed_at=None,
        next_attempt_at=None,
    )


def retry_at(attempts: int, exc: TransientError) -> datetime:
    """When the next attempt after `attempts` failed ones may start (backoff, or EF's Retry-After)."""
    delay = retry_delay_seconds(
        attempts,
        base=settings.ORDER_RETRY_BASE_SECONDS,
        cap=settings.ORDER_RETRY_MAX_SECONDS,
        retry_after=exc.retry_after,
    )
    return timezone.now() + timedelta(seconds=delay)


def gave_up(attempts: int, exc: TransientError) -> Text | None:
    """The give-up message once `attempts` reached the maximum, else None."""
    if attempts < settings.ORDER_MAX_ATTEMPTS:
        return None
    return Text(
        gettext_noop("Gave up after %(attempts)s attempts."),
        attempts=attempts,
        said=exc.summary(),
    )


def retry_schedule(order: Order, exc: TransientError, *, code: str, count_attempt: bool = False) -> None:
    """Retry later with backoff, or give up with `code` after the last attempt."""
    attempts = order.attempts + (1 if count_attempt else 0)
    final = gave_up(attempts, exc)
    if final is not None:
        # `ef_answer` is shown as "EenvoudigFactureren answered": only EF's own words go there.
        order_error(order, code, final, ef_answer=exc.message if exc.service == EF_SERVICE else "")
        return
    at = retry_at(attempts, exc)
    reason = Text(
        gettext_noop("Retrying at %(time)s (attempt %(attempt)s)."),
        time=f"{timezone.localtime(at):%H:%M}",
        attempt=attempts + 1,
        said=exc.summary(),
    )
    retry_later(order, at, reason, attempts=attempts, event=reason)


def retry_later(order: Order, at: datetime, reason: str, *, attempts: int, event: str) -> None:
    """The order waits in Open as `retrying` until `at`; the ticker hands it to a worker then."""
    order_event_add(order, OrderEvent.Kind.STATE, event)  # committed with the state
    order_update(
        order,
        state=OrderState.RETRYING,
        next_attempt_at=at,
        state_reason=reason,
        claimed_at=None,
        attempts=attempts,
    )
