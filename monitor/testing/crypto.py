"""Server-side MTProto cryptography: the RSA key, the DH group and message encryption.

This module only computes; it knows nothing about sockets, sessions or TL dispatch. The
RSA key is generated once per process and cached, because generating a 2048-bit key costs
tens of milliseconds and a test suite starts many servers.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import struct
from dataclasses import dataclass
from typing import Any

import rsa
from telethon.crypto import AES, AuthKey

__all__ = ["AES", "DH_G", "DH_PRIME", "SAFETY_RANGE", "ServerKey", "server_key"]
from telethon.tl.tlobject import TLObject

# Telegram's published 2048-bit safe prime (https://core.telegram.org/mtproto/auth_key);
# Telethon's ``password.check_prime_and_good`` recognises it without factorising it.
DH_PRIME = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D2"
    "2530F4DBFA336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454"
    "F18FAF8C595F642477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A695811051"
    "907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D169C6B"
    "C465B0D6FF9CA3928FEF5B9AE4E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"
    "0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B",
    16,
)
DH_G = 3
SAFETY_RANGE = 2 ** (2048 - 64)


def int_bytes(number: int) -> bytes:
    """Big-endian bytes of ``number`` with no leading zero bytes (as Telethon encodes)."""
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


@dataclass(frozen=True)
class ServerKey:
    """The server's RSA key pair as MTProto uses it: raw integers plus the PEM to publish."""

    n: int
    e: int
    d: int
    public_pem: str

    @property
    def fingerprint(self) -> int:
        """The 64-bit fingerprint Telethon computes for the public key (signed)."""
        data = TLObject.serialize_bytes(int_bytes(self.n)) + TLObject.serialize_bytes(
            int_bytes(self.e)
        )
        value: int = struct.unpack("<q", hashlib.sha1(data).digest()[-8:])[0]  # noqa: S324
        return value

    def __repr__(self) -> str:
        return f"ServerKey(fingerprint={self.fingerprint})"

    def decrypt(self, cipher: bytes) -> bytes:
        """Raw RSA: the 256-byte big-endian plain block (no padding scheme)."""
        plain = pow(int.from_bytes(cipher, "big"), self.d, self.n)
        return plain.to_bytes(256, "big")


SMALL_PRIMES = tuple(
    n for n in range(3, 2000, 2) if all(n % d for d in range(3, int(n**0.5) + 1, 2))
)


def is_probable_prime(n: int, rounds: int = 8) -> bool:
    """Miller-Rabin with random bases; enough for a throwaway test key."""
    if any(n % p == 0 for p in SMALL_PRIMES):
        return n in SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(2 + int.from_bytes(os.urandom(8), "big") % (n - 4), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(bits: int) -> int:
    """A random prime of exactly ``bits`` bits with the two top bits set."""
    while True:
        candidate = int.from_bytes(os.urandom(bits // 8), "big") | (3 << (bits - 2)) | 1
        if is_probable_prime(candidate):
            return candidate


@functools.cache
def server_key() -> ServerKey:
    """Return this process's 2048-bit RSA key, generating it on first use.

    The ``rsa`` package (a Telethon dependency) takes seconds for this; a sieve plus
    Miller-Rabin on Python integers takes a fraction of a second.
    """
    e = 65537
    while True:
        p, q = random_prime(1024), random_prime(1024)
        phi = (p - 1) * (q - 1)
        if p != q and math.gcd(e, phi) == 1:
            break
    n = p * q
    pem = rsa.PublicKey(n, e).save_pkcs1().decode("ascii")
    return ServerKey(n, e, pow(e, -1, phi), pem)


def rsa_unwrap(key: ServerKey, cipher: bytes) -> bytes | None:
    """Recover the TL data the client RSA-encrypted, or ``None`` if it does not verify.

    Two encodings are accepted: Telethon 1.x's ``sha1(data) + data + random`` and the
    RSA_PAD scheme of the current MTProto documentation.
    """
    block = key.decrypt(cipher)
    legacy = block[1:]  # Telethon encrypts 255 bytes, so the leading byte is zero
    digest, data = legacy[:20], legacy[20:]
    if block[0] == 0 and _legacy_matches(digest, data):
        return data
    return _rsa_pad_unwrap(block)


def _legacy_matches(digest: bytes, data: bytes) -> bool:
    # the padding length is not transmitted, so try every data length
    return any(
        hashlib.sha1(data[:end]).digest() == digest  # noqa: S324
        for end in range(len(data), 0, -1)
    )


def _rsa_pad_unwrap(block: bytes) -> bytes | None:
    temp_key_xor, aes_encrypted = block[:32], block[32:]
    aes_hash = hashlib.sha256(aes_encrypted).digest()
    temp_key = bytes(a ^ b for a, b in zip(temp_key_xor, aes_hash, strict=True))
    data_with_hash = AES.decrypt_ige(aes_encrypted, temp_key, bytes(32))
    data_with_padding = data_with_hash[:192][::-1]
    if hashlib.sha256(temp_key + data_with_padding).digest() != data_with_hash[192:]:
        return None
    return bytes(data_with_padding)


def tmp_aes_key(server_nonce: int, new_nonce: int) -> tuple[bytes, bytes]:
    """The temporary AES key and IV of the handshake (same derivation as the client)."""
    sn = server_nonce.to_bytes(16, "little", signed=True)
    nn = new_nonce.to_bytes(32, "little", signed=True)
    hash1 = hashlib.sha1(nn + sn).digest()  # noqa: S324
    hash2 = hashlib.sha1(sn + nn).digest()  # noqa: S324
    hash3 = hashlib.sha1(nn + nn).digest()  # noqa: S324
    return hash1 + hash2[:12], hash2[12:20] + hash3 + nn[:4]


def dh_secret() -> tuple[int, int]:
    """A fresh DH exponent ``a`` and ``g_a``, with ``g_a`` in the range the client checks."""
    while True:
        a = int.from_bytes(os.urandom(256), "big")
        g_a = pow(DH_G, a, DH_PRIME)
        if SAFETY_RANGE <= g_a <= DH_PRIME - SAFETY_RANGE:
            return a, g_a


def new_auth_key(g_b: int, a: int) -> Any:
    """The ``telethon.crypto.AuthKey`` both sides derive; its bytes keep Telethon's length."""
    return AuthKey(int_bytes(pow(g_b, a, DH_PRIME)))


def _kdf(auth_key: bytes, msg_key: bytes, x: int) -> tuple[bytes, bytes]:
    sha_a = hashlib.sha256(msg_key + auth_key[x : x + 36]).digest()
    sha_b = hashlib.sha256(auth_key[x + 40 : x + 76] + msg_key).digest()
    return sha_a[:8] + sha_b[8:24] + sha_a[24:32], sha_b[:8] + sha_a[8:24] + sha_b[24:32]


def decrypt_from_client(auth_key: bytes, msg_key: bytes, cipher: bytes) -> bytes | None:
    """Decrypt a client message body; ``None`` when the msg_key check fails."""
    if len(cipher) % 16:
        return None
    aes_key, aes_iv = _kdf(auth_key, msg_key, 0)
    plain: bytes = AES.decrypt_ige(cipher, aes_key, aes_iv)
    expected = hashlib.sha256(auth_key[88 : 88 + 32] + plain).digest()[8:24]
    return plain if expected == msg_key else None


def encrypt_to_client(auth_key: bytes, key_id: int, plain: bytes) -> bytes:
    """Encrypt a server message (x = 8 in the KDF) with 12 to 27 bytes of padding."""
    padding = os.urandom(-(len(plain) + 12) % 16 + 12)
    msg_key = hashlib.sha256(auth_key[96 : 96 + 32] + plain + padding).digest()[8:24]
    aes_key, aes_iv = _kdf(auth_key, msg_key, 8)
    cipher: bytes = AES.encrypt_ige(plain + padding, aes_key, aes_iv)
    return struct.pack("<Q", key_id) + msg_key + cipher
