"""KMO Shops (Ecwid REST API v3) client: OAuth code exchange, store profile, orders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings

from ..errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    TransientError,
    retry_after_seconds,
)
from ..http import HttpTransport

SERVICE = "KMO Shops"
PAGE_LIMIT = 100
# Ecwid error codes meaning "this token cannot be used": the merchant must reconnect.
AUTH_ERROR_CODES = {"INVALID_API_TOKEN", "INSUFFICIENT_APP_SCOPE"}


@dataclass(frozen=True)
class OAuthGrant:
    access_token: str
    store_id: int
    scope: str
    email: str


def _error_from_response(response: requests.Response) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("errorCode") or "")
    message = str(body.get("errorMessage") or response.reason or "error")
    status = response.status_code
    kwargs = {"status": status, "code": code, "service": SERVICE}
    if status == 429 or code == "RATE_LIMITED":
        return TransientError(
            message, retry_after=retry_after_seconds(response.headers.get("Retry-After")), **kwargs
        )
    if status >= 500 or status == 408:
        return TransientError(message, **kwargs)
    if code in AUTH_ERROR_CODES or status in (401, 403):
        return AuthenticationError(message, **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    return PermanentError(message, **kwargs)


def _json(response: requests.Response) -> Any:
    if response.status_code >= 400:
        raise _error_from_response(response)
    try:
        return response.json()
    except ValueError as exc:
        raise TransientError("answer is not JSON", status=response.status_code, service=SERVICE) from exc


def oauth_authorize_url(*, redirect_uri: str, state: str, oauth_url: str | None = None) -> str:
    query = urlencode(
        {
            "client_id": settings.KMOSHOPS_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": settings.KMOSHOPS_SCOPES,
            "state": state,
        }
    )
    return f"{(oauth_url or settings.KMOSHOPS_OAUTH_URL)}/authorize?{query}"


def oauth_code_exchange(*, code: str, redirect_uri: str, oauth_url: str | None = None) -> OAuthGrant:
    transport = HttpTransport(oauth_url or settings.KMOSHOPS_OAUTH_URL, service=SERVICE)
    response = transport.send(
        "POST",
        "token",
        data={
            "client_id": settings.KMOSHOPS_CLIENT_ID,
            "client_secret": settings.KMOSHOPS_CLIENT_SECRET,
            "code": code,
            "redirect_uri": redirect_uri,
            "grant_type": "authorization_code",
        },
    )
    body = _json(response)
    if not isinstance(body, dict) or not body.get("access_token"):
        raise PermanentError(
            "token answer without access_token", status=response.status_code, service=SERVICE
        )
    return OAuthGrant(
        access_token=str(body["access_token"]),
        store_id=int(body["store_id"]),
        scope=str(body.get("scope", "")),
        email=str(body.get("email", "")),
    )


def _as_query_time(value: datetime | int) -> int:
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


class KmoShopsClient:
    def __init__(self, *, store_id: int, access_token: str, api_url: str | None = None) -> None:
        self.store_id = int(store_id)
        self.transport = HttpTransport(
            f"{(api_url or settings.KMOSHOPS_API_URL)}/{self.store_id}",
            service=SERVICE,
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
                "Content-Type": "application/json;charset=utf-8",
            },
        )

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return _json(self.transport.send("GET", path, params=params))

    def profile(self) -> dict[str, Any]:
        return self._get("profile")

    def order_get(self, order_id: str | int) -> dict[str, Any]:
        return self._get(f"orders/{requests.utils.quote(str(order_id), safe='')}")

    def orders_created_page(
        self, *, created_from: datetime, created_to: datetime, offset: int, limit: int = PAGE_LIMIT
    ) -> dict[str, Any]:
        """One page of the orders created in [created_from, created_to): the envelope (total, count, items)."""
        return self._get(
            "orders",
            {
                "createdFrom": _as_query_time(created_from),
                "createdTo": _as_query_time(created_to),
                "offset": offset,
                "limit": min(limit, PAGE_LIMIT),
            },
        )

    def orders_search(
        self,
        *,
        updated_from: datetime | int | None = None,
        payment_statuses: list[str] | None = None,
        limit: int = PAGE_LIMIT,
    ) -> Iterator[dict[str, Any]]:
        """Every matching order, paging with offset until the envelope's total is reached."""
        params: dict[str, Any] = {"limit": min(limit, PAGE_LIMIT), "offset": 0}
        if updated_from is not None:
            params["updatedFrom"] = _as_query_time(updated_from)
        if payment_statuses:
            params["paymentStatus"] = ",".join(payment_statuses)
        while True:
            page = self._get("orders", params)
            items = page.get("items") or []
            yield from items
            count = int(page.get("count", len(items)))
            params["offset"] += count
            if count == 0 or params["offset"] >= int(page.get("total", 0)):
                return
