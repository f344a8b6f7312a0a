"""The encrypted MTProto 2.0 session layer of one TCP connection.

It frames packets through a ``transport``, runs the key exchange for plain messages, then
decrypts client messages, enforces salts and msg_id/seq_no rules, opens containers and
gzip_packed, answers pings and acks, and wraps RPC answers in ``rpc_result``. What an RPC
*means* is the backend's concern (``dispatch.py``); this module never inspects a method.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from telethon.errors import TypeNotFoundError
from telethon.extensions import BinaryReader
from telethon.tl import functions, types
from telethon.tl.core import GzipPacked, MessageContainer
from telethon.tl.tlobject import TLObject, TLRequest

from monitor.testing import crypto
from monitor.testing.handshake import Handshake, HandshakeError
from monitor.testing.transport import Transport, TransportError, detect_transport

log = structlog.get_logger(__name__)
RPC_RESULT = 0xF35C6D01
VECTOR, BOOL_TRUE, BOOL_FALSE = 0x1CB5C415, 0x997275B5, 0xBC799737
GZIP_THRESHOLD = 1024
MSG_TOO_OLD = 300
MSG_TOO_NEW = 30
# Errors of https://core.telegram.org/mtproto/service_messages_about_messages
BAD_MSG_TOO_OLD, BAD_MSG_TOO_NEW, BAD_MSG_ID_PARITY = 16, 17, 18
BAD_SEQ_EVEN_EXPECTED, BAD_SEQ_ODD_EXPECTED, BAD_SALT = 34, 35, 48
NOT_CONTENT_RELATED = (types.MsgsAck, MessageContainer)


class RpcFault(Exception):
    """An RPC answered with ``rpc_error``: Telethon turns it into the matching exception."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


class DropConnection(Exception):
    """Fault injection asked to close the connection without answering."""


@dataclass(eq=False)
class AuthRecord:
    """What the server remembers about one auth key: its salt and who signed in with it."""

    key: Any = field(repr=False)
    salt: int = field(repr=False)
    user_id: int | None = None
    layer: int = 0
    pending: dict[str, Any] = field(default_factory=dict, repr=False)


class Backend(Protocol):
    """What a connection needs from the server."""

    rsa_key: crypto.ServerKey

    @property
    def auth_keys(self) -> dict[int, AuthRecord]:
        """Auth keys by key id."""

    def attach(self, conn: MTProtoConnection) -> None:
        """Start pushing updates to ``conn``."""

    def detach(self, conn: MTProtoConnection) -> None:
        """Stop pushing updates to ``conn``."""

    async def call(self, conn: MTProtoConnection, request: Any) -> Any:
        """Answer one RPC; raise ``RpcFault`` or ``DropConnection``."""


def serialize_result(result: Any) -> bytes:
    """TL bytes of an RPC answer: an object, a ``Vector`` of objects, or a ``Bool``."""
    if result is True or result is False:
        return struct.pack("<I", BOOL_TRUE if result else BOOL_FALSE)
    if isinstance(result, list):
        items = b"".join(bytes(item) for item in result)
        return struct.pack("<Ii", VECTOR, len(result)) + items
    return bytes(result)


def gzip_if_large(data: bytes) -> bytes:
    """Wrap a large answer in ``gzip_packed`` the way Telegram does (fast compression)."""
    if len(data) <= GZIP_THRESHOLD:
        return data
    packed = struct.pack("<I", GzipPacked.CONSTRUCTOR_ID) + TLObject.serialize_bytes(
        gzip.compress(data, compresslevel=1)
    )
    return packed if len(packed) < len(data) else data


class MTProtoConnection:
    """Serves one client connection until it closes or the server drops it."""

    def __init__(
        self, backend: Backend, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._backend = backend
        self._reader = reader
        self._writer = writer
        self._transport: Transport | None = None
        self._handshake = Handshake(backend.rsa_key)
        self.record: AuthRecord | None = None
        self._key_id = 0
        self._session_id: int | None = None
        self._announced = False
        self._seen: set[int] = set()
        self._last_msg_id = 0
        self._seq = 0
        self._outbox: list[tuple[int, int, bytes]] = []
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    @property
    def user_id(self) -> int | None:
        """The signed-in user of this connection's auth key, if any."""
        return self.record.user_id if self.record else None

    async def serve(self) -> None:
        """Run until the peer disconnects or ``close`` is called."""
        writer_task = asyncio.create_task(self._write_loop())
        try:
            self._transport = await detect_transport(self._reader)
            while not self.closed:
                await self._on_packet(await self._transport.read_packet())
        except (asyncio.IncompleteReadError, ConnectionError, TransportError, HandshakeError):
            pass
        finally:
            self.close()
            writer_task.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(writer_task, *self._tasks, return_exceptions=True)
            self._backend.detach(self)
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()

    def close(self) -> None:
        """Drop the connection now (the client sees a reset and reconnects)."""
        if not self.closed:
            self.closed = True
            self._writer.transport.abort()

    async def _on_packet(self, packet: bytes) -> None:
        if len(packet) < 8:
            raise TransportError("short packet")
        key_id = struct.unpack("<Q", packet[:8])[0]
        if key_id == 0:
            await self._on_plain(packet)
            return
        record = self._backend.auth_keys.get(key_id)
        if record is None:
            await self._send_raw(struct.pack("<i", -404))
            self.close()
            return
        self.record, self._key_id = record, key_id
        plain = crypto.decrypt_from_client(record.key.key, packet[8:24], packet[24:])
        if plain is None:
            raise TransportError("msg_key check failed")
        self._on_message_plain(record, plain)

    async def _on_plain(self, packet: bytes) -> None:
        with BinaryReader(packet[20:]) as reader:
            request = reader.tgread_object()
        answer = bytes(self._handshake.answer(request))
        body = struct.pack("<qqi", 0, self._new_msg_id(True), len(answer)) + answer
        await self._send_raw(body)
        key = self._handshake.auth_key
        if key is not None:
            salt = struct.unpack("<q", os.urandom(8))[0]
            self._backend.auth_keys[key.key_id] = AuthRecord(key=key, salt=salt)
            self._handshake = Handshake(self._backend.rsa_key)

    def _on_message_plain(self, record: AuthRecord, plain: bytes) -> None:
        salt, session_id, msg_id, seq_no, length = struct.unpack("<qqqii", plain[:32])
        if length < 0 or length > len(plain) - 32:
            raise TransportError("bad inner length")
        if session_id != self._session_id:
            self._session_id, self._announced = session_id, False
            self._seen.clear()
        if salt != record.salt:
            self._queue_obj(types.BadServerSalt(msg_id, seq_no, BAD_SALT, record.salt))
            return
        if not self._announced:
            self._announced = True
            unique_id = struct.unpack("<q", os.urandom(8))[0]
            self._queue_obj(types.NewSessionCreated(msg_id, unique_id, record.salt))
            self._backend.attach(self)
        try:
            with BinaryReader(plain[32 : 32 + length]) as reader:
                obj = reader.tgread_object()
        except TypeNotFoundError as error:
            self._queue_error(
                msg_id, 400, f"INPUT_CONSTRUCTOR_INVALID_{error.invalid_constructor_id:X}"
            )
            return
        self._on_message(msg_id, seq_no, obj)

    def _bad_msg_code(self, msg_id: int, seq_no: int, obj: Any) -> int | None:
        if msg_id % 4:
            return BAD_MSG_ID_PARITY
        age = time.time() - (msg_id >> 32)
        if age > MSG_TOO_OLD:
            return BAD_MSG_TOO_OLD
        if -age > MSG_TOO_NEW:
            return BAD_MSG_TOO_NEW
        content_related = not isinstance(obj, NOT_CONTENT_RELATED)
        if content_related and seq_no % 2 == 0:
            return BAD_SEQ_ODD_EXPECTED
        if not content_related and seq_no % 2:
            return BAD_SEQ_EVEN_EXPECTED
        return None

    def _on_message(self, msg_id: int, seq_no: int, obj: Any) -> None:
        if isinstance(obj, GzipPacked):
            with BinaryReader(obj.data) as reader:
                obj = reader.tgread_object()
        if msg_id in self._seen:
            return  # a resend of something already handled
        code = self._bad_msg_code(msg_id, seq_no, obj)
        if code is not None:
            self._queue_obj(types.BadMsgNotification(msg_id, seq_no, code))
            return
        self._seen.add(msg_id)
        if isinstance(obj, MessageContainer):
            for inner in obj.messages:
                self._on_message(inner.msg_id, inner.seq_no, inner.obj)
        elif isinstance(obj, functions.PingRequest | functions.PingDelayDisconnectRequest):
            self._queue_obj(types.Pong(msg_id, obj.ping_id), response=True)
        elif isinstance(obj, TLRequest):
            self._spawn(self._run_rpc(msg_id, obj))
        # msgs_ack and other service messages from the client need no answer

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_rpc(self, msg_id: int, request: Any) -> None:
        try:
            result = serialize_result(await self._backend.call(self, request))
        except RpcFault as fault:
            self._queue_error(msg_id, fault.code, fault.message)
        except DropConnection:
            self.close()
        except Exception:  # a server bug must answer, never hang the client
            log.exception("rpc_failed", request=type(request).__name__)
            self._queue_error(msg_id, 500, "TEST_SERVER_INTERNAL_ERROR")
        else:
            body = struct.pack("<Iq", RPC_RESULT, msg_id) + gzip_if_large(result)
            self._queue(body, content_related=True, response=True)

    def _queue_error(self, msg_id: int, code: int, message: str) -> None:
        error = bytes(types.RpcError(code, message))
        self._queue(struct.pack("<Iq", RPC_RESULT, msg_id) + error, True, response=True)

    def _queue_obj(self, obj: Any, response: bool = False) -> None:
        self._queue(bytes(obj), content_related=True, response=response)

    def push(self, updates: Any) -> None:
        """Send an ``Updates`` object that answers nothing (msg_id ≡ 3 mod 4)."""
        if not self.closed:
            self._queue(bytes(updates), content_related=True, response=False)

    def _queue(self, body: bytes, content_related: bool, response: bool) -> None:
        msg_id = self._new_msg_id(response)
        seq_no = self._seq * 2 + 1 if content_related else self._seq * 2
        self._seq += int(content_related)
        self._outbox.append((msg_id, seq_no, body))
        self._wake.set()

    def _new_msg_id(self, response: bool) -> int:
        now = time.time()
        msg_id = (int(now) << 32) | (int((now % 1) * 2**30) << 2)
        msg_id = max(msg_id, self._last_msg_id + 4) & ~3
        self._last_msg_id = msg_id
        return msg_id | (1 if response else 3)

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._outbox = self._outbox, []
            if batch and not self.closed:
                await self._send_encrypted(batch)

    async def _send_encrypted(self, batch: list[tuple[int, int, bytes]]) -> None:
        if len(batch) == 1:
            msg_id, seq_no, body = batch[0]
        else:
            body = struct.pack("<Ii", MessageContainer.CONSTRUCTOR_ID, len(batch)) + b"".join(
                struct.pack("<qii", m, s, len(b)) + b for m, s, b in batch
            )
            msg_id, seq_no = self._new_msg_id(False), self._seq * 2
        record, session_id = self.record, self._session_id
        if record is None or session_id is None:
            return  # nothing can be sent before the client's first encrypted message
        plain = struct.pack("<qqqii", record.salt, session_id, msg_id, seq_no, len(body))
        cipher = crypto.encrypt_to_client(record.key.key, self._key_id, plain + body)
        await self._send_raw(cipher)

    async def _send_raw(self, payload: bytes) -> None:
        if self._transport is None or self.closed:
            return
        self._writer.write(self._transport.encode(payload))
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()
