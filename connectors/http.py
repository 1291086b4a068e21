"""One HTTP wrapper for all connectors: a session, a base URL, a (connect, read) timeout on every call.

Network failures become TransientError here; each client interprets status codes and bodies itself.
No retries inside the HTTP layer: retry decisions live in the order's state.
"""

from __future__ import annotations

import http.cookiejar
import logging
import threading
import time
from functools import cache
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from .call_log import ERROR_TEXT_MAX, Call, call_record
from .errors import TransientError

logger = logging.getLogger(__name__)


@cache
def _environ_proxies(base_url: str) -> dict[str, str]:
    return requests.utils.get_environ_proxies(base_url)


_sessions = threading.local()


def shared_session(base_url: str) -> requests.Session:
    """One keep-alive session per counterpart address and thread: a worker's next order reuses the open
    connection instead of making a new one. Shared by every licence, so it keeps no state of its own: the
    keys go with each request, cookies are refused, and the environment's proxies are read once."""
    by_url = _sessions.__dict__.setdefault("by_url", {})
    session = by_url.get(base_url)
    if session is None:
        session = requests.Session()
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        session.proxies.update(_environ_proxies(base_url))
        session.trust_env = False  # not re-read on every call (about 5 % of a worker's CPU per order)
        by_url[base_url] = session
    return session


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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout or default_timeout()
        self.headers = dict(headers or {})  # sent with each request: the session is shared
        self.session = shared_session(self.base_url)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith(("http://", "https://")) else self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        kwargs["headers"] = {**self.headers, **(kwargs.get("headers") or {})}
        # Path only: query strings may carry tokens on legacy endpoints, headers carry keys.
        shown_path = requests.utils.urlparse(url).path
        at, started = timezone.now(), time.monotonic()

        def record(status: int | None, error: str = "") -> None:
            elapsed = int((time.monotonic() - started) * 1000)
            call_record(Call(at, self.service, method, shown_path, status, elapsed, error[:ERROR_TEXT_MAX]))

        try:
            response = self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            record(None, f"timeout after {kwargs['timeout']}s")
            raise TransientError(f"timeout after {kwargs['timeout']}s", service=self.service) from exc
        except requests.ConnectionError as exc:
            record(None, "could not connect")
            raise TransientError("could not connect", service=self.service) from exc
        except requests.RequestException as exc:
            record(None, f"request failed: {type(exc).__name__}")
            raise TransientError(f"request failed: {type(exc).__name__}", service=self.service) from exc
        # A refusal keeps the counterpart's own words (error bodies carry no secrets; success bodies may).
        record(response.status_code, response.text if response.status_code >= 400 else "")
        logger.debug(
            "%s %s %s -> %s in %.0f ms",
            self.service,
            method,
            shown_path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response
