"""``monitor login``: phone, code and two-step password, then a saved session.

The session is a Telethon SQLite file created 0600, or a StringSession printed for containers.
Prompts are plain callables, so the flow works in any terminal and in tests.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

from telethon import errors
from telethon.sessions import StringSession

from monitor.config import TelegramSettings
from monitor.errors import SessionError
from monitor.telegram.session import build_client, secure_session_file, session_path

Prompt = Callable[[], str]


@dataclass(frozen=True)
class LoginOutcome:
    """What a login produced: a message for the user and, with ``--string``, the session."""

    message: str
    session_string: str | None = None


async def interactive_login(
    settings: TelegramSettings,
    *,
    as_string: bool,
    phone: str | Prompt,
    code: Prompt,
    password: Prompt,
) -> LoginOutcome:
    """Log in and keep the session.

    Raises:
        SessionError: Telegram refused the phone number, the code or the password.
    """
    client = build_client(
        settings, session="" if as_string else None, create=True, receive_updates=False
    )
    try:
        # Telethon prints its greeting; keep stdout for the session string alone.
        with contextlib.redirect_stdout(sys.stderr):
            await client.start(phone=phone, code_callback=code, password=password, max_attempts=3)
        me = await client.get_me()
        who = f"@{me.username}" if me.username else f"user {me.id}"
        if as_string:
            saved = StringSession.save(client.session)
            return LoginOutcome(f"Logged in as {who}. Keep this session string secret:", saved)
        secure_session_file(settings)
        return LoginOutcome(f"Logged in as {who}; session saved to {session_path(settings)}")
    except errors.AuthKeyNotFound:
        raise SessionError(
            f"Telegram does not know the existing session at {session_path(settings)}; "
            "delete that file and log in again"
        ) from None
    except (errors.RPCError, RuntimeError, ValueError) as error:
        raise SessionError(f"login failed: {error}") from None
    finally:
        await client.disconnect()
        if not as_string:
            secure_session_file(settings)
