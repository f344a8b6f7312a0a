"""Updates: building them from pts events, and the difference methods that replay them.

``channel_update`` is shared by live pushes (``server.publish``) and ``getChannelDifference``
so both describe a change the same way. Account differences carry private messages and
announce channels with news through ``updateChannelTooLong``, as Telegram does.
"""

from __future__ import annotations

import bisect
from typing import Any

from telethon.tl import functions, types

from monitor.testing.dispatch import RequestContext, rpc
from monitor.testing.mtproto import RpcFault
from monitor.testing.peer_methods import dialog_tl
from monitor.testing.render import as_date, channel_tl, message_tl, peers_of
from monitor.testing.state import ChannelEvent, ChannelRecord, ServerState, StoredMessage, now

ACCOUNT_DIFF_LIMIT = 1000
TOO_LONG_TIMEOUT = 30


def channel_update(
    state: ServerState, channel: ChannelRecord, event: ChannelEvent, viewer_id: int | None
) -> tuple[Any, list[StoredMessage]]:
    """The TL update for one channel event, and the messages it carries."""
    if event.kind == "delete":
        update = types.UpdateDeleteChannelMessages(
            channel_id=channel.id,
            messages=list(event.ids),
            pts=event.pts,
            pts_count=event.pts_count,
        )
        return update, []
    message = channel.messages.get(event.ids[0])
    if message is None:  # deleted since: replay as an empty edit so the pts still advance
        message = StoredMessage(event.ids[0], channel.id, event.date, "")
    cls = types.UpdateNewChannelMessage if event.kind == "new" else types.UpdateEditChannelMessage
    update = cls(
        message=message_tl(state, message, viewer_id), pts=event.pts, pts_count=event.pts_count
    )
    return update, [message]


def events_after(channel: ChannelRecord, pts: int) -> list[ChannelEvent]:
    """Events the client with local ``pts`` has not seen."""
    start = bisect.bisect_right([e.pts for e in channel.events], pts)
    return channel.events[start:]


@rpc(functions.updates.GetChannelDifferenceRequest)
def get_channel_difference(ctx: RequestContext, request: Any) -> Any:
    """Replay a channel's events after ``pts``; too long beyond ``limit`` events."""
    channel = ctx.channel(request.channel)
    if request.pts <= 0:
        raise RpcFault(400, "PERSISTENT_TIMESTAMP_EMPTY")
    if request.pts > channel.pts:
        raise RpcFault(400, "PERSISTENT_TIMESTAMP_INVALID")
    pending = events_after(channel, request.pts)
    if not pending:
        return types.updates.ChannelDifferenceEmpty(
            pts=channel.pts, final=True, timeout=TOO_LONG_TIMEOUT
        )
    if len(pending) > max(request.limit, 1):
        return channel_too_long(ctx, channel, request.limit)
    viewer = ctx.me.id
    new_ids = {e.ids[0] for e in pending if e.kind == "new"}
    new_messages = [channel.messages[i] for i in sorted(new_ids) if i in channel.messages]
    other, carried = [], []
    for event in pending:
        if event.kind == "new" or (event.kind == "edit" and event.ids[0] in new_ids):
            continue
        update, messages = channel_update(ctx.state, channel, event, viewer)
        other.append(update)
        carried.extend(messages)
    users, chats = peers_of(ctx.state, new_messages + carried, viewer)
    if channel.id not in {c.id for c in chats}:
        chats.append(channel_tl(channel, viewer))
    return types.updates.ChannelDifference(
        pts=channel.pts,
        final=True,
        timeout=TOO_LONG_TIMEOUT,
        new_messages=[message_tl(ctx.state, m, viewer) for m in new_messages],
        other_updates=other,
        chats=chats,
        users=users,
    )


def channel_too_long(ctx: RequestContext, channel: ChannelRecord, limit: int) -> Any:
    """``channelDifferenceTooLong`` with the latest ``limit`` messages and the dialog."""
    viewer = ctx.me.id
    latest = [channel.messages[i] for i in reversed(channel.ids[-max(limit, 1) :])]
    top = channel.ids[-1] if channel.ids else 0
    dialog = dialog_tl(types.PeerChannel(channel.id), top, channel.pts)
    users, chats = peers_of(ctx.state, latest, viewer)
    if channel.id not in {c.id for c in chats}:
        chats.append(channel_tl(channel, viewer))
    return types.updates.ChannelDifferenceTooLong(
        dialog=dialog,
        messages=[message_tl(ctx.state, m, viewer) for m in latest],
        chats=chats,
        users=users,
        final=True,
        timeout=TOO_LONG_TIMEOUT,
    )


@rpc(functions.updates.GetDifferenceRequest)
def get_difference(ctx: RequestContext, request: Any) -> Any:
    """Private messages after ``pts`` plus ``updateChannelTooLong`` for busy channels."""
    me = ctx.me
    since = int(request.date.timestamp()) if request.date else 0
    pending = [e for e in me.events if e.pts > request.pts]
    if len(pending) > (request.pts_total_limit or ACCOUNT_DIFF_LIMIT):
        return types.updates.DifferenceTooLong(pts=me.pts)
    busy = [
        c
        for c in ctx.state.channels.values()
        if me.id in c.members and c.events and c.events[-1].date >= since
    ]
    if not pending and not busy:
        return types.updates.DifferenceEmpty(date=as_date(now()), seq=0)
    messages = [e.message for e in pending if e.kind == "new"]
    edits = [e for e in pending if e.kind == "edit"]
    users, chats = peers_of(ctx.state, [e.message for e in pending], me.id)
    chats.extend(channel_tl(c, me.id) for c in busy if c.id not in {x.id for x in chats})
    return types.updates.Difference(
        new_messages=[message_tl(ctx.state, m, me.id) for m in messages],
        new_encrypted_messages=[],
        other_updates=[
            *(
                types.UpdateEditMessage(message_tl(ctx.state, e.message, me.id), e.pts, 1)
                for e in edits
            ),
            *(types.UpdateChannelTooLong(channel_id=c.id, pts=c.pts) for c in busy),
        ],
        chats=chats,
        users=users,
        state=types.updates.State(pts=me.pts, qts=0, date=as_date(now()), seq=0, unread_count=0),
    )
