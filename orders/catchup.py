"""The safety net: ask each connected shop for orders updated since the last successful sync."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from connectors.errors import AuthenticationError, ConnectorError
from licenses.models import Licence
from licenses.services import connection_failing, licences_ready_for_sync, shop_client

from .models import Order
from .sync import order_refresh

logger = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=5)  # clocks differ and updates land late: look a little further back


def licence_catch_up(licence: Licence) -> int:
    """Feed every order updated since the last sync through the normal path; returns how many were new news."""
    started = timezone.now()
    since = licence.last_synced_at or licence.process_from or (started - timedelta(days=1))
    known = dict(
        Order.objects.filter(licence=licence).values_list("order_number", "snapshot__updateTimestamp")
    )
    fed = 0
    try:
        for snapshot in shop_client(licence).orders_search(updated_from=since - OVERLAP):
            number = str(snapshot.get("id") or "")
            if not number or known.get(number) == snapshot.get("updateTimestamp"):
                continue  # nothing new since we last saw it
            order_refresh(licence, number, trigger="catch-up", snapshot=snapshot)
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
