"""The unencrypted auth key exchange: req_pq_multi, req_DH_params, set_client_DH_params.

One ``Handshake`` lives per TCP connection and answers the plain (auth_key_id = 0) messages
of https://core.telegram.org/mtproto/auth_key. It produces an auth key and nothing else:
storing the key and serving encrypted traffic is the session's concern.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

from telethon.extensions import BinaryReader
from telethon.tl import functions, types

from monitor.testing import crypto

# pq is the product of two fixed 31-bit primes: Telethon factorises it in microseconds.
PQ_P = 1_229_739_323
PQ_Q = 1_402_015_859


class HandshakeError(Exception):
    """The client broke the key exchange; the connection must close."""


class Handshake:
    """The server side of one key exchange."""

    def __init__(self, key: crypto.ServerKey) -> None:
        self._key = key
        self._nonce = 0
        self._server_nonce = int.from_bytes(os.urandom(16), "little", signed=True)
        self._new_nonce = 0
        self._a = 0
        self.auth_key: Any = None

    def answer(self, request: Any) -> Any:
        """Return the reply to one plain request."""
        if isinstance(request, functions.ReqPqMultiRequest | functions.ReqPqRequest):
            return self._res_pq(request)
        if isinstance(request, functions.ReqDHParamsRequest):
            return self._server_dh_params(request)
        if isinstance(request, functions.SetClientDHParamsRequest):
            return self._dh_gen(request)
        raise HandshakeError(f"unexpected plain message {type(request).__name__}")

    def _check_nonces(self, request: Any) -> None:
        if request.nonce != self._nonce or request.server_nonce != self._server_nonce:
            raise HandshakeError("nonce mismatch")

    def _res_pq(self, request: Any) -> Any:
        self._nonce = request.nonce
        return types.ResPQ(
            nonce=request.nonce,
            server_nonce=self._server_nonce,
            pq=crypto.int_bytes(PQ_P * PQ_Q),
            server_public_key_fingerprints=[self._key.fingerprint],
        )

    def _server_dh_params(self, request: Any) -> Any:
        self._check_nonces(request)
        if request.public_key_fingerprint != self._key.fingerprint:
            raise HandshakeError("unknown RSA fingerprint")
        data = crypto.rsa_unwrap(self._key, request.encrypted_data)
        if data is None:
            raise HandshakeError("RSA payload does not verify")
        with BinaryReader(data) as reader:
            inner = reader.tgread_object()
        if inner.nonce != self._nonce or inner.server_nonce != self._server_nonce:
            raise HandshakeError("inner nonce mismatch")
        if int.from_bytes(inner.pq, "big") != PQ_P * PQ_Q:
            raise HandshakeError("pq mismatch")
        self._new_nonce = inner.new_nonce
        self._a, g_a = crypto.dh_secret()
        answer = bytes(
            types.ServerDHInnerData(
                nonce=self._nonce,
                server_nonce=self._server_nonce,
                g=crypto.DH_G,
                dh_prime=crypto.int_bytes(crypto.DH_PRIME),
                g_a=crypto.int_bytes(g_a),
                server_time=int(time.time()),
            )
        )
        with_hash = hashlib.sha1(answer).digest() + answer  # noqa: S324
        with_hash += os.urandom(-len(with_hash) % 16)
        key, iv = crypto.tmp_aes_key(self._server_nonce, self._new_nonce)
        return types.ServerDHParamsOk(
            nonce=self._nonce,
            server_nonce=self._server_nonce,
            encrypted_answer=crypto.AES.encrypt_ige(with_hash, key, iv),
        )

    def _dh_gen(self, request: Any) -> Any:
        self._check_nonces(request)
        key, iv = crypto.tmp_aes_key(self._server_nonce, self._new_nonce)
        plain = crypto.AES.decrypt_ige(request.encrypted_data, key, iv)
        with BinaryReader(plain[20:]) as reader:
            inner = reader.tgread_object()
            length = reader.tell_position()
        if hashlib.sha1(plain[20 : 20 + length]).digest() != plain[:20]:  # noqa: S324
            raise HandshakeError("client DH inner data hash mismatch")
        g_b = int.from_bytes(inner.g_b, "big")
        if not crypto.SAFETY_RANGE <= g_b <= crypto.DH_PRIME - crypto.SAFETY_RANGE:
            raise HandshakeError("g_b out of range")
        self.auth_key = crypto.new_auth_key(g_b, self._a)
        return types.DhGenOk(
            nonce=self._nonce,
            server_nonce=self._server_nonce,
            new_nonce_hash1=self.auth_key.calc_new_nonce_hash(self._new_nonce, 1),
        )
