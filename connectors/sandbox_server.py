"""A tiny routable HTTP server for the sandboxes: real sockets on loopback, in-memory state, threads.

Each sandbox is a `SandboxApp` (routes + state); `SandboxServer` serves one on a port (0 = a free one).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""
    params: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # per-request notes of the sandbox (faults)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def has_arg(self, name: str) -> bool:
        return name in self.query

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    delay: float = 0.0  # seconds to wait before answering (slow-answer quirks)
    drop: bool = False  # close the connection without answering (crash/timeout quirks)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(status=status, body=body, headers=dict(headers))


def redirect(location: str) -> Response:
    return Response(status=302, body=b"", headers={"Location": location}, content_type="text/plain")


def html(body: str, status: int = 200) -> Response:
    return Response(status=status, body=body, content_type="text/html; charset=utf-8")


Handler = Callable[[Request], Response]


class SandboxApp:
    """Routes plus a lock around the in-memory state; subclasses add routes in `__init__`."""

    name = "sandbox"

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.lock = threading.RLock()
        self.base_url = ""

    def configure(self, body: dict[str, Any], names: tuple[str, ...]) -> Response:
        """Test control: set the named settings that the body carries, under the lock."""
        with self.lock:
            for name in names:
                if name in body:
                    setattr(self, name, body[name])
        return json_response({"ok": True})

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def not_found(self, request: Request) -> Response:
        return json_response({"error": "not found"}, 404)

    def before(self, request: Request) -> Response | None:
        """Hook for auth, rate limits and injected faults; return a Response to short-circuit."""
        return None

    def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if not match:
                continue
            allowed = True
            if method != request.method:
                continue
            request.params = match.groupdict()
            early = self.before(request)
            if early is not None:
                return early
            return handler(request)
        if allowed:
            return self.method_not_allowed(request)
        return self.not_found(request)

    def method_not_allowed(self, request: Request) -> Response:
        return json_response({"error": "method not allowed"}, 405)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw_query=parts.query,
        )
        try:
            response = self.server.app.dispatch(request)
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must show as a 500, not a hang
            response = json_response({"error": f"sandbox failure: {exc!r}"}, 500)
        if response.delay:
            time.sleep(response.delay)
        if response.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        payload = response.encoded()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the caller gave up waiting (its timeout), as real clients do

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class SandboxServer:
    """Serve a SandboxApp on loopback in a background thread."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.httpd = _Server((host, port), app)
        self.host, self.port = self.httpd.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        app.base_url = self.url
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=app.name, daemon=True
        )

    def start(self) -> SandboxServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        stop_hook = getattr(self.app, "stop", None)
        if stop_hook:
            stop_hook()
