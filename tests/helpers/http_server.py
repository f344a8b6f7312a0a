"""A real HTTP server on 127.0.0.1 for sink tests: records requests, answers as scripted.

``RecordingServer`` runs ``http.server`` in a thread on a free port. Each request is
recorded (method, path, headers, body, arrival time) and answered with the next scripted
``Reply`` for its path (or for any path), else 200. ``wait_for`` blocks on a condition with
a deadline, so tests never sleep and hope.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    """A scripted answer: status, headers, body, and how long to stall before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    stall: float = 0.0


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.time() when the body had been read


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at shutdown
    timeout = 10

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        request = Request(self.command, self.path, dict(self.headers.items()), body, time.time())
        reply = self.server.owner.record(request)
        if reply.stall:
            self.server.owner.released.wait(reply.stall)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_PUT = do_POST

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, owner: RecordingServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)


class RecordingServer:
    """An HTTP server in a thread that records every request and answers as scripted."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.released = threading.Event()
        self._condition = threading.Condition()
        self._scripts: defaultdict[str | None, deque[Reply]] = defaultdict(deque)
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    def start(self) -> RecordingServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release stalled replies, stop serving, join the threads and close the socket."""
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def script(self, *replies: Reply, path: str | None = None) -> None:
        """Queue ``replies`` for requests to ``path`` (any path when None), in order."""
        with self._condition:
            self._scripts[path].extend(replies)

    def record(self, request: Request) -> Reply:
        """Record ``request`` and return the reply scripted for it (called by the handler)."""
        with self._condition:
            self.requests.append(request)
            self._condition.notify_all()
            for key in (request.path, None):
                if self._scripts[key]:
                    return self._scripts[key].popleft()
        return Reply()

    def wait_until(
        self, predicate: Callable[[list[Request]], bool], timeout: float = 10.0
    ) -> list[Request]:
        """Wait until ``predicate(requests)`` holds and return the requests.

        Raises:
            TimeoutError: it did not hold before the deadline.
        """
        with self._condition:
            if not self._condition.wait_for(lambda: predicate(self.requests), timeout):
                raise TimeoutError(f"condition not met in {timeout}s; got {len(self.requests)}")
            return list(self.requests)

    def paths(self) -> list[str]:
        """Return the path of every request so far, in order."""
        with self._condition:
            return [request.path for request in self.requests]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        """Wait until ``count`` requests have arrived and return them.

        Raises:
            TimeoutError: fewer arrived before the deadline.
        """
        with self._condition:
            if not self._condition.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(
                    f"{len(self.requests)} of {count} requests arrived in {timeout}s"
                )
            return list(self.requests)


@contextmanager
def serve() -> Iterator[RecordingServer]:
    """Run a ``RecordingServer`` for the duration of the block."""
    server = RecordingServer().start()
    try:
        yield server
    finally:
        server.stop()
