"""The Telegram session: building the Telethon client, owning the session, logging in.

One process owns a session at a time (a lock file beside it), because two clients on one
session make Telegram revoke its key. Session files are created 0600. The ``[telegram.server]``
override points the client at Telegram's test DCs or at the local test server. This package is
the only place that imports telethon (besides ``monitor.testing``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from telethon import TelegramClient, errors
from telethon.crypto import rsa
from telethon.sessions import StringSession

from monitor.config import TelegramSettings
from monitor.errors import ConfigError, SessionError, TelegramError
from monitor.process_lock import ProcessLock

LOGIN_HINT = "run `monitor login` first"


def session_path(settings: TelegramSettings) -> Path:
    """Return the session file path as Telethon will name it (always ``.session``)."""
    path = settings.session
    return path if path.suffix == ".session" else path.with_name(path.name + ".session")


def server_key_problem(settings: TelegramSettings) -> str | None:
    """Say why the configured server RSA key cannot be used, if it cannot.

    Checking registers the key with Telethon, as connecting would: harmless, and it tests
    the key with the very parser that will use it.
    """
    try:
        _register_server_key(settings)
    except ConfigError as error:
        return str(error)
    return None


def _register_server_key(settings: TelegramSettings) -> None:
    """Hand the ``[telegram.server]`` RSA key to Telethon.

    Raises:
        ConfigError: the file cannot be read or holds no PKCS#1 RSA public key.
    """
    server = settings.server
    if server is None or server.rsa_public_key is None:
        return
    path = server.rsa_public_key
    try:
        pem = path.read_bytes().decode("ascii", errors="replace")
    except OSError as error:
        raise ConfigError(
            f"telegram.server.rsa_public_key: cannot read {path}: {error.strerror}; fix the path"
        ) from None
    try:
        rsa.add_key(pem, old=False)
    except Exception:  # python-rsa and pyasn1 raise many kinds of error on garbage
        raise ConfigError(
            f"telegram.server.rsa_public_key: {path} holds no RSA public key; give the "
            "server's key in PEM form (-----BEGIN RSA PUBLIC KEY-----)"
        ) from None


def _create_private(path: Path) -> None:
    """Create the session file with mode 0600 before Telethon opens it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    path.chmod(0o600)


def build_client(
    settings: TelegramSettings,
    *,
    session: str | None = None,
    create: bool = False,
    receive_updates: bool = True,
) -> Any:
    """Create (not connect) the Telethon client for the monitoring account.

    Args:
        settings: the ``[telegram]`` section.
        session: a StringSession to use instead of the configured one ("" for a new one).
        create: allow creating a new session file (``monitor login``); otherwise a missing
            session is a ``SessionError`` telling the user to log in.
        receive_updates: subscribe to live updates.

    Raises:
        SessionError: no session exists and ``create`` is false.
        ConfigError: the API hash is missing.
    """
    missing = settings.missing_secret()
    if missing:
        raise ConfigError(f"telegram: {missing}")
    _register_server_key(settings)
    api_hash = settings.api_hash.get_secret_value() if settings.api_hash else ""
    telethon_session: Any
    if session is not None:
        telethon_session = StringSession(session)
    elif settings.session_string is not None:
        telethon_session = StringSession(settings.session_string.get_secret_value())
    else:
        path = session_path(settings)
        if not path.exists():
            if not create:
                raise SessionError(f"no Telegram session at {path}; {LOGIN_HINT}")
            _create_private(path)
        telethon_session = str(path)
    client = TelegramClient(
        telethon_session,
        settings.api_id,
        api_hash,
        flood_sleep_threshold=0,  # the governor handles every flood wait itself
        receive_updates=receive_updates,
        # Load the update state saved at the last stop and ask for what was missed as soon as
        # it connects: edits and deletions made while we were down (subscribe before that).
        catch_up=receive_updates,
        request_retries=2,
        connection_retries=3,
        retry_delay=1,
        auto_reconnect=True,
        base_logger="telethon",
    )
    server = settings.server
    if server is not None:
        client.session.set_dc(server.dc_id, server.host, server.port)
    return client


class SessionLock(ProcessLock):
    """An exclusive lock on a session, held for the life of the process that uses it."""

    def __init__(self, settings: TelegramSettings, state_dir: Path) -> None:
        if settings.session_string is not None:
            digest = hashlib.sha256(settings.session_string.get_secret_value().encode())
            path = state_dir / f".session-{digest.hexdigest()[:16]}.lock"
            self.label = "the configured session string"
        else:
            path = Path(f"{session_path(settings)}.lock")
            self.label = str(session_path(settings))
        super().__init__(path, self._busy)

    def _busy(self, holder: str) -> str:
        return (
            f"{self.label} is in use by another monitor process (pid {holder}); stop it "
            "first: two clients on one session get its key revoked by Telegram"
        )


async def ensure_authorized(client: Any, settings: TelegramSettings) -> None:
    """Connect and check the session is logged in.

    Raises:
        SessionError: the session is not authorised (never logged in, or revoked).
    """
    where = "the session string" if settings.session_string else str(session_path(settings))
    try:
        await client.connect()
    except errors.AuthKeyNotFound:
        raise SessionError(f"Telegram does not know {where}; {LOGIN_HINT}") from None
    except (ConnectionError, OSError) as error:
        raise TelegramError(f"cannot connect to Telegram: {error}") from None
    if not await client.is_user_authorized():
        await client.disconnect()
        raise SessionError(f"{where} is not logged in to Telegram; {LOGIN_HINT}")


def secure_session_file(settings: TelegramSettings) -> None:
    """Make sure the session file (and its journal) are readable by the owner only."""
    path = session_path(settings)
    for candidate in (path, Path(f"{path}-journal")):
        if candidate.exists():
            candidate.chmod(0o600)
