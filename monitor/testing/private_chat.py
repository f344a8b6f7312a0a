"""Private (user-to-user, bot-to-user) messages: both boxes, account pts and pushes.

Each account has its own message ids and pts, as on Telegram: a message exists once in the
sender's box (``out``) and once in the recipient's, linked as twins.
"""

from __future__ import annotations

from typing import Any

from telethon.tl import types

from monitor.testing.dispatch import RequestContext
from monitor.testing.mtproto import RpcFault
from monitor.testing.render import as_date, message_tl, user_tl
from monitor.testing.state import UserRecord, account_event, now


def send_private(ctx: RequestContext, recipient: UserRecord, text: str, entities: list[Any]) -> Any:
    """Deliver a private message; the sender gets ``updateShortSentMessage``."""
    me = ctx.me
    mine, theirs = ctx.state.deliver_private(me, recipient, text, entities)
    pushed = types.UpdateShortMessage(
        id=theirs.id,
        user_id=me.id,
        message=text,
        pts=recipient.pts,
        pts_count=1,
        date=as_date(theirs.date),
        out=False,
        entities=entities or None,
    )
    ctx.server.push_to_user(recipient.id, pushed)
    return types.UpdateShortSentMessage(
        id=mine.id,
        pts=me.pts,
        pts_count=1,
        date=as_date(mine.date),
        out=True,
        entities=entities or None,
    )


def edit_private(ctx: RequestContext, other: UserRecord, request: Any) -> Any:
    """Edit one's own private message in both boxes."""
    me = ctx.me
    mine = next((m for m in me.inbox if m.id == request.id and m.chat_id == other.id), None)
    if mine is None:
        raise RpcFault(400, "MESSAGE_ID_INVALID")
    if not mine.out:
        raise RpcFault(403, "MESSAGE_AUTHOR_REQUIRED")
    text = mine.text if request.message is None else request.message
    entities = list(request.entities or [])
    if text == mine.text and entities == mine.entities:
        raise RpcFault(400, "MESSAGE_NOT_MODIFIED")
    date = now()
    for copy in (mine, mine.twin):
        if copy is not None:
            copy.text, copy.entities, copy.edit_date = text, entities, date
    if mine.twin is not None:
        event = account_event(other, "edit", mine.twin)
        update = types.UpdateEditMessage(message_tl(ctx.state, mine.twin, other.id), event.pts, 1)
        ctx.server.push_to_user(other.id, wrap(ctx, [update], other.id, [me, other]))
    event = account_event(me, "edit", mine)
    update = types.UpdateEditMessage(message_tl(ctx.state, mine, me.id), event.pts, 1)
    return wrap(ctx, [update], me.id, [me, other])


def wrap(ctx: RequestContext, updates: list[Any], viewer_id: int, users: list[UserRecord]) -> Any:
    """An ``Updates`` envelope without seq."""
    return types.Updates(
        updates=updates,
        users=[user_tl(u, viewer_id) for u in users],
        chats=[],
        date=as_date(now()),
        seq=0,
    )
