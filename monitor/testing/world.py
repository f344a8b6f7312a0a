"""The test-facing API that shapes the server's world: accounts, channels, posts, inspection.

``WorldApi`` is mixed into ``TelegramTestServer``. Posting as a channel goes through the same
pts bookkeeping and live pushes as a client's ``sendMessage``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from telethon.extensions import html

from monitor.testing.state import (
    ChannelRecord,
    MediaKind,
    ServerState,
    StoredMessage,
    UserRecord,
    now,
)

Peer = UserRecord | ChannelRecord


def timestamp(date: datetime.datetime | int | None) -> int:
    """Unix seconds from an aware datetime, an int, or now."""
    if date is None:
        return now()
    if isinstance(date, datetime.datetime):
        return int(date.timestamp())
    return int(date)


@dataclass(frozen=True)
class SentMessage:
    """A message a client sent to a chat, as tests assert on it."""

    id: int
    text: str
    entities: list[Any]
    sender_id: int | None
    edited: bool
    buttons: tuple[tuple[tuple[str, bytes], ...], ...] = ()  # rows of (text, callback data)

    @property
    def html(self) -> str:
        """The text with its entities rendered back to HTML by Telethon."""
        rendered: str = html.unparse(self.text, self.entities)
        return rendered


def buttons_of(message: StoredMessage) -> tuple[tuple[tuple[str, bytes], ...], ...]:
    """The inline keyboard of a message as rows of (text, callback data)."""
    rows = getattr(message.reply_markup, "rows", None) or []
    return tuple(
        tuple((button.text, callback_data(button)) for button in row.buttons) for row in rows
    )


def callback_data(button: Any) -> bytes:
    """A callback button's data (older layers keep it on the button, newer on its type)."""
    data = getattr(button, "data", None) or getattr(getattr(button, "type", None), "data", None)
    return bytes(data or b"")


class WorldApi:
    """Create accounts and chats, post as a channel, read what clients sent."""

    state: ServerState

    def publish(self, channel: ChannelRecord, event: Any, skip: Any = None) -> None:
        """Push a channel event (implemented by the server)."""
        raise NotImplementedError

    def add_user(
        self,
        phone: str,
        first_name: str = "Test",
        username: str | None = None,
        password: str | None = None,
        last_name: str | None = None,
    ) -> UserRecord:
        """A user who signs in with ``phone`` and the login code (and ``password`` if set)."""
        if self.state.user_by_phone(phone):
            raise ValueError(f"phone {phone} is already registered")
        self._check_username(username)
        return self.state.new_user(
            first_name, phone=phone, username=username, password=password, last_name=last_name
        )

    def revoke_sessions(self, user: UserRecord) -> int:
        """Log ``user`` out everywhere, as "Terminate all sessions" or a ban does; return how many.

        Every auth key signed in as the user stays known but signed in as nobody, so the
        account's next call is refused with 401 AUTH_KEY_UNREGISTERED, as Telegram refuses it.
        """
        revoked = [r for r in self.state.auth_keys.values() if r.user_id == user.id]
        for record in revoked:
            record.user_id = None
        return len(revoked)

    def add_bot(self, token: str, username: str, first_name: str | None = None) -> UserRecord:
        """A bot that signs in with ``token``."""
        self._check_username(username)
        return self.state.new_user(
            first_name or username, username=username, bot=True, bot_token=token
        )

    def add_channel(
        self,
        username: str | None = None,
        title: str = "Test channel",
        private: bool = False,
        about: str = "",
        creator: UserRecord | None = None,
    ) -> ChannelRecord:
        """A broadcast channel: public with ``username``, or private with an invite hash."""
        if private and username:
            raise ValueError("a private channel has no username")
        if not private and not username:
            raise ValueError("a public channel needs a username")
        self._check_username(username)
        creator_id = creator.id if creator else None
        return self.state.new_channel(
            title,
            username=username,
            about=about,
            creator_id=creator_id,
            members={creator_id} if creator_id else set(),
        )

    def add_group(
        self, title: str, members: list[UserRecord] | None = None, username: str | None = None
    ) -> ChannelRecord:
        """A megagroup (where alerts are sent); its members may post."""
        self._check_username(username)
        ids = {m.id for m in members or []}
        creator_id = next(iter(m.id for m in members or []), None)
        return self.state.new_channel(
            title, username=username, megagroup=True, members=ids, creator_id=creator_id
        )

    def join(self, user: UserRecord, channel: ChannelRecord) -> None:
        """Make ``user`` a member without any client request."""
        channel.members.add(user.id)

    def _check_username(self, username: str | None) -> None:
        if username and self.state.by_username(username):
            raise ValueError(f"username {username} is taken")

    async def post(
        self,
        channel: ChannelRecord,
        text: str = "",
        entities: list[Any] | None = None,
        media: MediaKind | None = None,
        grouped_id: int | None = None,
        fwd_from: tuple[int, int] | None = None,
        views: int | None = None,
        date: datetime.datetime | int | None = None,
        sender: UserRecord | None = None,
    ) -> int:
        """Post as the channel (or as ``sender`` in a group); returns the message id."""
        return self.post_now(
            channel, text, entities, media, grouped_id, fwd_from, views, date, sender
        )

    def post_now(
        self,
        channel: ChannelRecord,
        text: str = "",
        entities: list[Any] | None = None,
        media: MediaKind | None = None,
        grouped_id: int | None = None,
        fwd_from: tuple[int, int] | None = None,
        views: int | None = None,
        date: datetime.datetime | int | None = None,
        sender: UserRecord | None = None,
    ) -> int:
        """``post`` for synchronous callers (seeding)."""
        if not channel.megagroup and views is None:
            views = 1
        message = StoredMessage(
            channel.next_id,
            channel.id,
            timestamp(date),
            text,
            list(entities or []),
            sender_id=sender.id if sender else None,
            media=media,
            grouped_id=grouped_id,
            fwd_from=fwd_from,
            views=views,
        )
        self.publish(channel, self.state.add_channel_message(channel, message))
        return message.id

    async def edit(
        self, channel: ChannelRecord, msg_id: int, text: str, entities: list[Any] | None = None
    ) -> None:
        """Edit a post; members get ``UpdateEditChannelMessage``."""
        message = channel.messages.get(msg_id)
        if message is None:
            raise KeyError(f"no message {msg_id} in channel {channel.id}")
        message.text, message.entities, message.edit_date = text, list(entities or []), now()
        self.publish(channel, channel.record("edit", (msg_id,), now()))

    async def delete(self, channel: ChannelRecord, msg_ids: list[int]) -> None:
        """Delete posts; members get ``UpdateDeleteChannelMessages``."""
        event = self.state.delete_channel_messages(channel, msg_ids)
        if event is not None:
            self.publish(channel, event)

    def invalidate_access_hashes(
        self, channel: ChannelRecord, user: UserRecord | None = None
    ) -> None:
        """Make the access hashes handed out for ``channel`` stale (for ``user``, or everyone).

        Requests with an old hash then answer ``CHANNEL_INVALID`` and resolving the channel
        again gives the new one, as on Telegram when the monitoring account is replaced.
        """
        if user is None:
            channel.hash_epoch += 1
        else:
            channel.viewer_epochs[user.id] = channel.viewer_epochs.get(user.id, 0) + 1

    def sent_messages(self, peer: Peer) -> list[SentMessage]:
        """What clients sent to a chat (a channel or group), or to a user, oldest first."""
        if isinstance(peer, ChannelRecord):
            found = [m for m in peer.live() if m.from_client]
        else:
            found = [m for m in peer.inbox if not m.out]
        return [
            SentMessage(m.id, m.text, list(m.entities), m.sender_id, m.edited, buttons_of(m))
            for m in found
        ]
