"""The test server's world: users, bots, channels, groups, their messages and pts counters.

Plain Python records with no TL and no networking, so a restart keeps everything and tests can
read it directly. Every change to a channel's history appends a ``ChannelEvent`` with the pts
it consumed, which is what ``getChannelDifference`` replays. Private messages do the same on
the receiving user's account pts.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import os
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Literal

MediaKind = Literal["photo", "document"]
EventKind = Literal["new", "edit", "delete"]


def random_hash() -> int:
    """A random signed 64-bit access hash."""
    value: int = struct.unpack("<q", os.urandom(8))[0]
    return value


@dataclass(eq=False)
class UserRecord:
    """A user or bot account."""

    id: int
    access_hash: int
    first_name: str
    phone: str | None = None
    last_name: str | None = None
    username: str | None = None
    bot: bool = False
    password: str | None = field(default=None, repr=False)
    bot_token: str | None = field(default=None, repr=False)
    pts: int = 1
    next_message_id: int = 1
    inbox: list[StoredMessage] = field(default_factory=list, repr=False)
    events: list[AccountEvent] = field(default_factory=list, repr=False)


@dataclass(eq=False)
class StoredMessage:
    """One message in a channel, group or a user's private box."""

    id: int
    chat_id: int  # channel id, or for private boxes the other user's id
    date: int
    text: str
    entities: list[Any] = field(default_factory=list)
    sender_id: int | None = None
    out: bool = False
    media: MediaKind | None = None
    grouped_id: int | None = None
    fwd_from: tuple[int, int] | None = None
    views: int | None = None
    edit_date: int | None = None
    owner_id: int | None = None  # private boxes: whose box this copy lives in
    from_client: bool = False  # sent through the API (not posted by the test harness)
    reply_markup: Any = None  # a bot's inline keyboard (``ReplyInlineMarkup``), as sent
    twin: StoredMessage | None = field(default=None, repr=False)  # the other box's copy

    @property
    def edited(self) -> bool:
        """Whether the message was edited after it was sent."""
        return self.edit_date is not None


@dataclass(frozen=True)
class ChannelEvent:
    """One pts-consuming change of a channel's history."""

    pts: int
    pts_count: int
    kind: EventKind
    ids: tuple[int, ...]
    date: int


@dataclass(frozen=True)
class AccountEvent:
    """One pts-consuming change of a user's private box."""

    pts: int
    kind: EventKind
    message: StoredMessage


@dataclass(eq=False)
class ChannelRecord:
    """A broadcast channel or a megagroup and its history."""

    id: int
    access_hash: int
    title: str
    date: int
    username: str | None = None
    invite_hash: str | None = None
    megagroup: bool = False
    about: str = ""
    creator_id: int | None = None
    members: set[int] = field(default_factory=set)
    messages: dict[int, StoredMessage] = field(default_factory=dict, repr=False)
    ids: list[int] = field(default_factory=list, repr=False)  # ascending, live messages only
    next_id: int = 1
    pts: int = 1
    events: list[ChannelEvent] = field(default_factory=list, repr=False)
    withhold_updates: bool = False
    # Bumped to make access hashes stale: for every account, or for one (by user id).
    hash_epoch: int = 0
    viewer_epochs: dict[int, int] = field(default_factory=dict, repr=False)

    def access_hash_for(self, viewer_id: int | None) -> int:
        """The access hash ``viewer_id`` is given: Telegram's differ per account.

        A hash handed out before ``invalidate_access_hashes`` no longer matches, as when the
        monitoring account is replaced and the stored hash belongs to the old one.
        """
        if viewer_id is None:
            return self.access_hash
        epoch = (self.hash_epoch, self.viewer_epochs.get(viewer_id, 0))
        seed = struct.pack("<qqqq", self.access_hash, viewer_id, *epoch)
        value: int = struct.unpack("<q", hashlib.blake2b(seed, digest_size=8).digest())[0]
        return value

    @property
    def private(self) -> bool:
        """A channel without a username is reachable only by invite."""
        return self.username is None

    def live(self) -> list[StoredMessage]:
        """Messages that were not deleted, oldest first."""
        return [self.messages[i] for i in self.ids]

    def record(self, kind: EventKind, ids: tuple[int, ...], date: int) -> ChannelEvent:
        """Consume pts for a change and remember it for difference requests."""
        self.pts += len(ids)
        event = ChannelEvent(self.pts, len(ids), kind, ids, date)
        self.events.append(event)
        return event


@dataclass
class ServerState:
    """Everything the server knows; survives ``stop()``/``start()``."""

    login_code: str = "12345"
    users: dict[int, UserRecord] = field(default_factory=dict)
    channels: dict[int, ChannelRecord] = field(default_factory=dict)
    auth_keys: dict[int, Any] = field(default_factory=dict, repr=False)
    # Button presses by query id: (chat id, message id, data, presser) and the bot's answer.
    presses: dict[int, tuple[int, int, bytes, int]] = field(default_factory=dict)
    callback_answers: dict[int, str | None] = field(default_factory=dict)
    _user_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7_000_001))
    _channel_ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1_900_000_001)
    )

    def new_user(self, first_name: str, **fields: Any) -> UserRecord:
        """Create and store a user (or a bot, with ``bot=True``)."""
        user = UserRecord(next(self._user_ids), random_hash(), first_name, **fields)
        self.users[user.id] = user
        return user

    def new_channel(self, title: str, **fields: Any) -> ChannelRecord:
        """Create and store a channel or megagroup."""
        channel = ChannelRecord(next(self._channel_ids), random_hash(), title, now(), **fields)
        if channel.username is None and channel.invite_hash is None:
            channel.invite_hash = secrets.token_urlsafe(12)
        self.channels[channel.id] = channel
        return channel

    def user_by_phone(self, phone: str) -> UserRecord | None:
        """Find a user by phone number, ignoring '+' and spaces."""
        wanted = normalize_phone(phone)
        return next(
            (u for u in self.users.values() if u.phone and normalize_phone(u.phone) == wanted), None
        )

    def by_username(self, username: str) -> UserRecord | ChannelRecord | None:
        """Find a user or channel by username, case-insensitively."""
        wanted = username.lower().lstrip("@")
        peers: list[UserRecord | ChannelRecord] = [*self.users.values(), *self.channels.values()]
        return next((p for p in peers if p.username and p.username.lower() == wanted), None)

    def by_invite(self, invite_hash: str) -> ChannelRecord | None:
        """Find a channel by its invite hash."""
        return next((c for c in self.channels.values() if c.invite_hash == invite_hash), None)

    def add_channel_message(self, channel: ChannelRecord, message: StoredMessage) -> ChannelEvent:
        """Store a new message in ``channel`` (its id is already assigned)."""
        channel.messages[message.id] = message
        channel.ids.append(message.id)
        channel.next_id = message.id + 1
        return channel.record("new", (message.id,), now())

    def delete_channel_messages(
        self, channel: ChannelRecord, ids: list[int]
    ) -> ChannelEvent | None:
        """Delete live messages of ``channel``; ``None`` if none of ``ids`` was live."""
        gone = tuple(i for i in ids if i in channel.messages)
        for message_id in gone:
            del channel.messages[message_id]
            channel.ids.pop(bisect.bisect_left(channel.ids, message_id))
        return channel.record("delete", gone, now()) if gone else None

    def deliver_private(
        self, sender: UserRecord, recipient: UserRecord, text: str, entities: list[Any]
    ) -> tuple[StoredMessage, StoredMessage]:
        """Store a private message in both boxes; returns (sender's copy, recipient's copy)."""
        date = now()
        copies = []
        for owner, other, out in ((sender, recipient, True), (recipient, sender, False)):
            message = StoredMessage(
                owner.next_message_id,
                other.id,
                date,
                text,
                list(entities),
                sender_id=sender.id,
                out=out,
                owner_id=owner.id,
                from_client=True,
            )
            owner.next_message_id += 1
            owner.inbox.append(message)
            copies.append(message)
            account_event(owner, "new", message)
        copies[0].twin, copies[1].twin = copies[1], copies[0]
        return copies[0], copies[1]


def account_event(owner: UserRecord, kind: EventKind, message: StoredMessage) -> AccountEvent:
    """Consume one pts of ``owner``'s account for a change to ``message``."""
    owner.pts += 1
    event = AccountEvent(owner.pts, kind, message)
    owner.events.append(event)
    return event


def now() -> int:
    """The current Unix time in whole seconds, as Telegram dates are."""
    return int(time.time())


def normalize_phone(phone: str) -> str:
    """Digits only, so '+999 66 1' and '999661' match."""
    return "".join(ch for ch in phone if ch.isdigit())
