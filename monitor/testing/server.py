"""``TelegramTestServer``: a local Telegram that the unmodified Telethon 1.x client talks to.

This module is the public face: lifecycle (start, stop, restart with state kept), the test
API to create users and channels and to post as a channel, what clients sent, the request log
and fault injection. Protocol work lives in ``mtproto.py``, method semantics in the
``*_methods`` modules; deviations from Telegram are listed in ``DIFFERENCES.md``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from telethon.tl import types

# Importing the method modules registers their handlers in ``dispatch.HANDLERS``.
from monitor.testing import (  # noqa: F401  the handlers register themselves
    auth_methods,
    button_methods,
    history_methods,
    peer_methods,
    update_methods,
)
from monitor.testing.crypto import ServerKey, server_key
from monitor.testing.dispatch import HANDLERS, RequestContext, tl_name, unwrap
from monitor.testing.faults import Faults, ResolveBudget
from monitor.testing.mtproto import AuthRecord, MTProtoConnection, RpcFault
from monitor.testing.render import DC_ID, as_date, channel_tl, peers_of
from monitor.testing.state import ChannelEvent, ChannelRecord, ServerState, UserRecord, now
from monitor.testing.world import WorldApi


@dataclass(frozen=True)
class ServerSettings:
    """Where a client connects and which RSA key it must trust."""

    host: str
    port: int
    dc_id: int
    public_key_pem: str = field(repr=False)

    def write_public_key(self, path: str | os.PathLike[str]) -> Path:
        """Write the PEM public key (for the ``rsa_public_key`` config key)."""
        target = Path(path)
        target.write_text(self.public_key_pem, encoding="ascii")
        return target

    def config_toml(self, key_path: str | os.PathLike[str]) -> str:
        """The ``[telegram]`` and ``[telegram.server]`` config sections for this server."""
        return (
            '[telegram]\napi_id = 1\napi_hash = "test"\n\n[telegram.server]\n'
            f'host = "{self.host}"\nport = {self.port}\ndc_id = {self.dc_id}\n'
            f'rsa_public_key = "{Path(key_path).resolve()}"\n'
        )


class RequestRecord(NamedTuple):
    """One RPC a client made: TL method name, the account (if signed in), the request."""

    method: str
    user_id: int | None
    request: Any


class ServerCore:
    """The backend connections talk to: RPC dispatch, pushes and the request log."""

    def __init__(self, state: ServerState, resolve_budget: ResolveBudget) -> None:
        self.state = state
        self.rsa_key: ServerKey = server_key()
        self.faults = Faults(self.drop_all)
        self.resolve_budget = resolve_budget
        self.request_log: list[RequestRecord] = []
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self._connections: set[MTProtoConnection] = set()  # sessions that get pushes
        self._open: set[MTProtoConnection] = set()  # every TCP connection

    @property
    def auth_keys(self) -> dict[int, AuthRecord]:
        """Auth keys by key id; part of the state, so they survive a restart."""
        keys: dict[int, AuthRecord] = self.state.auth_keys
        return keys

    def attach(self, conn: MTProtoConnection) -> None:
        """Start pushing updates to ``conn``."""
        self._connections.add(conn)

    def detach(self, conn: MTProtoConnection) -> None:
        """Stop pushing updates to ``conn``."""
        self._connections.discard(conn)

    def drop_all(self) -> None:
        """Close every client connection."""
        for conn in list(self._open):
            conn.close()

    async def call(self, conn: MTProtoConnection, request: Any) -> Any:
        """Run one RPC: log it, apply latency and faults, dispatch it."""
        request = unwrap(conn.record, request)
        request_cls: Any = type(request)
        name = tl_name(request_cls)
        self.request_log.append(RequestRecord(name, conn.user_id, request))
        if self.faults.latency > 0:
            await asyncio.sleep(self.faults.latency)
        self.faults.check(name)
        method = HANDLERS.get(request.CONSTRUCTOR_ID)
        if method is None:
            raise RpcFault(400, "METHOD_NOT_IMPLEMENTED")
        ctx = RequestContext(self, conn)
        if method.needs_auth:
            _ = ctx.me  # AUTH_KEY_UNREGISTERED before any work
        return method.handler(ctx, request)

    def push_to_user(self, user_id: int, updates: Any, skip: Any = None) -> None:
        """Push ``updates`` to every connection signed in as ``user_id``."""
        for conn in list(self._connections):
            if conn is not skip and conn.user_id == user_id:
                conn.push(updates)

    def channel_updates(self, channel: ChannelRecord, event: ChannelEvent, viewer_id: int) -> Any:
        """The ``Updates`` envelope for one channel event as ``viewer_id`` sees it."""
        update, messages = update_methods.channel_update(self.state, channel, event, viewer_id)
        users, chats = peers_of(self.state, messages, viewer_id)
        if channel.id not in {c.id for c in chats}:
            chats.append(channel_tl(channel, viewer_id))
        return types.Updates(updates=[update], users=users, chats=chats, date=as_date(now()), seq=0)

    def publish(self, channel: ChannelRecord, event: ChannelEvent, skip: Any = None) -> None:
        """Push a channel event to connected members (unless the channel is withheld)."""
        if self.faults.is_withheld(channel.id):
            return
        for conn in list(self._connections):
            viewer = conn.user_id
            if conn is not skip and viewer is not None and viewer in channel.members:
                conn.push(self.channel_updates(channel, event, viewer))


class TelegramTestServer(ServerCore, WorldApi):
    """A local MTProto server with a test API; see the module docstring."""

    def __init__(
        self,
        state: ServerState | None = None,
        *,
        resolve_limit: int | None = None,
        resolve_flood_seconds: int = 30,
    ) -> None:
        super().__init__(
            state or ServerState(), ResolveBudget(resolve_limit, resolve_flood_seconds)
        )
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._settings: ServerSettings | None = None

    @classmethod
    def from_seed(cls, path: str | os.PathLike[str], **kwargs: Any) -> TelegramTestServer:
        """A server whose users, channels and posts come from a TOML or JSON seed file."""
        from monitor.testing.seed import load_seed

        server = cls(**kwargs)
        load_seed(server, Path(path))
        return server

    def press_button(
        self, chat: ChannelRecord, message_id: int, data: bytes, user: UserRecord
    ) -> int:
        """Press an inline button under a bot's message as ``user``; return the query id."""
        return button_methods.press(self, chat, message_id, data, user)

    def callback_answer(self, query_id: int) -> str | None:
        """The bot's answer to the press ``query_id`` (None until it answered)."""
        return self.state.callback_answers.get(query_id)

    @property
    def login_code(self) -> str:
        """The code every test phone number signs in with."""
        return self.state.login_code

    @property
    def settings(self) -> ServerSettings:
        """The running server's connection settings."""
        if self._settings is None:
            raise RuntimeError("the server is not started")
        return self._settings

    async def start(self, host: str = "127.0.0.1", port: int | None = None) -> ServerSettings:
        """Listen on ``host:port`` (0 picks a free port; default: the previous port, else 0)."""
        if port is None:
            port = self._settings.port if self._settings else 0
        self._server = await asyncio.start_server(self._on_client, host, port)
        bound_port = self._server.sockets[0].getsockname()[1]
        self.address = (host, bound_port)
        self._settings = ServerSettings(host, bound_port, DC_ID, self.rsa_key.public_pem)
        return self._settings

    async def stop(self) -> None:
        """Stop listening and close every connection; the state is kept for ``start``."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.drop_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> TelegramTestServer:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn = MTProtoConnection(self, reader, writer)
        self._open.add(conn)
        try:
            await conn.serve()
        finally:
            self._open.discard(conn)
            if task is not None:
                self._tasks.discard(task)
