"""The safety net: ask each connected shop for orders updated since the last successful sync."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from itertools import islice
from typing import Any

from django.utils import timezone

from connectors.errors import AuthenticationError, ConnectorError
from licenses.models import Licence
from licenses.services import connection_failing, licences_ready_for_sync, shop_client

from .models import Order
from .sync import HandOut, order_refresh

logger = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=5)  # clocks differ and updates land late: look a little further back
BATCH = 100
MISSING = object()


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def licence_catch_up(licence: Licence) -> int:
    """Feed every order updated since the last sync through the normal path; returns how many were new news."""
    started = timezone.now()
    since = licence.last_synced_at or licence.process_from or (started - timedelta(days=1))
    fed = 0
    try:
        found = shop_client(licence).orders_search(updated_from=since - OVERLAP)
        for batch in batched(found, BATCH):
            # Only the orders the shop reports are looked up: the cost follows the news, not the licence.
            numbers = [str(snapshot.get("id") or "") for snapshot in batch]
            known = dict(
                Order.objects.filter(licence=licence, order_number__in=numbers).values_list(
                    "order_number", "snapshot__updateTimestamp"
                )
            )
            for number, snapshot in zip(numbers, batch, strict=True):
                if not number or known.get(number, MISSING) == snapshot.get("updateTimestamp"):
                    continue  # nothing new since we last saw it
                order_refresh(licence, number, trigger="catch-up", snapshot=snapshot, hand_out=HandOut.ROUND)
                fed += 1
    except AuthenticationError as exc:
        connection_failing(licence, "shop", exc.message)
        return fed
    except ConnectorError as exc:
        logger.warning("catch-up for %s stopped: %s", licence.key, exc.summary())
        return fed
    Licence.objects.filter(pk=licence.pk).update(last_synced_at=started)
    return fed


def catch_up_all() -> dict[str, int]:
    return {licence.key: licence_catch_up(licence) for licence in licences_ready_for_sync()}
