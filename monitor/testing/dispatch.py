"""The RPC method table and what every handler shares: the request context and input peers.

Handlers register themselves with ``@rpc(RequestClass)`` in the ``*_methods`` modules; the
table maps constructor ids to handlers, so dispatch is one dict lookup. Method names are the
TL names (``contacts.resolveUsername``), which fault injection and the request log use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telethon.tl import functions, types

from monitor.testing.mtproto import RpcFault
from monitor.testing.state import ChannelRecord, ServerState, UserRecord

if TYPE_CHECKING:
    from monitor.testing.mtproto import AuthRecord, MTProtoConnection
    from monitor.testing.server import ServerCore

Handler = Callable[["RequestContext", Any], Any]
WRAPPERS = (
    functions.InvokeWithLayerRequest,
    functions.InitConnectionRequest,
    functions.InvokeWithoutUpdatesRequest,
    functions.InvokeAfterMsgRequest,
    functions.InvokeAfterMsgsRequest,
)


@dataclass(frozen=True)
class Method:
    """One table entry: the handler and whether it needs a signed-in account."""

    handler: Handler
    needs_auth: bool


HANDLERS: dict[int, Method] = {}


def rpc(request_cls: Any, *, needs_auth: bool = True) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the implementation of ``request_cls``."""

    def decorate(handler: Handler) -> Handler:
        HANDLERS[request_cls.CONSTRUCTOR_ID] = Method(handler, needs_auth)
        return handler

    return decorate


@functools.cache
def tl_name(request_cls: Any) -> str:
    """``contacts.ResolveUsernameRequest`` -> ``contacts.resolveUsername``."""
    short = request_cls.__name__.removesuffix("Request")
    short = short[:1].lower() + short[1:]
    namespace = request_cls.__module__.removeprefix("telethon.tl.functions").lstrip(".")
    return f"{namespace}.{short}" if namespace else short


def method_key(method: str | type) -> str:
    """Normalise a fault target: a TL name, or a Telethon request class."""
    return method if isinstance(method, str) else tl_name(method)


def unwrap(record: AuthRecord | None, request: Any) -> Any:
    """Strip invokeWithLayer/initConnection/invokeAfterMsg, remembering the layer."""
    while isinstance(request, WRAPPERS):
        if isinstance(request, functions.InvokeWithLayerRequest) and record is not None:
            record.layer = request.layer
        request = request.query
    return request


@dataclass
class RequestContext:
    """What a handler may touch: the server, the connection and its account."""

    server: ServerCore
    conn: MTProtoConnection

    @property
    def state(self) -> ServerState:
        """The server's world."""
        return self.server.state

    @property
    def record(self) -> AuthRecord:
        """The auth key record of this connection."""
        record = self.conn.record
        if record is None:  # only encrypted messages reach handlers, so this cannot happen
            raise RpcFault(401, "AUTH_KEY_UNREGISTERED")
        return record

    @property
    def me(self) -> UserRecord:
        """The signed-in account; AUTH_KEY_UNREGISTERED when there is none."""
        user_id = self.conn.user_id
        if user_id is None or user_id not in self.state.users:
            raise RpcFault(401, "AUTH_KEY_UNREGISTERED")
        return self.state.users[user_id]

    def channel(self, peer: Any, *, readable: bool = True) -> ChannelRecord:
        """The channel an ``InputChannel``/``InputPeerChannel`` names, checking access."""
        channel = self.state.channels.get(getattr(peer, "channel_id", 0))
        viewer = self.conn.user_id
        if channel is None or channel.access_hash_for(viewer) != peer.access_hash:
            raise RpcFault(400, "CHANNEL_INVALID")
        if readable and channel.private and self.me.id not in channel.members:
            raise RpcFault(406, "CHANNEL_PRIVATE")
        return channel

    def user(self, peer: Any) -> UserRecord:
        """The user an ``InputUser``/``InputPeerUser``/self names."""
        if isinstance(peer, types.InputUserSelf | types.InputPeerSelf):
            return self.me
        user = self.state.users.get(getattr(peer, "user_id", 0))
        if user is None or user.access_hash != peer.access_hash:
            raise RpcFault(400, "USER_ID_INVALID")
        return user

    def peer(self, peer: Any) -> UserRecord | ChannelRecord:
        """Any input peer this server knows (users and channels; no basic groups)."""
        if isinstance(peer, types.InputPeerChannel | types.InputChannel):
            return self.channel(peer)
        if isinstance(peer, types.InputPeerUser | types.InputPeerSelf | types.InputUser):
            return self.user(peer)
        raise RpcFault(400, "PEER_ID_INVALID")
