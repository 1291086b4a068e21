"""The HTTP wrapper shares one keep-alive session per counterpart address between licences: it must carry
nothing from one licence's call into another's (keys go with each request, cookies are refused)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.http import HttpTransport


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: set[tuple[str, int]] = set()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Echo.connections.add(self.client_address)
        body = json.dumps({"key": self.headers.get("X-Key"), "cookie": self.headers.get("Cookie")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", f"session={self.headers.get('X-Key')}; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Echo.connections.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_two_licences_share_the_connection_but_never_a_key_or_a_cookie(echo_url):
    first = HttpTransport(echo_url, service="Echo", headers={"X-Key": "licence-a"})
    second = HttpTransport(echo_url, service="Echo", headers={"X-Key": "licence-b"})
    assert first.send("GET", "/one").json() == {"key": "licence-a", "cookie": None}
    assert second.send("GET", "/two").json() == {"key": "licence-b", "cookie": None}
    assert first.send("GET", "/three").json() == {"key": "licence-a", "cookie": None}
    assert len(_Echo.connections) == 1  # one kept-alive connection served all three calls
