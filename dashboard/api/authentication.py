"""`Authorization: Bearer <key>`: the key decides the licence; a throttle per key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from licenses.models import Licence

from ..models import ApiKey
from .keys import api_key_find


@dataclass(frozen=True)
class ApiClient:
    """request.user for an API call: the licence its key sees."""

    licence: Licence
    key: ApiKey
    is_authenticated: bool = True

    def get_username(self) -> str:
        return f"api:{self.key.name}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None  # then the permission says 401
        kind, _sep, key = header.partition(" ")
        if kind != self.keyword or not key.strip():
            raise AuthenticationFailed(_("Send the API key as: Authorization: Bearer <key>."))
        row = api_key_find(key.strip())
        if row is None:
            raise AuthenticationFailed(_("This API key is unknown or was revoked."))
        return ApiClient(row.licence, row), row

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class PerKeyThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = request.auth
        return f"throttle_api_key_{key.pk}" if isinstance(key, ApiKey) else None


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema names our key: HTTP bearer."""

    target_class = "dashboard.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A key from Dashboard → API keys."}
