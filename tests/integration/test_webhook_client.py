"""The webhook sink's HTTP client against real servers on 127.0.0.1: one kept-alive
connection for many alerts, and a timeout that bounds the whole request even when the
receiver drips its answer a byte at a time.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.alerts.format import RenderOptions, render_alert
from monitor.alerts.webhook import WebhookSink
from monitor.config import WebhookSinkSettings
from monitor.errors import AlertError
from tests.helpers.alerts import make_alert


class _KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # connections stay open between requests
    disable_nagle_algorithm = True
    timeout = 10
    server: _CountingServer

    def setup(self) -> None:
        with self.server.lock:
            self.server.connections += 1
        super().setup()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.connections = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _KeepAlive)


@pytest.fixture
def keep_alive_server() -> Iterator[_CountingServer]:
    server = _CountingServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def dripping_url() -> Iterator[str]:
    """A receiver that answers 200, one byte every 0.2 s (about 8 s for the whole reply)."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: " + b"y" * 10 + b"\r\n\r\nok"
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in reply:
                if stop.wait(0.2):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    thread.join(timeout=10)
    listener.close()


def make_sink(url: str, timeout: float = 10.0) -> WebhookSink:
    settings = WebhookSinkSettings(kind="webhook", name="hook", url=url, timeout=timeout)
    return WebhookSink(settings)


async def test_alerts_share_one_kept_alive_connection(keep_alive_server: _CountingServer) -> None:
    host, port = keep_alive_server.server_address[:2]
    sink = make_sink(f"http://{host!s}:{port}/hook")
    try:
        for alert_id in range(1, 21):
            alert = make_alert(alert_id=alert_id, sink=sink.name)
            await sink.send(alert, render_alert(alert, RenderOptions()))
    finally:
        await sink.aclose()
    assert keep_alive_server.connections == 1


async def test_timeout_bounds_the_whole_request(dripping_url: str) -> None:
    sink = make_sink(dripping_url, timeout=1.0)
    alert = make_alert(alert_id=1, sink=sink.name)
    started = time.monotonic()
    try:
        with pytest.raises(AlertError, match=r"timed out after 1 s") as raised:
            await asyncio.wait_for(sink.send(alert, render_alert(alert, RenderOptions())), 30)
    finally:
        await sink.aclose()
    assert time.monotonic() - started < 3.0
    assert not raised.value.permanent
