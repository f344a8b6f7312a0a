"""Turn the server's records into Telethon TL objects, as one viewer sees them.

Pure functions of ``state`` records: no lookups beyond what they are given, no mutation.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from telethon.tl import types

from monitor.testing.state import (
    ChannelRecord,
    ServerState,
    StoredMessage,
    UserRecord,
    normalize_phone,
)

DC_ID = 2
PHOTO_SIZE = types.PhotoSize(type="x", w=800, h=600, size=54_321)


def as_date(timestamp: int) -> datetime.datetime:
    """A Telegram date: an aware UTC datetime."""
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)


def user_tl(user: UserRecord, viewer_id: int | None) -> Any:
    """The ``User`` constructor, with ``is_self`` for the viewer."""
    is_self = user.id == viewer_id
    return types.User(
        id=user.id,
        is_self=is_self,
        bot=user.bot,
        access_hash=user.access_hash,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        phone=normalize_phone(user.phone) if is_self and user.phone else None,
        bot_info_version=1 if user.bot else None,
        status=None if user.bot else types.UserStatusRecently(),
    )


def channel_tl(channel: ChannelRecord, viewer_id: int | None) -> Any:
    """The ``Channel`` constructor; ``left`` unless the viewer is a member."""
    return types.Channel(
        id=channel.id,
        title=channel.title,
        photo=types.ChatPhotoEmpty(),
        date=as_date(channel.date),
        creator=viewer_id is not None and viewer_id == channel.creator_id,
        left=viewer_id not in channel.members,
        broadcast=not channel.megagroup,
        megagroup=channel.megagroup,
        access_hash=channel.access_hash_for(viewer_id),
        username=channel.username,
        participants_count=len(channel.members),
    )


def peer_of(state: ServerState, peer_id: int) -> Any:
    """``PeerChannel`` or ``PeerUser`` for a known id."""
    if peer_id in state.channels:
        return types.PeerChannel(peer_id)
    return types.PeerUser(peer_id)


def media_tl(message: StoredMessage) -> Any:
    """A placeholder photo or document with a stable id; no file can be downloaded."""
    media_id = message.chat_id * 100_000 + message.id
    date = as_date(message.date)
    if message.media == "photo":
        photo = types.Photo(media_id, 1, b"", date, [PHOTO_SIZE], DC_ID)
        return types.MessageMediaPhoto(photo=photo)
    if message.media == "document":
        document = types.Document(
            media_id,
            1,
            b"",
            date,
            "application/pdf",
            12_345,
            DC_ID,
            [types.DocumentAttributeFilename(f"document-{message.id}.pdf")],
        )
        return types.MessageMediaDocument(document=document)
    return None


def message_tl(state: ServerState, message: StoredMessage, viewer_id: int | None) -> Any:
    """The ``Message`` constructor for a stored message."""
    in_channel = message.chat_id in state.channels
    post = in_channel and not state.channels[message.chat_id].megagroup
    if in_channel:
        peer = types.PeerChannel(message.chat_id)
        out = message.sender_id is not None and message.sender_id == viewer_id
    else:
        peer = types.PeerUser(message.chat_id)
        out = message.out
    fwd = None
    if message.fwd_from:
        source_id, source_msg = message.fwd_from
        fwd = types.MessageFwdHeader(
            date=as_date(message.date),
            from_id=peer_of(state, source_id),
            channel_post=source_msg if source_id in state.channels else None,
        )
    return types.Message(
        id=message.id,
        peer_id=peer,
        date=as_date(message.date),
        message=message.text,
        out=out,
        post=post,
        from_id=None if post or message.sender_id is None else types.PeerUser(message.sender_id),
        fwd_from=fwd,
        media=media_tl(message),
        entities=message.entities or None,
        views=message.views,
        forwards=None if message.views is None else 0,
        edit_date=as_date(message.edit_date) if message.edit_date else None,
        grouped_id=message.grouped_id,
        reply_markup=message.reply_markup,
    )


def peers_of(
    state: ServerState, messages: Iterable[StoredMessage], viewer_id: int | None
) -> tuple[list[Any], list[Any]]:
    """The ``users`` and ``chats`` lists that must accompany ``messages``."""
    user_ids: set[int] = set()
    chat_ids: set[int] = set()
    for message in messages:
        bucket = chat_ids if message.chat_id in state.channels else user_ids
        bucket.add(message.chat_id)
        if message.sender_id is not None:
            user_ids.add(message.sender_id)
        if message.fwd_from:
            source = message.fwd_from[0]
            (chat_ids if source in state.channels else user_ids).add(source)
    users = [user_tl(state.users[i], viewer_id) for i in sorted(user_ids) if i in state.users]
    chats = [channel_tl(state.channels[i], viewer_id) for i in sorted(chat_ids)]
    return users, chats
