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

As a bot with ``buttons`` on, an alert about a post carries feedback buttons (confirmed, false
positive, mute the channel 24 h) under its last part; edits keep them. While the daemon
listens (``listen``), the bot's client receives updates, and a press is handed to the
recorder, answered with a short notice, and the keyboard edited to show what was recorded.

Errors: FloodWait and slow mode become ``AlertError(retry_after=...)``; 5xx, flood and network
errors are retryable; 400/401/403 answers (chat gone, bot not a member, bad token) are
permanent. This module must not sleep out a flood wait (the dispatcher paces), and never
shows the bot token in a repr, a log line or an error.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

from telethon import Button, TelegramClient, errors, events, functions, types

from monitor.alerts.buttons import Keyboard, Press, keyboard, parse_press
from monitor.alerts.format import Message
from monitor.alerts.sink import SendResult
from monitor.config import Config, TelegramSettings, TelegramSinkSettings
from monitor.errors import AlertError, ConfigError
from monitor.logs import get_logger
from monitor.models import Alert

log = get_logger("monitor.alerts.telegram_bot")
# Records a press: (press, sink name, the message it was under, who) -> answer and keyboard.
PressHandler = Callable[..., Awaitable[Any]]
_BUTTON_EVENTS = frozenset({"alert", "update"})
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
        self._on_press: PressHandler | None = None
        self._listener: asyncio.Task[None] | None = None
        self._connecting = asyncio.Lock()

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
        # One connection at a time: the listener's background connect and a send may meet.
        async with self._connecting:
            return await self._connect_once()

    async def _connect_once(self) -> Any:
        if self._client is not None:
            if self._owns_client and not self._client.is_connected():
                # Telethon stops reconnecting after a few attempts; try again on each send.
                with translated("reconnect to Telegram"):
                    await asyncio.wait_for(self._client.connect(), SEND_TIMEOUT)
            return self._client
        from monitor.telegram.session import build_client

        listening = self._on_press is not None
        if self.settings.as_account:
            client = build_client(self.telegram, receive_updates=False)
        else:  # in memory: processes never share a bot session (see the module docstring)
            client = build_client(self.telegram, session="", receive_updates=listening)
        with translated("connect to Telegram"):
            await client.connect()
            if not await client.is_user_authorized():
                await self._authorize(client)
        if listening:
            client.add_event_handler(self._pressed, events.CallbackQuery())
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

    @property
    def has_buttons(self) -> bool:
        """Tell whether alerts carry feedback buttons (a bot with ``buttons`` on)."""
        return self.settings.buttons and not self.settings.as_account

    def listen(self, on_press: PressHandler) -> None:
        """Hear presses of the alerts' buttons from now on, handing each to ``on_press``.

        The bot connects in the background (a Telegram that does not answer delays nothing;
        the next alert connects it). Does nothing for a sink without buttons.
        """
        if not self.has_buttons or self._on_press is not None:
            return
        self._on_press = on_press
        if self._client is None:
            self._listener = asyncio.create_task(self._connect_quietly())

    async def _connect_quietly(self) -> None:
        try:
            await self._connect()
        except AlertError as error:
            log.warning("alert_buttons_not_heard", sink=self.name, error=str(error))

    def _buttons(self, alert: Alert | None, message: Message) -> Any:
        if not self.has_buttons or alert is None or alert.alert_id <= 0:
            return None
        if message.event not in _BUTTON_EVENTS:
            return None
        return telegram_buttons(keyboard(alert.alert_id))

    async def _pressed(self, event: Any) -> None:
        """Record a button press and show it; never raises (a handler error stops nothing)."""
        press = parse_press(bytes(event.data or b""))
        on_press = self._on_press
        if press is None or on_press is None:
            return
        try:
            await self._record(event, press, on_press)
        except Exception:
            log.exception("alert_press_crashed", sink=self.name, alert_id=press.alert_id)

    async def _record(self, event: Any, press: Press, on_press: PressHandler) -> None:
        sender = await event.get_sender()
        who = f"telegram:@{sender.username}" if getattr(sender, "username", None) else None
        who = who or f"telegram:{event.sender_id}"
        outcome = await on_press(press, sink=self.name, message_id=event.message_id, who=who)
        with translated(f"answer a press in {self.settings.chat}"):
            await event.answer(outcome.answer)
        if outcome.judged is None:
            return
        markup = telegram_buttons(keyboard(press.alert_id, outcome.judged))
        with (
            translated(f"edit message {event.message_id} in {self.settings.chat}"),
            suppress(errors.MessageNotModifiedError),
        ):
            await event.edit(buttons=markup)

    async def send(self, alert: Alert | None, message: Message) -> SendResult | None:
        """Send (or, for an update, edit) the message's HTML parts in the chat.

        Raises:
            AlertError: Telegram refused or could not be reached.
        """
        client = await self._connect()
        peer = await self._target(client)
        previous = parse_ref(message.replaces)
        buttons = self._buttons(alert, message)
        if previous and len(previous) == len(message.html):
            ids = await self._edit(client, peer, previous, message, buttons)
        else:
            ids = await self._send_parts(client, peer, message, previous[:1], buttons)
        return SendResult(ref=f"{self.settings.chat}:{','.join(map(str, ids))}", messages=len(ids))

    async def _send_parts(
        self, client: Any, peer: Any, message: Message, reply_to: list[int], buttons: Any
    ) -> list[int]:
        sent = self._partial.setdefault(message.alert_ids, [])
        last = len(message.html) - 1
        for index in range(len(sent), len(message.html)):
            with translated(f"send to {self.settings.chat}"):
                reply = reply_to[0] if reply_to and not sent else None
                result = await asyncio.wait_for(
                    client.send_message(
                        peer,
                        message.html[index],
                        parse_mode="html",
                        link_preview=False,
                        reply_to=reply,
                        buttons=buttons if index == last else None,
                    ),
                    SEND_TIMEOUT,  # a request queued on a dead connection would wait forever
                )
            sent.append(int(result.id))
        return self._partial.pop(message.alert_ids)

    async def _edit(
        self, client: Any, peer: Any, ids: list[int], message: Message, buttons: Any
    ) -> list[int]:
        for message_id, part in zip(ids, message.html, strict=True):
            # An edit without a keyboard removes it: the last part keeps its buttons.
            markup = buttons if message_id == ids[-1] else None
            # MessageNotModified: it already says this, an earlier attempt got through.
            with (
                translated(f"edit message {message_id} in {self.settings.chat}"),
                suppress(errors.MessageNotModifiedError),
            ):
                await asyncio.wait_for(
                    client.edit_message(
                        peer,
                        message_id,
                        part,
                        parse_mode="html",
                        link_preview=False,
                        buttons=markup,
                    ),
                    SEND_TIMEOUT,
                )
        return ids

    async def aclose(self) -> None:
        """Stop listening; disconnect the client this sink opened (not one it was handed)."""
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        client, self._client, self._peer = self._client, None, None
        if client is not None and self._owns_client:
            await client.disconnect()


def telegram_buttons(rows: Keyboard) -> list[list[Any]]:
    """Telethon's inline buttons for a keyboard of (text, callback data) rows."""
    return [[Button.inline(text, data) for text, data in row] for row in rows]
