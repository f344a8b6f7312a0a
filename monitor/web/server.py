"""Serving the desk: uvicorn on a socket we bind, stopped by an event, inside any event loop.

``monitor web`` runs it alone; ``monitor run`` runs it beside the daemon when ``[web] listen``
is set, and ``monitor demo`` beside the demo. uvicorn's own signal handling and access log
are off: the caller owns the signals, and an access log could carry a token in a URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import uvicorn

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.logs import get_logger
from monitor.web.security import DEFAULT_LISTEN, check_exposure, parse_listen

log = get_logger("monitor.web")


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signals to its owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install nothing: whoever runs the server stops it through ``should_exit``."""
        yield


def desk_token(config: Config) -> str | None:
    """The access token (``MONITOR_WEB_TOKEN`` or ``[web] token_file``), if any."""
    token = config.web.token
    return token.get_secret_value() if token is not None else None


def bind(listen: str) -> socket.socket:
    """Bind the desk's listening socket.

    Raises:
        ConfigError: the address is taken or cannot be bound.
    """
    host, port = parse_listen(listen)
    try:
        return socket.create_server((host, port), family=_family(host), reuse_port=False)
    except OSError as error:
        raise ConfigError(
            f"web.listen {listen}: cannot listen ({error.strerror}); choose another port"
        ) from None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


@dataclass
class DeskServer:
    """The desk on one address, for one config's database."""

    config: Config
    listen: str = DEFAULT_LISTEN
    port: int | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def check(self) -> None:
        """Refuse a listen address beyond loopback without a token (before binding).

        Raises:
            ConfigError: one line naming the config and the fix.
        """
        host, _ = parse_listen(self.listen)
        check_exposure(host, desk_token(self.config), str(self.config.source or "config"))

    @property
    def address(self) -> str:
        """The desk's URL (with the bound port once serving)."""
        host, port = parse_listen(self.listen)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port or port}/"

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set.

        Raises:
            ConfigError: the address is beyond loopback without a token, or cannot be bound.
        """
        from monitor.storage.engine import create_engine
        from monitor.web.app import build_app, channel_tags, cluster_scope

        self.check()
        sock = bind(self.listen)
        self.port = sock.getsockname()[1]
        engine = create_engine(self.config.database.url)
        secret = self.config.feedback.secret
        app = build_app(
            engine,
            desk_token(self.config),
            channel_tags(self.config),
            secret.get_secret_value() if secret is not None else None,
            cluster_scope(self.config),
        )
        server = EmbeddedServer(
            uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        )
        try:
            await self._run(server, sock, stop)
        finally:
            sock.close()
            await engine.dispose()

    async def _run(self, server: EmbeddedServer, sock: socket.socket, stop: asyncio.Event) -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        log.info("desk_listening", address=self.address)
        self.ready.set()
        waiter = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            server.should_exit = True
            waiter.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def check_database(url: str) -> None:
    """Refuse a database the desk cannot read: missing, or behind the code.

    Raises:
        StorageError: no schema yet, or an older one; the message gives the command to run.
    """
    from monitor.errors import StorageError
    from monitor.storage import migrate

    current = await asyncio.to_thread(migrate.current_revision, url)
    head = migrate.head_revision()
    if current != head:
        state = (
            "has no schema yet" if current is None else f"is at {current}, the code needs {head}"
        )
        raise StorageError(f"the database {state}; run `monitor db upgrade` (or `monitor run`)")
