"""Fixtures for tests that run the real Telethon client against the local test server.

Import the fixtures into a test module (``from tests.helpers.telegram_server import ...``).
Every client a factory makes is disconnected at teardown, and the server is stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from monitor.config import ServerSettings, TelegramSettings
from monitor.testing.client import connect_test_client, sign_in_test_user
from monitor.testing.server import TelegramTestServer

PHONE = "+99966 1 0001"
OTHER_PHONE = "+99966 1 0002"
BOT_TOKEN = "123456:TEST-token-for-alerts"

ClientFactory = Callable[..., Awaitable[Any]]


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``condition`` until it is true; fail the test after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {within}s")
        await asyncio.sleep(0.01)


@pytest.fixture
async def tg_server() -> AsyncIterator[TelegramTestServer]:
    """A started test server with one ordinary test user (``PHONE``)."""
    server = TelegramTestServer()
    await server.start()
    server.add_user(phone=PHONE, first_name="Monitor", username="monitor_user")
    yield server
    await server.stop()


@pytest.fixture
def telegram(tg_server: TelegramTestServer, tmp_path: Path) -> TelegramSettings:
    """The [telegram] settings that point Telethon at the test server."""
    settings = tg_server.settings
    key = settings.write_public_key(tmp_path / "server.pem")
    server = ServerSettings(
        host=settings.host, port=settings.port, dc_id=settings.dc_id, rsa_public_key=key
    )
    return TelegramSettings(
        api_id=1, api_hash=SecretStr("test"), session=tmp_path / "monitor.session", server=server
    )


@pytest.fixture
async def make_client(tg_server: TelegramTestServer) -> AsyncIterator[ClientFactory]:
    """Factory: ``await make_client(phone=PHONE, **client_kwargs)`` -> a signed-in client.

    ``phone=None`` returns a connected but signed-out client.
    """
    clients: list[Any] = []

    async def make(phone: str | None = PHONE, password: str | None = None, **kwargs: Any) -> Any:
        client = await connect_test_client(tg_server.settings, **kwargs)
        clients.append(client)
        if phone is not None:
            await sign_in_test_user(client, tg_server, phone, password)
        return client

    yield make
    for client in clients:
        await client.disconnect()


@pytest.fixture
async def client(make_client: ClientFactory) -> Any:
    """A client signed in as ``PHONE`` that surfaces flood waits (``flood_sleep_threshold=0``)."""
    return await make_client(flood_sleep_threshold=0)
