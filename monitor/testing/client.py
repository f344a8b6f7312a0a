"""Point an unmodified Telethon client at the test server, and sign it in.

This is all the client side needs: trust the server's RSA key (``telethon.crypto.rsa.add_key``)
and put the server's address in the session (``session.set_dc``) before ``connect()``. The
project's Telegram adapter does the same from the ``[telegram.server]`` config section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telethon import TelegramClient, errors
from telethon.crypto import rsa
from telethon.sessions import MemorySession

if TYPE_CHECKING:
    from monitor.testing.server import ServerSettings, TelegramTestServer

TEST_API_ID = 1
TEST_API_HASH = "test"


def trust_server_key(public_key_pem: str) -> None:
    """Register the test server's RSA public key with Telethon (process-wide)."""
    rsa.add_key(public_key_pem, old=False)


def make_test_client(settings: ServerSettings, session: Any = None, **kwargs: Any) -> Any:
    """A ``TelegramClient`` aimed at the test server, not yet connected.

    Args:
        settings: what ``TelegramTestServer.start`` returned.
        session: a Telethon session or session name; a fresh ``MemorySession`` by default.
        **kwargs: passed to ``TelegramClient`` (e.g. ``flood_sleep_threshold=0``).
    """
    trust_server_key(settings.public_key_pem)
    kwargs.setdefault("api_id", TEST_API_ID)
    kwargs.setdefault("api_hash", TEST_API_HASH)
    client = TelegramClient(session if session is not None else MemorySession(), **kwargs)
    client.session.set_dc(settings.dc_id, settings.host, settings.port)
    return client


async def connect_test_client(settings: ServerSettings, session: Any = None, **kwargs: Any) -> Any:
    """``make_test_client`` and ``connect()``; the caller must ``disconnect()`` it."""
    client = make_test_client(settings, session, **kwargs)
    await client.connect()
    return client


async def sign_in_test_user(
    client: Any, server: TelegramTestServer, phone: str, password: str | None = None
) -> Any:
    """Sign in with the server's fixed code (and the 2FA ``password`` if the account has one).

    Raises:
        telethon.errors.SessionPasswordNeededError: the account has 2FA and no password was given.
    """
    await client.send_code_request(phone)
    try:
        return await client.sign_in(phone, server.login_code)
    except errors.SessionPasswordNeededError:
        if password is None:
            raise
        return await client.sign_in(password=password)


async def sign_in_test_bot(client: Any, token: str) -> Any:
    """Sign in as a bot with its token."""
    return await client.sign_in(bot_token=token)
