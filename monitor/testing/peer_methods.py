"""RPC methods about peers: resolving usernames, channel info, joining, leaving, invites.

Access rules follow Telegram's: a public channel can be read without joining, a private one
only by members, and ``contacts.resolveUsername`` spends a per-account budget after which it
answers FLOOD_WAIT.
"""

from __future__ import annotations

from typing import Any

from telethon.tl import functions, types

from monitor.testing.dispatch import RequestContext, rpc
from monitor.testing.mtproto import RpcFault
from monitor.testing.render import as_date, channel_tl, message_tl, peers_of, user_tl
from monitor.testing.state import ChannelRecord, UserRecord, now


@rpc(functions.contacts.ResolveUsernameRequest)
def resolve_username(ctx: RequestContext, request: Any) -> Any:
    """``contacts.ResolvedPeer`` for a user or channel username."""
    me = ctx.me
    ctx.server.resolve_budget.spend(me.id)
    found = ctx.state.by_username(request.username)
    if found is None:
        raise RpcFault(400, "USERNAME_NOT_OCCUPIED")
    if isinstance(found, UserRecord):
        return types.contacts.ResolvedPeer(
            peer=types.PeerUser(found.id), chats=[], users=[user_tl(found, me.id)]
        )
    return types.contacts.ResolvedPeer(
        peer=types.PeerChannel(found.id), chats=[channel_tl(found, me.id)], users=[]
    )


@rpc(functions.channels.GetChannelsRequest)
def get_channels(ctx: RequestContext, request: Any) -> Any:
    """``messages.Chats`` for input channels; a private channel one is not in is forbidden."""
    chats = []
    for peer in request.id:
        channel = ctx.channel(peer, readable=False)
        if channel.private and ctx.me.id not in channel.members:
            chats.append(
                types.ChannelForbidden(
                    id=channel.id,
                    access_hash=channel.access_hash_for(ctx.me.id),
                    title=channel.title,
                    broadcast=not channel.megagroup,
                    megagroup=channel.megagroup,
                )
            )
        else:
            chats.append(channel_tl(channel, ctx.me.id))
    return types.messages.Chats(chats=chats)


@rpc(functions.channels.GetFullChannelRequest)
def get_full_channel(ctx: RequestContext, request: Any) -> Any:
    """``messages.ChatFull`` with the channel's pts and member count."""
    channel = ctx.channel(request.channel)
    top = channel.ids[-1] if channel.ids else 0
    full = types.ChannelFull(
        id=channel.id,
        about=channel.about,
        read_inbox_max_id=top,
        read_outbox_max_id=top,
        unread_count=0,
        chat_photo=types.PhotoEmpty(id=0),
        notify_settings=types.PeerNotifySettings(),
        bot_info=[],
        pts=channel.pts,
        participants_count=len(channel.members),
    )
    return types.messages.ChatFull(full_chat=full, chats=[channel_tl(channel, ctx.me.id)], users=[])


def membership_updates(ctx: RequestContext, channel: ChannelRecord) -> Any:
    """The ``Updates`` Telegram answers a join or leave with."""
    return types.Updates(
        updates=[types.UpdateChannel(channel_id=channel.id)],
        users=[],
        chats=[channel_tl(channel, ctx.me.id)],
        date=as_date(now()),
        seq=0,
    )


@rpc(functions.channels.JoinChannelRequest)
def join_channel(ctx: RequestContext, request: Any) -> Any:
    """Join a public channel (private ones need their invite)."""
    channel = ctx.channel(request.channel)
    channel.members.add(ctx.me.id)
    return membership_updates(ctx, channel)


@rpc(functions.channels.LeaveChannelRequest)
def leave_channel(ctx: RequestContext, request: Any) -> Any:
    """Leave a channel; USER_NOT_PARTICIPANT if not a member."""
    channel = ctx.channel(request.channel, readable=False)
    if ctx.me.id not in channel.members:
        raise RpcFault(400, "USER_NOT_PARTICIPANT")
    channel.members.discard(ctx.me.id)
    return membership_updates(ctx, channel)


def invite_target(ctx: RequestContext, invite_hash: str) -> ChannelRecord:
    """The channel behind an invite hash, or INVITE_HASH_INVALID."""
    channel = ctx.state.by_invite(invite_hash)
    if channel is None:
        raise RpcFault(400, "INVITE_HASH_INVALID")
    return channel


@rpc(functions.messages.CheckChatInviteRequest)
def check_chat_invite(ctx: RequestContext, request: Any) -> Any:
    """``ChatInviteAlready`` for members, else a ``ChatInvite`` preview."""
    channel = invite_target(ctx, request.hash)
    if ctx.me.id in channel.members:
        return types.ChatInviteAlready(chat=channel_tl(channel, ctx.me.id))
    return types.ChatInvite(
        title=channel.title,
        photo=types.PhotoEmpty(id=0),
        participants_count=len(channel.members),
        color=0,
        channel=True,
        broadcast=not channel.megagroup,
        megagroup=channel.megagroup,
        public=channel.username is not None,
        about=channel.about or None,
    )


@rpc(functions.messages.ImportChatInviteRequest)
def import_chat_invite(ctx: RequestContext, request: Any) -> Any:
    """Join through an invite; USER_ALREADY_PARTICIPANT if already in."""
    channel = invite_target(ctx, request.hash)
    if ctx.me.id in channel.members:
        raise RpcFault(400, "USER_ALREADY_PARTICIPANT")
    channel.members.add(ctx.me.id)
    return membership_updates(ctx, channel)


def dialog_tl(peer: Any, top: int, pts: int | None) -> Any:
    """A ``Dialog`` row with everything read."""
    return types.Dialog(
        peer=peer,
        top_message=top,
        read_inbox_max_id=top,
        read_outbox_max_id=top,
        unread_count=0,
        unread_mentions_count=0,
        unread_reactions_count=0,
        unread_poll_votes_count=0,
        notify_settings=types.PeerNotifySettings(),
        pts=pts,
    )


@rpc(functions.messages.GetDialogsRequest)
def get_dialogs(ctx: RequestContext, request: Any) -> Any:
    """Every channel and group the account is in, and its private chats, in one page."""
    me = ctx.me
    channels = [c for c in ctx.state.channels.values() if me.id in c.members]
    tops = [c.messages[c.ids[-1]] for c in channels if c.ids]
    dialogs = [
        dialog_tl(types.PeerChannel(c.id), c.ids[-1] if c.ids else 0, c.pts) for c in channels
    ]
    last_private: dict[int, Any] = {m.chat_id: m for m in me.inbox}
    dialogs += [dialog_tl(types.PeerUser(i), m.id, None) for i, m in last_private.items()]
    tops += list(last_private.values())
    users, chats = peers_of(ctx.state, tops, me.id)
    known = {c.id for c in chats}
    chats += [channel_tl(c, me.id) for c in channels if c.id not in known]
    return types.messages.Dialogs(
        dialogs=dialogs,
        messages=[message_tl(ctx.state, m, me.id) for m in tops],
        chats=chats,
        users=users,
    )
