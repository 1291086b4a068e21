"""One HTTP wrapper for all connectors: a session, a base URL, a (connect, read) timeout on every call.

Network failures become TransientError here; each client interprets status codes and bodies itself.
No retries inside the HTTP layer: retry decisions live in the order's state.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from django.conf import settings

from .errors import TransientError

logger = logging.getLogger(__name__)


def default_timeout() -> tuple[float, float]:
    return (settings.HTTP_CONNECT_TIMEOUT, settings.HTTP_READ_TIMEOUT)


class HttpTransport:
    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        headers: dict[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout or default_timeout()
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith(("http://", "https://")) else self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        started = time.monotonic()
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise TransientError(f"timeout after {kwargs['timeout']}s", service=self.service) from exc
        except requests.ConnectionError as exc:
            raise TransientError("could not connect", service=self.service) from exc
        except requests.RequestException as exc:
            raise TransientError(f"request failed: {type(exc).__name__}", service=self.service) from exc
        # Path only: query strings may carry tokens on legacy endpoints, headers carry keys.
        logger.debug(
            "%s %s %s -> %s in %.0f ms",
            self.service,
            method,
            requests.utils.urlparse(url).path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response
