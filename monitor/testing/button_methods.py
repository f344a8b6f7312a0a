"""Inline keyboards: a user pressing a bot's button, and the bot answering the press.

``press`` (the test API, and ``messages.getBotCallbackAnswer`` from a user's client) checks the
message has a button with that data in a chat the user is in, then pushes
``updateBotCallbackQuery`` to the bot that sent the message. ``messages.setBotCallbackAnswer``
records the bot's answer. Unlike Telegram, the presser's client gets an empty answer at once
instead of waiting for the bot's.
"""

from __future__ import annotations

import itertools
from typing import Any

from telethon.tl import functions, types

from monitor.testing.dispatch import RequestContext, rpc
from monitor.testing.mtproto import RpcFault
from monitor.testing.render import as_date, channel_tl, user_tl
from monitor.testing.state import ChannelRecord, UserRecord, now
from monitor.testing.world import buttons_of

_QUERY_IDS = itertools.count(5_000_000_001)


def press(server: Any, chat: ChannelRecord, message_id: int, data: bytes, user: UserRecord) -> int:
    """Press the button with ``data`` under a message of ``chat`` as ``user``; return the
    query id. The bot that sent the message gets ``updateBotCallbackQuery``.

    Raises:
        RpcFault: no such message, no such button, or the user is not in the chat.
    """
    message = chat.messages.get(message_id)
    if message is None or message.sender_id is None:
        raise RpcFault(400, "MESSAGE_ID_INVALID")
    if user.id not in chat.members:
        raise RpcFault(403, "CHANNEL_PRIVATE")
    if data not in {d for row in buttons_of(message) for _, d in row}:
        raise RpcFault(400, "DATA_INVALID")
    query_id = next(_QUERY_IDS)
    server.state.presses[query_id] = (chat.id, message_id, data, user.id)
    bot_id = message.sender_id
    update = types.UpdateBotCallbackQuery(
        query_id=query_id,
        user_id=user.id,
        peer=types.PeerChannel(chat.id),
        msg_id=message_id,
        chat_instance=chat.id,
        data=data,
    )
    users = [user_tl(user, bot_id), user_tl(server.state.users[bot_id], bot_id)]
    envelope = types.Updates(
        updates=[update], users=users, chats=[channel_tl(chat, bot_id)], date=as_date(now()), seq=0
    )
    server.push_to_user(bot_id, envelope)
    return query_id


@rpc(functions.messages.GetBotCallbackAnswerRequest)
def get_bot_callback_answer(ctx: RequestContext, request: Any) -> Any:
    """A user's client presses a button (the answer comes at once, empty)."""
    chat = ctx.channel(request.peer)
    press(ctx.server, chat, request.msg_id, bytes(request.data or b""), ctx.me)
    return types.messages.BotCallbackAnswer(cache_time=0)


@rpc(functions.messages.SetBotCallbackAnswerRequest)
def set_bot_callback_answer(ctx: RequestContext, request: Any) -> Any:
    """The bot answers a press (a toast for the presser); recorded for the tests."""
    pressed = ctx.state.presses.get(request.query_id)
    if pressed is None or not ctx.me.bot:
        raise RpcFault(400, "QUERY_ID_INVALID")
    ctx.state.callback_answers[request.query_id] = request.message
    return True
