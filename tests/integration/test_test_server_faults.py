"""Injected faults surface as the exceptions real Telegram causes, and clients recover."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from telethon import errors
from telethon.tl import functions

from monitor.testing.server import TelegramTestServer
from tests.helpers.telegram_server import PHONE, ClientFactory

pytestmark = pytest.mark.telegram


def calls(server: TelegramTestServer, method: str) -> int:
    """How many times clients called ``method``."""
    return sum(record.method == method for record in server.request_log)


async def test_flood_wait_surfaces_with_seconds(tg_server: TelegramTestServer, client: Any) -> None:
    """FLOOD_WAIT_2 raises FloodWaitError(seconds=2); after honouring it the call works."""
    tg_server.add_channel(username="flood_test", title="Flood")
    tg_server.faults.flood_wait("contacts.resolveUsername", seconds=2, count=1)
    with pytest.raises(errors.FloodWaitError) as caught:
        await client.get_entity("@flood_test")
    assert caught.value.seconds == 2
    # Telethon itself refuses the same request until the wait is over, as with Telegram.
    await asyncio.sleep(caught.value.seconds)
    entity = await client.get_entity("@flood_test")
    assert entity.username == "flood_test"


async def test_flood_wait_below_threshold_is_slept(
    tg_server: TelegramTestServer, make_client: ClientFactory
) -> None:
    """With Telethon's default threshold a short flood wait is slept through and retried."""
    tg_server.add_channel(username="sleepy_test", title="Sleepy")
    patient = await make_client()
    tg_server.faults.flood_wait(functions.contacts.ResolveUsernameRequest, seconds=1)
    started = time.monotonic()
    entity = await patient.get_entity("@sleepy_test")
    assert entity.title == "Sleepy"
    assert time.monotonic() - started >= 1
    assert calls(tg_server, "contacts.resolveUsername") == 2


async def test_resolve_budget_answers_flood_wait(make_client: ClientFactory) -> None:
    """After the configured budget, resolveUsername answers FLOOD_WAIT like Telegram."""
    server = TelegramTestServer(resolve_limit=2, resolve_flood_seconds=40)
    await server.start()
    try:
        server.add_user(phone="+999662 0001", first_name="Budget")
        for name in ("one_test", "two_test", "three_test"):
            server.add_channel(username=name, title=name)
        from monitor.testing.client import connect_test_client, sign_in_test_user

        scraper = await connect_test_client(server.settings, flood_sleep_threshold=0)
        try:
            await sign_in_test_user(scraper, server, "+999662 0001")
            await scraper.get_entity("@one_test")
            await scraper.get_entity("@two_test")
            with pytest.raises(errors.FloodWaitError) as caught:
                await scraper.get_entity("@three_test")
            assert caught.value.seconds == 40
        finally:
            await scraper.disconnect()
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("message", "code", "exception"),
    [
        ("CHANNEL_PRIVATE", 400, errors.ChannelPrivateError),
        ("USERNAME_NOT_OCCUPIED", 400, errors.UsernameNotOccupiedError),
        ("AUTH_KEY_UNREGISTERED", 401, errors.AuthKeyUnregisteredError),
        ("INTERNAL", 500, ValueError),  # Telethon retries 500s, then gives up
    ],
    ids=["channel-private", "username-not-occupied", "auth-key-unregistered", "server-error"],
)
async def test_injected_rpc_errors(
    tg_server: TelegramTestServer, client: Any, message: str, code: int, exception: type
) -> None:
    """An injected RPC error raises Telethon's matching exception, then calls succeed."""
    channel = tg_server.add_channel(username="errors_test", title="Errors")
    await tg_server.post(channel, "hello")
    entity = await client.get_entity("@errors_test")
    count = 10 if code == 500 else 1  # Telethon retries server errors itself
    tg_server.faults.rpc_error("channels.getMessages", message, code=code, count=count)
    with pytest.raises(exception):
        await client.get_messages(entity, ids=[1])
    tg_server.faults.clear()
    [post] = await client.get_messages(entity, ids=[1])
    assert post.text == "hello"


async def test_drop_connections_and_reconnect(tg_server: TelegramTestServer, client: Any) -> None:
    """Dropping every connection makes Telethon reconnect on its own."""
    tg_server.faults.drop_connections()
    me = await client.get_me()
    assert me.first_name == "Monitor"
    assert client.is_connected()


async def test_drop_after_n_requests(tg_server: TelegramTestServer, client: Any) -> None:
    """drop_after(1) answers one request, drops the next; the client resends it."""
    channel = tg_server.add_channel(username="drop_test", title="Drop")
    await tg_server.post(channel, "survives")
    entity = await client.get_entity("@drop_test")
    tg_server.faults.drop_after(1)
    first = await client.get_messages(entity, limit=1)
    second = await client.get_messages(entity, limit=1)
    assert first[0].text == second[0].text == "survives"
    assert calls(tg_server, "messages.getHistory") == 3


async def test_latency_is_added(tg_server: TelegramTestServer, client: Any) -> None:
    """faults.latency delays every answer."""
    tg_server.faults.latency = 0.2
    started = time.monotonic()
    await client.get_me()
    assert time.monotonic() - started >= 0.2


async def test_restart_keeps_state(tg_server: TelegramTestServer, client: Any) -> None:
    """stop() then start() on the same port keeps accounts, auth keys, channels and posts."""
    channel = tg_server.add_channel(username="restart_test", title="Restart")
    await tg_server.post(channel, "before restart")
    port = tg_server.settings.port
    await tg_server.stop()
    settings = await tg_server.start(port=port)
    assert settings.port == port
    await tg_server.post(channel, "after restart")
    posts = await client.get_messages("@restart_test", limit=2)
    assert [m.text for m in posts] == ["after restart", "before restart"]
    assert (await client.get_me()).phone == PHONE.replace("+", "").replace(" ", "")
