"""RPC methods that read and write messages: history, messages by id, send and edit.

``messages.getHistory`` follows https://core.telegram.org/api/offsets: newest first, the
offset row found by ``offset_id`` (else ``offset_date``), moved by ``add_offset``, at most
``limit`` (capped at 100) rows, all within the exclusive ``min_id``/``max_id`` bounds.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from telethon.tl import functions, types

from monitor.testing.dispatch import RequestContext, rpc
from monitor.testing.mtproto import RpcFault
from monitor.testing.private_chat import edit_private, send_private
from monitor.testing.render import message_tl, peers_of
from monitor.testing.state import ChannelRecord, StoredMessage, UserRecord, now

MAX_LIMIT = 100


def date_cutoff(offset_date: Any) -> int:
    """``offset_date`` as Unix seconds; 0 (how Telethon sends "none") means unset."""
    return int(offset_date.timestamp()) if offset_date else 0


def window(ids: Sequence[int], dates: Sequence[int] | None, request: Any) -> list[int]:
    """The ids ``getHistory`` returns, newest first, from ascending ``ids``.

    ``dates`` (parallel to ``ids``) is only consulted when ``offset_date`` is used.
    """
    lo = bisect.bisect_right(ids, request.min_id) if request.min_id > 0 else 0
    hi = bisect.bisect_left(ids, request.max_id) if request.max_id > 0 else len(ids)
    pool = ids[lo:hi]
    if request.offset_id:
        below = bisect.bisect_left(pool, request.offset_id)
    elif request.offset_date and request.offset_date.timestamp() > 0 and dates is not None:
        cutoff = int(request.offset_date.timestamp())
        pool_dates = dates[lo:hi]
        below = next((i + 1 for i in range(len(pool) - 1, -1, -1) if pool_dates[i] < cutoff), 0)
    else:
        below = len(pool)
    start = len(pool) - below + request.add_offset  # row index in newest-first order
    end = start + max(0, min(request.limit, MAX_LIMIT))
    start, end = max(start, 0), min(max(end, 0), len(pool))
    if start >= end:
        return []
    return list(reversed(pool[len(pool) - end : len(pool) - start]))


def private_box(user: UserRecord, other_id: int) -> list[StoredMessage]:
    """The messages of ``user``'s private chat with ``other_id``, oldest first."""
    return [m for m in user.inbox if m.chat_id == other_id]


@rpc(functions.messages.GetHistoryRequest)
def get_history(ctx: RequestContext, request: Any) -> Any:
    """A page of a channel's or a private chat's history."""
    target = ctx.peer(request.peer)
    viewer = ctx.me.id
    if isinstance(target, ChannelRecord):
        dates = (
            [target.messages[i].date for i in target.ids]
            if date_cutoff(request.offset_date)
            else None
        )
        page = [target.messages[i] for i in window(target.ids, dates, request)]
        users, chats = peers_of(ctx.state, page, viewer)
        return types.messages.ChannelMessages(
            pts=target.pts,
            count=len(target.ids),
            topics=[],
            chats=chats,
            users=users,
            messages=[message_tl(ctx.state, m, viewer) for m in page],
        )
    box = private_box(ctx.me, target.id)
    by_id = {m.id: m for m in box}
    ids = [m.id for m in box]
    page = [by_id[i] for i in window(ids, [m.date for m in box], request)]
    users, chats = peers_of(ctx.state, page, viewer)
    return types.messages.MessagesSlice(
        count=len(box),
        topics=[],
        chats=chats,
        users=users,
        messages=[message_tl(ctx.state, m, viewer) for m in page],
    )


def requested_ids(ids: list[Any]) -> list[int]:
    """Message ids from ``InputMessageID`` entries (other kinds are not supported)."""
    return [getattr(i, "id", 0) for i in ids]


@rpc(functions.channels.GetMessagesRequest)
def get_channel_messages(ctx: RequestContext, request: Any) -> Any:
    """Channel messages by id, ``MessageEmpty`` for missing or deleted ones."""
    channel = ctx.channel(request.channel)
    viewer = ctx.me.id
    found = [channel.messages.get(i) for i in requested_ids(request.id)]
    live = [m for m in found if m is not None]
    users, chats = peers_of(ctx.state, live, viewer)
    messages = [
        message_tl(ctx.state, m, viewer) if m else types.MessageEmpty(id=i, peer_id=None)
        for i, m in zip(requested_ids(request.id), found, strict=True)
    ]
    return types.messages.ChannelMessages(
        pts=channel.pts, count=len(messages), messages=messages, topics=[], chats=chats, users=users
    )


@rpc(functions.messages.GetMessagesRequest)
def get_private_messages(ctx: RequestContext, request: Any) -> Any:
    """Messages of the account's private box by id."""
    box = {m.id: m for m in ctx.me.inbox}
    found = [box.get(i) for i in requested_ids(request.id)]
    live = [m for m in found if m is not None]
    users, chats = peers_of(ctx.state, live, ctx.me.id)
    messages = [
        message_tl(ctx.state, m, ctx.me.id) if m else types.MessageEmpty(id=i, peer_id=None)
        for i, m in zip(requested_ids(request.id), found, strict=True)
    ]
    return types.messages.Messages(messages=messages, topics=[], chats=chats, users=users)


def stored_entities(entities: list[Any] | None) -> list[Any]:
    """Entities as Telegram stores them (input mention entities become plain ones)."""
    result = []
    for entity in entities or []:
        if isinstance(entity, types.InputMessageEntityMentionName):
            user_id = getattr(entity.user_id, "user_id", 0)
            entity = types.MessageEntityMentionName(entity.offset, entity.length, user_id)
        result.append(entity)
    return result


def check_can_post(ctx: RequestContext, channel: ChannelRecord) -> None:
    """Broadcast channels accept posts from their creator; groups from members."""
    me = ctx.me.id
    if not channel.megagroup and me != channel.creator_id:
        raise RpcFault(400, "CHAT_ADMIN_REQUIRED")
    if channel.megagroup and me not in channel.members:
        raise RpcFault(403, "CHAT_WRITE_FORBIDDEN")


@rpc(functions.messages.SendMessageRequest)
def send_message(ctx: RequestContext, request: Any) -> Any:
    """Post to a channel or group, or write to a user."""
    if not request.message:
        raise RpcFault(400, "MESSAGE_EMPTY")
    target = ctx.peer(request.peer)
    entities = stored_entities(request.entities)
    if isinstance(target, UserRecord):
        return send_private(ctx, target, request.message, entities)
    check_can_post(ctx, target)
    message = StoredMessage(
        target.next_id,
        target.id,
        now(),
        request.message,
        entities,
        sender_id=ctx.me.id,
        views=None if target.megagroup else 1,
        from_client=True,
        reply_markup=request.reply_markup if ctx.me.bot else None,
    )
    event = ctx.state.add_channel_message(target, message)
    ctx.server.publish(target, event, skip=ctx.conn)
    updates = ctx.server.channel_updates(target, event, ctx.me.id)
    updates.updates.insert(0, types.UpdateMessageID(id=message.id, random_id=request.random_id))
    return updates


@rpc(functions.messages.EditMessageRequest)
def edit_message(ctx: RequestContext, request: Any) -> Any:
    """Edit one's own message (any post, for a channel's creator)."""
    target = ctx.peer(request.peer)
    if isinstance(target, UserRecord):
        return edit_private(ctx, target, request)
    message = target.messages.get(request.id)
    if message is None:
        raise RpcFault(400, "MESSAGE_ID_INVALID")
    if message.sender_id != ctx.me.id and ctx.me.id != target.creator_id:
        raise RpcFault(403, "MESSAGE_AUTHOR_REQUIRED")
    text = message.text if request.message is None else request.message
    entities = message.entities if request.message is None else stored_entities(request.entities)
    # As on Telegram, an edit without a keyboard removes the one the message had.
    markup = request.reply_markup if ctx.me.bot else None
    if text == message.text and entities == message.entities and markup == message.reply_markup:
        raise RpcFault(400, "MESSAGE_NOT_MODIFIED")
    message.text, message.entities, message.edit_date = text, entities, now()
    message.reply_markup = markup
    event = target.record("edit", (message.id,), message.edit_date)
    ctx.server.publish(target, event, skip=ctx.conn)
    return ctx.server.channel_updates(target, event, ctx.me.id)


@rpc(functions.channels.DeleteMessagesRequest)
def delete_channel_messages(ctx: RequestContext, request: Any) -> Any:
    """Delete channel messages (creator only in broadcasts, own messages in groups)."""
    channel = ctx.channel(request.channel)
    for message_id in request.id:
        message = channel.messages.get(message_id)
        if message and message.sender_id != ctx.me.id and ctx.me.id != channel.creator_id:
            raise RpcFault(403, "MESSAGE_DELETE_FORBIDDEN")
    event = ctx.state.delete_channel_messages(channel, list(request.id))
    if event is None:
        return types.messages.AffectedMessages(pts=channel.pts, pts_count=0)
    ctx.server.publish(channel, event, skip=ctx.conn)
    return types.messages.AffectedMessages(pts=event.pts, pts_count=event.pts_count)


@rpc(functions.channels.ReadHistoryRequest)
def read_channel_history(ctx: RequestContext, request: Any) -> Any:
    """Accepted and ignored: the server keeps no read marks."""
    ctx.channel(request.channel)
    return True


@rpc(functions.messages.ReadHistoryRequest)
def read_private_history(ctx: RequestContext, request: Any) -> Any:
    """Accepted and ignored: the server keeps no read marks."""
    return types.messages.AffectedMessages(pts=ctx.me.pts, pts_count=0)
