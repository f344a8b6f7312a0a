"""Where posts come from: Telethon calls turned into ``Post`` values and ``TelegramError``s.

Every call goes through the request governor, by kind (``resolve``, ``join``, ``history``).
Channels are addressed by their stored id and access hash, so a username is resolved once in
the channel's life. Errors become our own: ``FloodWait`` (the governor is already paused),
``ChannelUnavailable`` (private, gone, banned), ``SessionError`` and ``TelegramError``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telethon import errors, events, functions, types, utils

from monitor.errors import SessionError, TelegramError
from monitor.logs import get_logger
from monitor.models import Channel, Post
from monitor.telegram.governor import Governor
from monitor.telegram.refs import ChannelRef

PAGE = 100
# A request still unanswered after this long is abandoned (the cycle fails and retries later).
# Telethon keeps a request queued while it reconnects, and forever once it gives up.
REQUEST_TIMEOUT = 20.0
CONNECT_TIMEOUT = 30.0

log = get_logger("monitor.telegram")


class FloodWait(TelegramError):
    """Telegram asked us to wait ``seconds`` before calling ``kind`` again."""

    def __init__(self, kind: str, seconds: int) -> None:
        super().__init__(f"flood wait of {seconds} s on {kind} calls")
        self.kind = kind
        self.seconds = seconds


class ChannelUnavailable(TelegramError):
    """The channel cannot be read: ``status`` is private, not_found, banned or invite_invalid.

    ``stale_hash`` tells that Telegram rejected the stored id and access hash
    (``CHANNEL_INVALID``, ``PEER_ID_INVALID``): access hashes belong to one account, so a
    replaced monitoring account holds stale ones, and resolving the reference again helps.
    """

    def __init__(self, status: str, reason: str, *, stale_hash: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.stale_hash = stale_hash


@dataclass(frozen=True)
class Resolved:
    """What a channel reference resolved to."""

    telegram_id: int
    access_hash: int
    username: str | None
    title: str | None
    joined: bool


_UNAVAILABLE: dict[type[Exception], tuple[str, str]] = {
    errors.ChannelPrivateError: ("private", "the channel is private or the account was removed"),
    errors.UsernameNotOccupiedError: ("not_found", "no channel has this username"),
    errors.UsernameInvalidError: ("not_found", "the username is invalid"),
    errors.ChannelInvalidError: ("not_found", "the channel does not exist (or was deleted)"),
    errors.PeerIdInvalidError: ("not_found", "the channel id is unknown to this account"),
    errors.UserBannedInChannelError: ("banned", "the account is banned in this channel"),
    errors.InviteHashExpiredError: ("invite_invalid", "the invite link has expired"),
    errors.InviteHashInvalidError: ("invite_invalid", "the invite link is invalid"),
    errors.ChannelsTooMuchError: ("join_limit", "the account is in too many channels (500)"),
}
_STALE_HASH = (errors.ChannelInvalidError, errors.PeerIdInvalidError)
_SESSION_ERRORS = (
    errors.AuthKeyUnregisteredError,
    errors.AuthKeyDuplicatedError,
    errors.SessionRevokedError,
    errors.UserDeactivatedError,
)


def bare_channel_id(peer_id: int) -> int:
    """Turn a marked peer id (-100xxxx) into the bare channel id."""
    return int(utils.resolve_id(peer_id)[0])


def input_peer(channel: Channel) -> Any:
    """Return the ``InputPeerChannel`` for a resolved channel."""
    return types.InputPeerChannel(channel.telegram_id, channel.access_hash)


def to_post(message: Any, channel: Channel) -> Post | None:
    """Turn a Telethon message into a ``Post`` (None for service and empty messages)."""
    if not isinstance(message, types.Message):
        return None
    return Post(
        channel_id=channel.telegram_id or bare_channel_id(utils.get_peer_id(message.peer_id)),
        message_id=message.id,
        date=message.date,
        text=message.message or "",
        edit_date=message.edit_date,
        views=message.views,
        forwards=message.forwards,
        grouped_id=message.grouped_id,
        forward_from=_forward_origin(message),
        channel_username=channel.username,
        channel_title=channel.title,
        has_media=message.media is not None,
    )


def _forward_origin(message: Any) -> str | None:
    header = message.fwd_from
    if header is None:
        return None
    if isinstance(header.from_id, types.PeerChannel) and header.channel_post:
        return f"{header.from_id.channel_id}/{header.channel_post}"
    if header.from_id is not None:
        return f"{utils.get_peer_id(header.from_id)}/{int(header.date.timestamp())}"
    return f"{header.from_name or 'hidden'}/{int(header.date.timestamp())}"


@dataclass(frozen=True)
class HistoryPage:
    """One page of history: its posts (oldest first), every message id it held, and whether
    it was full (so older messages may follow)."""

    posts: list[Post]
    ids: frozenset[int]
    full: bool


class TelegramSource:
    """The monitoring account's reads: resolve, join, history, live updates."""

    def __init__(self, client: Any, governor: Governor) -> None:
        self.client = client
        self.governor = governor
        self._reconnecting = asyncio.Lock()

    async def ensure_connected(self) -> None:
        """Reconnect a client that lost Telegram (Telethon stops trying after a few attempts).

        Raises:
            TelegramError: Telegram is still unreachable.
        """
        if self.client.is_connected():
            return
        async with self._reconnecting:
            if self.client.is_connected():
                return
            with contextlib.suppress(Exception):  # clear what the failed connection left
                await self.client.disconnect()
            try:
                await asyncio.wait_for(self.client.connect(), CONNECT_TIMEOUT)
            except (ConnectionError, OSError, TimeoutError) as error:
                raise TelegramError(f"Telegram is unreachable: {error}") from None
            log.info("telegram_reconnected")
            with contextlib.suppress(Exception):  # live updates missed meanwhile
                await self.client.catch_up()

    async def call(self, kind: str, request: Any) -> Any:
        """Send one request under the governor, mapping Telegram's errors to ours."""
        await self.ensure_connected()
        async with self.governor.slot(kind):
            try:
                return await asyncio.wait_for(self.client(request), REQUEST_TIMEOUT)
            except errors.FloodWaitError as error:
                self.governor.pause(kind, error.seconds)
                raise FloodWait(kind, error.seconds) from None
            except _SESSION_ERRORS as error:
                raise SessionError(
                    f"the session was revoked or logged out ({error}); run `monitor login` again"
                ) from None
            except tuple(_UNAVAILABLE) as error:
                status, reason = _UNAVAILABLE[type(error)]
                stale = isinstance(error, _STALE_HASH)
                raise ChannelUnavailable(status, reason, stale_hash=stale) from None
            except (errors.RPCError, ConnectionError, OSError, TimeoutError) as error:
                raise TelegramError(f"{type(error).__name__}: {error}") from None

    async def resolve(self, ref: ChannelRef) -> Resolved:
        """Resolve a reference once (username, id or invite) to the channel's identity."""
        if ref.kind == "username":
            result = await self.call(
                "resolve", functions.contacts.ResolveUsernameRequest(ref.value)
            )
            return _resolved(_first_channel(result.chats), joined=False)
        if ref.kind == "invite":
            return await self._resolve_invite(ref.value)
        return await self._resolve_id(ref.channel_id)

    async def _resolve_invite(self, invite_hash: str) -> Resolved:
        check = await self.call("resolve", functions.messages.CheckChatInviteRequest(invite_hash))
        if isinstance(check, types.ChatInviteAlready | types.ChatInvitePeek):
            return _resolved(check.chat, joined=isinstance(check, types.ChatInviteAlready))
        updates = await self.call("join", functions.messages.ImportChatInviteRequest(invite_hash))
        return _resolved(_first_channel(updates.chats), joined=True)

    async def _resolve_id(self, channel_id: int) -> Resolved:
        try:
            entity = await self.client.get_input_entity(types.PeerChannel(channel_id))
        except (ValueError, TypeError):
            raise ChannelUnavailable(
                "not_found",
                "this numeric id is unknown to the account; join the channel or use its @name",
            ) from None
        input_channel = types.InputChannel(entity.channel_id, entity.access_hash)
        result = await self.call("resolve", functions.channels.GetChannelsRequest([input_channel]))
        return _resolved(_first_channel(result.chats), joined=False)

    async def join(self, channel: Channel) -> None:
        """Join a public channel so its new posts arrive as live updates."""
        input_channel = types.InputChannel(channel.telegram_id, channel.access_hash)
        await self.call("join", functions.channels.JoinChannelRequest(input_channel))

    async def fetch_after(
        self, channel: Channel, after_id: int, limit: int = PAGE
    ) -> tuple[list[Post], int]:
        """Return up to ``limit`` posts with ids above ``after_id``, oldest first.

        Also returns the highest message id seen, service messages included, so the cursor can
        move past ids that hold no post.
        """
        request = functions.messages.GetHistoryRequest(
            peer=input_peer(channel),
            offset_id=after_id + 1,
            offset_date=None,
            add_offset=-limit,
            limit=limit,
            max_id=0,
            min_id=after_id,
            hash=0,
        )
        result = await self.call("history", request)
        messages = [m for m in result.messages if m.id > after_id]
        highest = max((m.id for m in messages), default=after_id)
        posts = [
            post for m in sorted(messages, key=lambda m: m.id) if (post := to_post(m, channel))
        ]
        return posts, highest

    async def fetch_before(self, channel: Channel, before_id: int, limit: int = PAGE) -> list[Post]:
        """Return up to ``limit`` posts older than ``before_id`` (0: the newest), newest first."""
        messages = await self._history_before(channel, before_id, limit)
        posts = [to_post(m, channel) for m in sorted(messages, key=lambda m: -m.id)]
        return [post for post in posts if post is not None]

    async def _history_before(self, channel: Channel, before_id: int, limit: int) -> list[Any]:
        """Return Telegram's messages older than ``before_id`` (0: the newest), up to ``limit``."""
        request = functions.messages.GetHistoryRequest(
            peer=input_peer(channel),
            offset_id=before_id,
            offset_date=None,
            add_offset=0,
            limit=limit,
            max_id=0,
            min_id=0,
            hash=0,
        )
        result = await self.call("history", request)
        return list(result.messages)

    async def read_page(self, channel: Channel, before_id: int, limit: int = PAGE) -> HistoryPage:
        """Return the page of messages older than ``before_id``, with what it covered.

        Unlike ``fetch_before`` it keeps the id of every message Telegram returned (service
        messages too), so a stored post missing from the range is known to be deleted.
        """
        messages = sorted(await self._history_before(channel, before_id, limit), key=lambda m: m.id)
        posts = [post for m in messages if (post := to_post(m, channel)) is not None]
        ids = frozenset(m.id for m in messages)
        return HistoryPage(posts, ids, full=len(messages) >= limit)

    async def fetch_ids(self, channel: Channel, ids: list[int]) -> list[Post]:
        """Re-read posts by id (to see edits), oldest first."""
        input_channel = types.InputChannel(channel.telegram_id, channel.access_hash)
        request = functions.channels.GetMessagesRequest(
            input_channel, [types.InputMessageID(i) for i in ids]
        )
        result = await self.call("history", request)
        posts = [to_post(m, channel) for m in sorted(result.messages, key=lambda m: m.id)]
        return [post for post in posts if post is not None]

    def subscribe(self, on_posts: OnPosts, on_deleted: OnDeleted | None = None) -> None:
        """Deliver live posts, edits and deletions to these callbacks (see ``subscribe``)."""
        subscribe(self.client, on_posts, on_deleted)


OnPosts = Callable[[int, list[Any], bool], Awaitable[None]]
OnDeleted = Callable[[int, list[int]], Awaitable[None]]


def subscribe(client: Any, on_posts: OnPosts, on_deleted: OnDeleted | None = None) -> None:
    """Deliver live channel posts and edits: ``on_posts(channel_id, messages, edited)``.

    Deletions go to ``on_deleted(channel_id, message_ids)``. Subscribe before the client
    connects: it replays the updates missed since the last stop as soon as it is connected.
    """

    async def new_message(event: Any) -> None:
        if event.message.grouped_id is None:
            await on_posts(bare_channel_id(event.chat_id), [event.message], False)

    async def album(event: Any) -> None:
        await on_posts(bare_channel_id(event.chat_id), list(event.messages), False)

    async def edited(event: Any) -> None:
        await on_posts(bare_channel_id(event.chat_id), [event.message], True)

    client.add_event_handler(new_message, events.NewMessage(func=_from_channel))
    client.add_event_handler(album, events.Album(func=_from_channel))
    client.add_event_handler(edited, events.MessageEdited(func=_from_channel))
    if on_deleted is not None:

        async def deleted(event: Any) -> None:
            # Telegram says which channel only for channel deletions (private chats: None).
            if event.chat_id is not None:
                await on_deleted(bare_channel_id(event.chat_id), list(event.deleted_ids))

        client.add_event_handler(deleted, events.MessageDeleted())


class LiveFeed:
    """Live updates held from the moment the client connects until the daemon takes them.

    Telethon replays the updates missed while the daemon was down right after it connects,
    before the channels are loaded; the feed keeps them, in order, for ``attach``.
    """

    def __init__(self) -> None:
        self._held: list[tuple[int, list[Any], bool | None]] = []
        self._on_posts: OnPosts | None = None
        self._on_deleted: OnDeleted | None = None

    async def posts(self, channel_id: int, messages: list[Any], edited: bool) -> None:
        """Pass on (or hold) posts and edits."""
        if self._on_posts is None:
            self._held.append((channel_id, messages, edited))
            return
        await self._on_posts(channel_id, messages, edited)

    async def deleted(self, channel_id: int, message_ids: list[int]) -> None:
        """Pass on (or hold) deletions."""
        if self._on_deleted is None:
            self._held.append((channel_id, list(message_ids), None))
            return
        await self._on_deleted(channel_id, message_ids)

    async def attach(self, on_posts: OnPosts, on_deleted: OnDeleted) -> None:
        """Deliver what was held, then everything new, to these callbacks."""
        self._on_posts, self._on_deleted = on_posts, on_deleted
        held, self._held = self._held, []
        for channel_id, items, edited in held:
            if edited is None:
                await on_deleted(channel_id, items)
            else:
                await on_posts(channel_id, items, edited)


def _from_channel(event: Any) -> bool:
    return bool(event.is_channel and not event.is_group)


def _first_channel(chats: list[Any]) -> Any:
    for chat in chats:
        if isinstance(chat, types.Channel):
            return chat
        if isinstance(chat, types.ChannelForbidden):
            raise ChannelUnavailable("banned", "the account is banned from this channel")
    raise ChannelUnavailable("not_found", "the reference does not name a channel")


def _resolved(chat: Any, *, joined: bool) -> Resolved:
    if isinstance(chat, types.ChannelForbidden):
        raise ChannelUnavailable("banned", "the account is banned from this channel")
    if not isinstance(chat, types.Channel):
        raise ChannelUnavailable("not_found", "the reference does not name a channel")
    return Resolved(
        telegram_id=chat.id,
        access_hash=chat.access_hash or 0,
        username=(chat.username or None),
        title=chat.title,
        joined=joined or not chat.left,
    )
