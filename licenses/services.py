"""Licence services: find the tenant of a store, build its clients, track its connections."""

from __future__ import annotations

import logging
from typing import Literal

from django.db.models import Q
from django.utils import timezone

from connectors.eenvoudigfactureren.client import EfClient
from connectors.kmoshops.client import KmoShopsClient

from .connection_words import ACCESS_LOST, APP_REMOVED, connection_text
from .models import ConnectionStatus, Licence, LicenceState

logger = logging.getLogger(__name__)
Connection = Literal["shop", "ef"]


def shop_client(licence: Licence) -> KmoShopsClient:
    return KmoShopsClient(store_id=int(licence.store_id or 0), access_token=licence.shop_token)


def ef_client(licence: Licence) -> EfClient:
    return EfClient(api_key=licence.ef_api_key)


def connection_failing(licence: Licence, which: Connection, said: str, text: str | None = None) -> None:
    """Turn a connection dot red: our sentence (`text`, a gettext_noop template; by default "no longer accepts
    our access") for the merchant, the counterpart's own words (`said`) behind Details. Only the status fields
    are written, so no other change is lost."""
    fields = {
        f"{which}_status": ConnectionStatus.FAILING,
        f"{which}_status_reason": said[:500],
        f"{which}_status_text": connection_text(text or ACCESS_LOST[which]),
        f"{which}_checked_at": timezone.now(),
    }
    Licence.objects.filter(pk=licence.pk).update(**fields)
    for name, value in fields.items():
        setattr(licence, name, value)
    logger.warning("licence %s: %s connection failing: %s", licence.key, which, said)


def connection_ok(licence: Licence, which: Connection) -> None:
    fields = {
        f"{which}_status": ConnectionStatus.OK,
        f"{which}_status_reason": "",
        f"{which}_status_text": {},
        f"{which}_checked_at": timezone.now(),
    }
    Licence.objects.filter(pk=licence.pk).update(**fields)
    for name, value in fields.items():
        setattr(licence, name, value)


def licence_uninstall(licence: Licence) -> None:
    """`application.uninstalled`: cancelled, token revoked and forgotten; orders and history are kept."""
    Licence.objects.filter(pk=licence.pk).update(
        state=LicenceState.CANCELLED,
        cancelled_at=timezone.now(),
        shop_token="",
        shop_status=ConnectionStatus.NONE,
        shop_status_reason="",
        shop_status_text=connection_text(APP_REMOVED),
    )
    licence.refresh_from_db()


def licences_ready_for_sync() -> list[Licence]:
    return list(
        Licence.objects.filter(shop_status=ConnectionStatus.OK, store_id__isnull=False)
        .exclude(state=LicenceState.CANCELLED)
        .exclude(Q(shop_token="") | Q(shop_token__isnull=True))
    )
