"""Seeding the test server from a file, and running it standalone with ``monitor test-server``."""

from __future__ import annotations

import asyncio
import re
import sys
import tomllib
from pathlib import Path

import pytest
from telethon.tl import types

from monitor.testing.client import connect_test_client, sign_in_test_user
from monitor.testing.seed import SeedError
from monitor.testing.server import ServerSettings, TelegramTestServer

pytestmark = pytest.mark.telegram

EXAMPLE = Path(__file__).resolve().parents[2] / "monitor" / "testing" / "seed.example.toml"


async def test_example_seed_is_served(tmp_path: Path) -> None:
    """The shipped example seed loads; its channels, posts, 2FA user and group are served."""
    server = TelegramTestServer.from_seed(EXAMPLE)
    settings = await server.start()
    client = await connect_test_client(settings)
    try:
        await sign_in_test_user(client, server, "+99966 0 0002", password="two-factor-demo")
        posts = await client.get_messages("@frontline_digest", limit=10)
        assert [p.id for p in posts] == [4, 3, 2, 1]
        assert posts[2].entities == [types.MessageEntityBold(offset=0, length=14)]
        assert posts[0].grouped_id == posts[1].grouped_id == 5001
        [repost, _] = reversed(await client.get_messages("@regional_watch", limit=2))
        assert repost.fwd_from.channel_post == 2
    finally:
        await client.disconnect()
        await server.stop()


def test_broken_seed_is_reported(tmp_path: Path) -> None:
    """A seed naming an unknown member fails with SeedError and the file name."""
    seed = tmp_path / "bad.json"
    seed.write_text('{"groups": [{"title": "X", "members": ["@ghost"]}]}', encoding="utf-8")
    with pytest.raises(SeedError, match=r"bad\.json"):
        TelegramTestServer.from_seed(seed)


async def test_cli_runs_standalone(tmp_path: Path) -> None:
    """`monitor test-server --seed` prints a pasteable config a real client can sign in with."""
    key_file = tmp_path / "server-key.pem"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "test-server", "--port", "0",
        "--seed", str(EXAMPLE), "--key-file", str(key_file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("# login code"):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "test-server exited early"
            lines.append(line.decode())
        config = tomllib.loads("".join(lines))
        section = config["telegram"]["server"]
        settings = ServerSettings(
            section["host"], section["port"], section["dc_id"], key_file.read_text("ascii")
        )
        code = re.search(r"login code: (\d+)", lines[-1])
        assert code is not None
        client = await connect_test_client(settings)
        try:
            await client.send_code_request("+99966 0 0001")
            me = await client.sign_in("+99966 0 0001", code.group(1))
            assert me.username == "demo_watcher"
        finally:
            await client.disconnect()
    finally:
        process.terminate()
        await process.wait()
