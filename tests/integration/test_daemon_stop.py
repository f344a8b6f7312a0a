"""``monitor run`` stopping and failing as an operator sees it: SIGTERM, database outages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from typing import Any

import pytest

from tests.conftest import POSTGRES_URL
from tests.helpers.monitor_world import MonitorWorld, wait_until
from tests.helpers.postgres import refuse_connections
from tests.helpers.processes import exits_within, finish, spawn, stop
from tests.helpers.telegram_server import BOT_TOKEN

pytestmark = pytest.mark.telegram


@pytest.mark.parametrize("latency", [0.0, 30.0], ids=["idle", "telegram-hangs"])
async def test_sigterm_exits_at_once_without_traceback(world: MonitorWorld, latency: float) -> None:
    """SIGTERM exits 0 in under 2 s with no traceback, even while a fetch hangs on Telegram."""
    channel = world.server.add_channel(username="idle_news", title="Idle")
    await world.server.post(channel, "Дезертир задержан")
    world.write_config(["@idle_news"], interval=5, live=True)
    await world.login()
    process = spawn(world, "run")
    try:
        await wait_until(
            lambda: world.scalar("select count(*) from alerts where state = 'sent'"), within=30
        )
        await wait_until(lambda: world.scalar("select count(*) from channels where joined"))
        calls = len(world.server.request_log)
        world.server.faults.latency = latency

        async def fetching() -> bool:  # the next cycle's history request is in flight
            return any(r.method == "messages.getHistory" for r in world.server.request_log[calls:])

        if latency:
            await wait_until(fetching, within=15)
        process.send_signal(signal.SIGTERM)
        took = await exits_within(process, within=10)
    finally:
        stop(process)
    result = process.output()
    assert result.code == 0, result.stderr[-2000:]
    assert '"event": "daemon_stopped"' in result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "CancelledError" not in result.stderr, result.stderr[-3000:]
    assert took < 2.0, f"SIGTERM took {took:.2f} s"


def _events(stderr: str) -> list[dict[str, Any]]:
    events = []
    for line in stderr.splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return events


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_database_outage_logs_one_line_per_failure(world: MonitorWorld) -> None:
    """PostgreSQL refusing every connection for 12 s: each failure is one line naming what is
    retried and when, never a traceback; live failures name their own channel; nothing is lost."""
    quiet = world.server.add_channel(username="outage_quiet", title="Quiet")
    await world.server.post(quiet, "Обычные новости")
    busy = world.server.add_channel(username="outage_busy", title="Busy")
    await world.server.post(busy, "Дезертир задержан")
    world.write_config(["@outage_quiet", "@outage_busy"], interval=5, live=True)
    await world.login()
    process = spawn(world, "run")
    name = world.database_url.rsplit("/", 1)[1]
    try:
        await wait_until(lambda: world.scalar("select count(*) = 2 from channels where joined"))
        busy_id = await world.scalar("select id from channels where username = 'outage_busy'")
        await refuse_connections(POSTGRES_URL, name, refuse=True)
        try:
            for index in range(6):
                await world.server.post(busy, f"Дезертир номер {index} задержан")
                await asyncio.sleep(2)
        finally:
            await refuse_connections(POSTGRES_URL, name, refuse=False)
        last = busy.next_id - 1
        await wait_until(
            lambda: world.scalar(
                f"select last_message_id = {last} from channels where id = {busy_id}"
            ),
            within=30,
        )
        assert process.poll() is None, process.output().stderr[-2000:]
        process.send_signal(signal.SIGTERM)
        await exits_within(process, within=10)
    finally:
        stop(process)
    stderr = process.output().stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    failures = [e for e in _events(stderr) if str(e.get("event")).endswith("_failed")]
    live = [e for e in failures if e["event"] == "live_ingest_failed"]
    assert live, "live posts arrived during the outage"
    assert {e["channel_id"] for e in live} == {busy_id}
    for event in failures:
        assert "exception" not in event, event
        assert "\n" not in str(event.get("error", "")), event
        assert "retry" in event or "retry_in_s" in event, event
    assert len(failures) < 40, [e["event"] for e in failures]
    assert await world.scalar("select count(*) from posts where flagged") == 7


async def test_test_alert_through_the_bot_while_the_daemon_runs(world: MonitorWorld) -> None:
    """``monitor test-alert`` with a bot sink works beside a running daemon using that bot."""
    bot = world.server.add_bot(BOT_TOKEN, "alerts_bot")
    group = world.server.add_group("Alerts", members=[bot], username="alerts_chat")
    channel = world.server.add_channel(username="bot_news", title="Bot news")
    await world.server.post(channel, "Дезертир задержан")
    (world.folder / "bot.token").write_text(BOT_TOKEN, encoding="utf-8")
    sink = '[[alerts]]\nname = "newsroom"\nkind = "telegram"\nchat = "@alerts_chat"\n'
    world.write_config(["@bot_news"], extra=sink + 'bot_token_file = "bot.token"\n')
    await world.login()
    process = spawn(world, "run")
    try:

        async def delivered() -> bool:
            return len(world.server.sent_messages(group)) >= 1

        await wait_until(delivered, within=30)
        for _ in range(2):
            result = await finish(spawn(world, "test-alert", "newsroom"), within=30)
            assert result.code == 0, result.stdout + result.stderr
        assert len(world.server.sent_messages(group)) == 3
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        await exits_within(process, within=10)
    finally:
        stop(process)
    assert process.returncode == 0
    assert "database is locked" not in process.output().stderr
    assert not list(world.folder.glob("*alerts*.session")), "no session file per bot to share"
