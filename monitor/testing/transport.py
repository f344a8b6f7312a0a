"""MTProto TCP transports on the server side: full (Telethon's default), intermediate, abridged.

A transport only frames packets; it knows nothing about encryption or TL. The client picks
the transport with its first bytes: ``0xef`` for abridged, ``0xeeeeeeee`` for intermediate,
anything else is the length field of a full packet.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Protocol
from zlib import crc32

ABRIDGED_TAG = b"\xef"
INTERMEDIATE_TAG = b"\xee\xee\xee\xee"
MAX_PACKET = 4 * 1024 * 1024


class TransportError(Exception):
    """The peer sent bytes that are not a valid packet; the connection must close."""


class Transport(Protocol):
    """Reads and writes whole packets on one connection."""

    name: str

    async def read_packet(self) -> bytes:
        """Return the next packet's payload."""
        ...

    def encode(self, payload: bytes) -> bytes:
        """Return ``payload`` framed for the wire."""
        ...


class FullTransport:
    """``len:int seq:int payload crc32:int`` framing with sequence numbers in both directions."""

    name = "full"

    def __init__(self, reader: asyncio.StreamReader, first: bytes) -> None:
        self._reader = reader
        self._pending = first
        self._recv_seq = 0
        self._send_seq = 0

    async def read_packet(self) -> bytes:
        """Read one packet, checking its length, sequence number and checksum."""
        head = self._pending + await self._reader.readexactly(8 - len(self._pending))
        self._pending = b""
        length, seq = struct.unpack("<ii", head)
        if length < 12 or length > MAX_PACKET:
            raise TransportError(f"bad packet length {length}")
        rest = await self._reader.readexactly(length - 8)
        body, checksum = rest[:-4], struct.unpack("<I", rest[-4:])[0]
        if crc32(head + body) != checksum:
            raise TransportError("bad crc32")
        if seq != self._recv_seq:
            raise TransportError(f"bad transport seq {seq}, expected {self._recv_seq}")
        self._recv_seq += 1
        return body

    def encode(self, payload: bytes) -> bytes:
        """Frame ``payload`` with length, sequence number and crc32."""
        data = struct.pack("<ii", len(payload) + 12, self._send_seq) + payload
        self._send_seq += 1
        return data + struct.pack("<I", crc32(data))


class IntermediateTransport:
    """``len:int payload`` framing."""

    name = "intermediate"

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def read_packet(self) -> bytes:
        """Read one length-prefixed packet."""
        (length,) = struct.unpack("<i", await self._reader.readexactly(4))
        if length <= 0 or length > MAX_PACKET:
            raise TransportError(f"bad packet length {length}")
        return await self._reader.readexactly(length)

    def encode(self, payload: bytes) -> bytes:
        """Prefix ``payload`` with its length."""
        return struct.pack("<i", len(payload)) + payload


class AbridgedTransport:
    """One length byte in 4-byte words, or ``0x7f`` and three bytes."""

    name = "abridged"

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def read_packet(self) -> bytes:
        """Read one packet with an abridged length prefix."""
        (words,) = await self._reader.readexactly(1)
        if words >= 0x7F:
            words = int.from_bytes(await self._reader.readexactly(3), "little")
        if words * 4 > MAX_PACKET:
            raise TransportError(f"bad packet length {words * 4}")
        return await self._reader.readexactly(words * 4)

    def encode(self, payload: bytes) -> bytes:
        """Prefix ``payload`` with its abridged length."""
        words = len(payload) // 4
        if words < 0x7F:
            return bytes([words]) + payload
        return b"\x7f" + words.to_bytes(3, "little") + payload


async def detect_transport(reader: asyncio.StreamReader) -> Transport:
    """Read the client's first bytes and return the transport it chose."""
    first = await reader.readexactly(1)
    if first == ABRIDGED_TAG:
        return AbridgedTransport(reader)
    rest = await reader.readexactly(3)
    if first + rest == INTERMEDIATE_TAG:
        return IntermediateTransport(reader)
    return FullTransport(reader, first + rest)
