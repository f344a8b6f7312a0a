"""Unmodified Telethon against the test server: login, entities, history, sending."""

from __future__ import annotations

from typing import Any

import pytest
from telethon import TelegramClient, connection, errors, functions
from telethon.tl import types

from monitor.testing.client import make_test_client, sign_in_test_bot
from monitor.testing.server import TelegramTestServer
from tests.helpers.telegram_server import BOT_TOKEN, OTHER_PHONE, PHONE, ClientFactory

pytestmark = pytest.mark.telegram


async def test_sign_in_and_get_me(client: Any) -> None:
    """A test phone signs in with the fixed code and get_me returns that account."""
    me = await client.get_me()
    assert me.first_name == "Monitor"
    assert me.phone == "9996610001"
    assert await client.is_user_authorized()


async def test_signed_out_client_is_not_authorized(make_client: ClientFactory) -> None:
    """Before sign-in get_me is None, as with a fresh Telegram session."""
    fresh = await make_client(phone=None)
    assert await fresh.get_me() is None
    assert not await fresh.is_user_authorized()


async def test_wrong_code_is_rejected(
    tg_server: TelegramTestServer, make_client: ClientFactory
) -> None:
    """A wrong login code raises PhoneCodeInvalidError."""
    fresh = await make_client(phone=None)
    await fresh.send_code_request(PHONE)
    with pytest.raises(errors.PhoneCodeInvalidError):
        await fresh.sign_in(PHONE, "00000")


async def test_two_factor_login(tg_server: TelegramTestServer, make_client: ClientFactory) -> None:
    """An account with 2FA needs its password; a wrong one fails, the right one signs in."""
    tg_server.add_user(phone=OTHER_PHONE, first_name="Guarded", password="correct horse")
    with pytest.raises(errors.SessionPasswordNeededError):
        await make_client(phone=OTHER_PHONE)
    fresh = await make_client(phone=None)
    await fresh.send_code_request(OTHER_PHONE)
    with pytest.raises(errors.SessionPasswordNeededError):
        await fresh.sign_in(OTHER_PHONE, tg_server.login_code)
    with pytest.raises(errors.PasswordHashInvalidError):
        await fresh.sign_in(password="wrong")
    me = await fresh.sign_in(password="correct horse")
    assert me.first_name == "Guarded"


async def test_bot_login(tg_server: TelegramTestServer, make_client: ClientFactory) -> None:
    """A bot signs in with its token; a bad token raises AccessTokenInvalidError."""
    tg_server.add_bot(token=BOT_TOKEN, username="alerts_bot")
    bot = await make_client(phone=None)
    with pytest.raises(errors.AccessTokenInvalidError):
        await sign_in_test_bot(bot, "1:wrong")
    me = await sign_in_test_bot(bot, BOT_TOKEN)
    assert me.bot
    assert me.username == "alerts_bot"


async def test_get_entity_by_username_and_id(tg_server: TelegramTestServer, client: Any) -> None:
    """get_entity resolves '@name', then the same channel by id; unknown names fail."""
    channel = tg_server.add_channel(username="baza_test", title="Baza")
    entity = await client.get_entity("@baza_test")
    assert (entity.id, entity.title, entity.broadcast) == (channel.id, "Baza", True)
    again = await client.get_entity(types.PeerChannel(channel.id))
    assert again.id == channel.id
    full = await client.get_entity(-1000000000000 - channel.id)
    assert full.username == "baza_test"
    with pytest.raises(ValueError, match="No user has"):
        await client.get_entity("@nobody_here")


@pytest.fixture
async def history(tg_server: TelegramTestServer) -> Any:
    """A public channel with 250 posts, ids 1..250."""
    channel = tg_server.add_channel(username="history_test", title="History")
    for number in range(1, 251):
        await tg_server.post(channel, f"post {number}")
    return channel


async def test_iter_messages_newest_first_with_pagination(history: Any, client: Any) -> None:
    """iter_messages pages through 100-message chunks, newest first, respecting limit."""
    ids = [m.id async for m in client.iter_messages("@history_test", limit=230)]
    assert ids == list(range(250, 20, -1))
    everything = await client.get_messages("@history_test", limit=None)
    assert [m.id for m in everything] == list(range(250, 0, -1))
    assert everything.total == 250


async def test_iter_messages_reverse_and_bounds(history: Any, client: Any) -> None:
    """reverse=True goes oldest first; min_id/max_id/offset_id bound the range exclusively."""
    oldest = [m.id async for m in client.iter_messages("@history_test", reverse=True, limit=150)]
    assert oldest == list(range(1, 151))
    newer = [m.id async for m in client.iter_messages("@history_test", min_id=240)]
    assert newer == list(range(250, 240, -1))
    window = [m.id async for m in client.iter_messages("@history_test", min_id=10, max_id=15)]
    assert window == [14, 13, 12, 11]
    after = [m.id async for m in client.iter_messages("@history_test", offset_id=5)]
    assert after == [4, 3, 2, 1]
    reverse_from = [
        m.id async for m in client.iter_messages("@history_test", reverse=True, min_id=245)
    ]
    assert reverse_from == [246, 247, 248, 249, 250]


async def test_get_messages_by_ids(
    history: Any, tg_server: TelegramTestServer, client: Any
) -> None:
    """get_messages(ids=...) returns messages in order and None for deleted or missing ids."""
    await tg_server.delete(history, [7])
    found = await client.get_messages("@history_test", ids=[3, 7, 999, 250])
    assert [m.id if m else None for m in found] == [3, None, None, 250]
    assert found[0].text == "post 3"


async def test_post_shapes(tg_server: TelegramTestServer, client: Any) -> None:
    """Photos, documents, albums, forwards, views and edits arrive with their fields."""
    source = tg_server.add_channel(username="source_test", title="Source")
    channel = tg_server.add_channel(username="shapes_test", title="Shapes")
    bold = [types.MessageEntityBold(offset=0, length=4)]
    await tg_server.post(channel, "Bold words", entities=bold, views=1234)
    await tg_server.post(channel, "album one", media="photo", grouped_id=77)
    await tg_server.post(channel, "", media="photo", grouped_id=77)
    await tg_server.post(channel, "report", media="document", fwd_from=(source.id, 42))
    await tg_server.edit(channel, 1, "Bold words, edited", entities=bold)
    first, album, album2, doc = await client.get_messages("@shapes_test", ids=[1, 2, 3, 4])
    assert (first.views, first.text) == (1234, "**Bold** words, edited")
    assert first.edit_date is not None
    assert album.photo is not None
    assert album.grouped_id == album2.grouped_id == 77
    assert album.message == "album one"
    assert doc.document is not None
    assert doc.fwd_from.channel_post == 42
    assert doc.fwd_from.from_id == types.PeerChannel(source.id)


async def test_send_message_to_group_keeps_formatting(
    tg_server: TelegramTestServer, client: Any
) -> None:
    """send_message with HTML to a group arrives there with its entities, and can be edited."""
    me = await client.get_me()
    group = tg_server.add_group("Newsroom", members=[tg_server.state.users[me.id]])
    dialogs = await client.get_dialogs()
    assert [d.title for d in dialogs] == ["Newsroom"]
    entity = await client.get_entity(types.PeerChannel(group.id))
    text = "<b>Alert</b>: <a href='https://t.me/x/1'>post</a>"
    sent = await client.send_message(entity, text, parse_mode="html")
    assert sent.id == 1
    [arrived] = tg_server.sent_messages(group)
    assert arrived.text == "Alert: post"
    assert arrived.html == '<strong>Alert</strong>: <a href="https://t.me/x/1">post</a>'
    assert arrived.sender_id == me.id
    await client.edit_message(entity, sent.id, "<i>Alert</i> updated", parse_mode="html")
    [edited] = tg_server.sent_messages(group)
    assert edited.edited
    assert edited.html == "<em>Alert</em> updated"


async def test_send_message_to_user_from_bot(
    tg_server: TelegramTestServer, make_client: ClientFactory
) -> None:
    """A bot's private message lands in the user's box with markdown entities."""
    tg_server.add_bot(token=BOT_TOKEN, username="alerts_bot")
    bot = await make_client(phone=None)
    await sign_in_test_bot(bot, BOT_TOKEN)
    user = tg_server.state.by_username("monitor_user")
    await bot.send_message("@monitor_user", "**desertion** reported")
    [arrived] = tg_server.sent_messages(user)
    assert arrived.html == "<strong>desertion</strong> reported"


async def test_cannot_post_to_broadcast_channel(tg_server: TelegramTestServer, client: Any) -> None:
    """Only a channel's creator may post, as on Telegram."""
    tg_server.add_channel(username="readonly_test", title="Read only")
    with pytest.raises(errors.ChatAdminRequiredError):
        await client.send_message("@readonly_test", "hello")


async def test_private_channel_by_invite(tg_server: TelegramTestServer, client: Any) -> None:
    """A private channel is unreadable until its invite is imported."""
    from telethon.tl.functions.messages import CheckChatInviteRequest, ImportChatInviteRequest

    channel = tg_server.add_channel(title="Closed", private=True)
    await tg_server.post(channel, "members only")
    preview = await client(CheckChatInviteRequest(channel.invite_hash))
    assert isinstance(preview, types.ChatInvite)
    assert preview.title == "Closed"
    await client(ImportChatInviteRequest(channel.invite_hash))
    [post] = await client.get_messages(types.PeerChannel(channel.id), limit=1)
    assert post.text == "members only"
    with pytest.raises(errors.UserAlreadyParticipantError):
        await client(ImportChatInviteRequest(channel.invite_hash))
    with pytest.raises(errors.InviteHashInvalidError):
        await client(CheckChatInviteRequest("nope"))


async def test_unimplemented_method_answers_an_error(client: Any) -> None:
    """A method the server lacks fails fast with a clear RPC error instead of hanging."""
    from telethon.tl.functions.help import GetPremiumPromoRequest

    with pytest.raises(errors.BadRequestError, match="METHOD_NOT_IMPLEMENTED"):
        await client(GetPremiumPromoRequest())


@pytest.mark.parametrize(
    "transport",
    [
        connection.ConnectionTcpFull,
        connection.ConnectionTcpIntermediate,
        connection.ConnectionTcpAbridged,
    ],
    ids=["full", "intermediate", "abridged"],
)
async def test_transports(tg_server: TelegramTestServer, transport: type) -> None:
    """Full, intermediate and abridged TCP transports all sign in."""
    raw: TelegramClient = make_test_client(tg_server.settings, connection=transport)
    try:
        await raw.connect()
        await raw.send_code_request(PHONE)
        me = await raw.sign_in(PHONE, tg_server.login_code)
        assert me.first_name == "Monitor"
    finally:
        await raw.disconnect()


async def test_access_hashes_are_per_account_and_can_go_stale(
    tg_server: TelegramTestServer, make_client: ClientFactory
) -> None:
    """Each account gets its own hash; an invalidated or foreign one answers CHANNEL_INVALID."""
    channel = tg_server.add_channel(username="hashed_news", title="Hashed")
    await tg_server.post(channel, "first")
    tg_server.add_user(phone=OTHER_PHONE, first_name="Other")
    mine, other = await make_client(), await make_client(phone=OTHER_PHONE)
    mine_hash = (await mine.get_entity("hashed_news")).access_hash
    other_hash = (await other.get_entity("hashed_news")).access_hash
    assert mine_hash != other_hash
    foreign = types.InputPeerChannel(channel.id, other_hash)
    with pytest.raises(errors.ChannelInvalidError):
        await mine.get_messages(foreign, limit=1)
    tg_server.invalidate_access_hashes(channel)
    stale = types.InputPeerChannel(channel.id, mine_hash)
    with pytest.raises(errors.ChannelInvalidError):
        await mine.get_messages(stale, limit=1)
    fresh = await mine(functions.contacts.ResolveUsernameRequest("hashed_news"))
    assert fresh.chats[0].access_hash not in (mine_hash, other_hash)
    [message] = await mine.get_messages(
        types.InputPeerChannel(channel.id, fresh.chats[0].access_hash), limit=1
    )
    assert message.message == "first"
