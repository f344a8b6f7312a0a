"""The ``telegram`` sink: alerts into a chat, as a bot (preferred) or as the monitoring account.

As a bot (``bot_token``), the sink logs in over MTProto with Telethon, so the monitoring
account stays read-only. The bot's session lives in memory, one per process: the token signs
it in again at each start, and ``monitor test-alert`` beside a running daemon shares no file
with it (a shared Telethon session file gave "database is locked"). With
``as_account = true`` it writes as the monitoring account; the daemon may hand it its own
client (``use_client``) so one session is never opened twice.

``chat`` is a numeric id, an ``@username`` or a ``t.me`` link, or, for the account only, an
invite link (``t.me/+hash``), which it joins once. Messages are the Telegram HTML parts
``monitor.alerts.format`` rendered (each within 4096 characters), sent in order with link
previews off; the reference kept for the alert is ``<chat>:<id>,<id>``. An update edits those
messages when it has as many parts, else it answers the first with the new version. When a
part fails after others went out, the sink remembers what was sent, in memory, and the retry
sends only the rest.

Errors: FloodWait and slow mode become ``AlertError(retry_after=...)``; 5xx, flood and network
errors are retryable; 400/401/403 answers (chat gone, bot not a member, bad token) are
permanent. This module must not sleep out a flood wait (the dispatcher paces), and never
shows the bot token in a repr, a log line or an error.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

from telethon import TelegramClient, errors, functions, types

from monitor.alerts.format import Message
from monitor.alerts.sink import SendResult
from monitor.config import Config, TelegramSettings, TelegramSinkSettings
from monitor.errors import AlertError, ConfigError
from monitor.models import Alert

_INVITE = re.compile(r"(?:https?://)?(?:t\.me|telegram\.me)/(?:\+|joinchat/)([\w-]+)/?$")


def invite_hash(chat: str | int) -> str | None:
    """Return the hash of an invite link, or None when ``chat`` is not one."""
    match = _INVITE.match(str(chat).strip())
    return match.group(1) if match else None


def chat_reference(chat: str | int) -> str | int:
    """Return what Telethon resolves for ``chat``: an int id, or a username or link."""
    text = str(chat).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


# One message or edit that Telegram has not answered after this long is retried later.
SEND_TIMEOUT = 30.0


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn Telethon's errors during ``action`` into ``AlertError``s the dispatcher judges."""
    try:
        yield
    except (errors.FloodWaitError, errors.SlowModeWaitError) as error:
        raise AlertError(
            f"{action}: {type(error).__name__}", retry_after=float(error.seconds)
        ) from None
    except (errors.BadRequestError, errors.ForbiddenError, errors.UnauthorizedError) as error:
        detail = f"{action}: {type(error).__name__} ({error.code} {error.message})"
        raise AlertError(detail, permanent=True) from None
    except errors.RPCError as error:
        raise AlertError(
            f"{action}: {type(error).__name__} ({error.code} {error.message})"
        ) from None
    except ValueError as error:  # Telethon cannot resolve the chat
        raise AlertError(f"{action}: {error}", permanent=True) from None
    except (OSError, ConnectionError, TimeoutError) as error:
        raise AlertError(f"{action}: {type(error).__name__}: {error}") from None


def parse_ref(ref: str | None) -> list[int]:
    """Return the message ids of a reference this sink returned (``chat:1,2``)."""
    if not ref or ":" not in ref:
        return []
    ids = ref.rsplit(":", 1)[1]
    return [int(part) for part in ids.split(",") if part.isdigit()]


class TelegramBotSink:
    """Send alerts to one Telegram chat over MTProto."""

    kind: ClassVar[str] = "telegram"

    def __init__(
        self,
        settings: TelegramSinkSettings,
        telegram: TelegramSettings,
        *,
        client: Any = None,
    ) -> None:
        self.settings = settings
        self.telegram = telegram
        self._client: Any = client
        self._owns_client = client is None
        self._peer: Any = None
        self._partial: dict[tuple[int, ...], list[int]] = {}

    @classmethod
    def from_config(cls, settings: TelegramSinkSettings, config: Config) -> TelegramBotSink:
        """Build the sink; it needs ``[telegram]`` for the API id and hash.

        Raises:
            ConfigError: there is no ``[telegram]`` section, or a bot was given an invite link.
        """
        if config.telegram is None:
            raise ConfigError(
                f"alerts.{settings.name}: a telegram sink needs the [telegram] api_id and "
                "api_hash, even for a bot; add them"
            )
        if invite_hash(settings.chat) and not settings.as_account:
            raise ConfigError(
                f"alerts.{settings.name}.chat: a bot cannot join by invite link; add the bot "
                "to the chat and give its @username or numeric id"
            )
        return cls(settings, config.telegram)

    def __repr__(self) -> str:
        who = "account" if self.settings.as_account else "bot"
        return f"TelegramBotSink(name={self.name!r}, chat={self.settings.chat!r}, as={who})"

    @property
    def name(self) -> str:
        """The sink's name."""
        return self.settings.name or self.kind

    @property
    def pace_key(self) -> str | None:
        """Sinks writing to the same chat share one pace."""
        return f"telegram:{self.settings.chat}"

    def use_client(self, client: Any) -> None:
        """Write through an already connected client (the daemon's, for ``as_account``)."""
        self._client, self._owns_client, self._peer = client, False, None

    async def _connect(self) -> Any:
        if self._client is not None:
            if self._owns_client and not self._client.is_connected():
                # Telethon stops reconnecting after a few attempts; try again on each send.
                with translated("reconnect to Telegram"):
                    await asyncio.wait_for(self._client.connect(), SEND_TIMEOUT)
            return self._client
        from monitor.telegram.session import build_client

        if self.settings.as_account:
            client = build_client(self.telegram, receive_updates=False)
        else:  # in memory: processes never share a bot session (see the module docstring)
            client = build_client(self.telegram, session="", receive_updates=False)
        with translated("connect to Telegram"):
            await client.connect()
            if not await client.is_user_authorized():
                await self._authorize(client)
        self._client = client
        return client

    async def _authorize(self, client: TelegramClient) -> None:
        token = self.settings.bot_token
        if self.settings.as_account or token is None:
            await client.disconnect()
            raise AlertError(
                "the monitoring account is not logged in; run `monitor login`", permanent=True
            )
        try:
            await client.sign_in(bot_token=token.get_secret_value())
        except errors.RPCError:
            await client.disconnect()
            raise AlertError(
                "Telegram refused the bot token; check bot_token", permanent=True
            ) from None

    async def _target(self, client: Any) -> Any:
        if self._peer is not None:
            return self._peer
        chat = self.settings.chat
        with translated(f"resolve chat {chat}"):
            link = invite_hash(chat)
            if link is not None:
                self._peer = await self._join(client, link)
            else:
                self._peer = await client.get_input_entity(chat_reference(chat))
        return self._peer

    async def _join(self, client: Any, link: str) -> Any:
        invite = await client(functions.messages.CheckChatInviteRequest(link))
        if isinstance(invite, types.ChatInviteAlready | types.ChatInvitePeek):
            return await client.get_input_entity(invite.chat)
        updates = await client(functions.messages.ImportChatInviteRequest(link))
        return await client.get_input_entity(updates.chats[0])

    async def send(self, alert: Alert | None, message: Message) -> SendResult | None:
        """Send (or, for an update, edit) the message's HTML parts in the chat.

        Raises:
            AlertError: Telegram refused or could not be reached.
        """
        client = await self._connect()
        peer = await self._target(client)
        previous = parse_ref(message.replaces)
        if previous and len(previous) == len(message.html):
            ids = await self._edit(client, peer, previous, message)
        else:
            ids = await self._send_parts(client, peer, message, reply_to=previous[:1])
        return SendResult(ref=f"{self.settings.chat}:{','.join(map(str, ids))}", messages=len(ids))

    async def _send_parts(
        self, client: Any, peer: Any, message: Message, reply_to: list[int]
    ) -> list[int]:
        sent = self._partial.setdefault(message.alert_ids, [])
        for part in message.html[len(sent) :]:
            with translated(f"send to {self.settings.chat}"):
                reply = reply_to[0] if reply_to and not sent else None
                result = await asyncio.wait_for(
                    client.send_message(
                        peer, part, parse_mode="html", link_preview=False, reply_to=reply
                    ),
                    SEND_TIMEOUT,  # a request queued on a dead connection would wait forever
                )
            sent.append(int(result.id))
        return self._partial.pop(message.alert_ids)

    async def _edit(self, client: Any, peer: Any, ids: list[int], message: Message) -> list[int]:
        for message_id, part in zip(ids, message.html, strict=True):
            # MessageNotModified: it already says this, an earlier attempt got through.
            with (
                translated(f"edit message {message_id} in {self.settings.chat}"),
                suppress(errors.MessageNotModifiedError),
            ):
                await asyncio.wait_for(
                    client.edit_message(
                        peer, message_id, part, parse_mode="html", link_preview=False
                    ),
                    SEND_TIMEOUT,
                )
        return ids

    async def aclose(self) -> None:
        """Disconnect the client this sink opened (not one it was handed)."""
        client, self._client, self._peer = self._client, None, None
        if client is not None and self._owns_client:
            await client.disconnect()
