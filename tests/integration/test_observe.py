"""Operations against the running daemon: /metrics, /healthz, and the quiet-channel alarm."""

from __future__ import annotations

import asyncio
import signal
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers.cli import invoke
from tests.helpers.monitor_world import MonitorWorld, wait_until
from tests.helpers.processes import finish, spawn, stop

pytestmark = pytest.mark.telegram


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _get(url: str) -> tuple[int, str]:
    def fetch() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  loopback only
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    return await asyncio.to_thread(fetch)


async def test_metrics_and_healthz_on_the_running_daemon(world: MonitorWorld) -> None:
    """/metrics reports posts, flags and the outbox; /healthz is 200, then 503 once stale."""
    channel = world.server.add_channel(username="metrics_a", title="Metrics A")
    await world.server.post(channel, "Дезертир задержан")
    await world.server.post(channel, "Обычные новости")
    port = _free_port()
    extra = f'[metrics]\nlisten = "127.0.0.1:{port}"\nheartbeat_max_age = 2\n'
    world.write_config(["@metrics_a"], extra="")
    text = world.config_path.read_text(encoding="utf-8")
    world.config_path.write_text(
        text.replace('[metrics]\nheartbeat_file = "monitor.heartbeat"\n', extra), encoding="utf-8"
    )
    await world.login()
    daemon = world.start_daemon()
    base = f"http://127.0.0.1:{port}"
    assert await wait_until(lambda: _status(f"{base}/healthz", 200), within=10)

    async def scraped() -> str | None:
        status, body = await _get(f"{base}/metrics")
        wanted = 'monitor_posts_flagged_total{channel="metrics_a"} 1.0'
        return body if status == 200 and wanted in body else None

    body = await wait_until(scraped, within=20, interval=0.5)
    assert 'monitor_posts_fetched_total{channel="metrics_a"} 2.0' in body
    assert "monitor_channel_last_post_age_seconds" in body
    assert 'monitor_outbox_depth{state="sent"} 1.0' in body
    assert await wait_until(lambda: _status(f"{base}/healthz", 503), within=10)
    assert await world.stop_daemon(daemon) == 0
    assert not await _status(f"{base}/healthz", 200)  # the endpoint stopped with the daemon


async def _status(url: str, wanted: int) -> bool:
    try:
        status, _ = await _get(url)
    except OSError:
        return False
    return status == wanted


async def test_quiet_channel_raises_one_operational_alert(world: MonitorWorld) -> None:
    """A channel silent for far longer than its usual gap raises exactly one alert."""
    channel = world.server.add_channel(username="quiet_a", title="Quiet A")
    last = datetime.now(UTC) - timedelta(hours=5)
    for index in range(12):
        await world.server.post(
            channel, f"Сводка {index}", date=last - timedelta(minutes=10 * (11 - index))
        )
    world.write_config(["@quiet_a"], interval=5)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(
        lambda: world.scalar("select count(*) from alerts where story_key like 'quiet:%'"),
        within=20,
    )
    assert daemon.watcher is not None
    cycles = daemon.watcher.counters.cycles
    await wait_until(lambda: _more_cycles(daemon, cycles + 1), within=20)
    assert await world.stop_daemon(daemon) == 0
    rows = await world.query("select payload, state from alerts where kind = 'operational'")
    assert len(rows) == 1
    assert "quiet for 5 h" in str(rows[0][0])


async def _more_cycles(daemon: object, count: int) -> bool:
    watcher = getattr(daemon, "watcher", None)
    return watcher is not None and watcher.counters.cycles >= count


async def test_quiet_channel_gets_an_all_clear_when_it_posts_again(world: MonitorWorld) -> None:
    """After the alarm, the channel's next post brings exactly one all-clear, checked as often
    as ``quiet_check_interval`` says."""
    channel = world.server.add_channel(username="quiet_b", title="Quiet B")
    last = datetime.now(UTC) - timedelta(hours=5)
    for index in range(12):
        await world.server.post(
            channel, f"Сводка {index}", date=last - timedelta(minutes=10 * (11 - index))
        )
    world.write_config(["@quiet_b"], interval=5, quiet_check_interval=5)
    await world.login()
    daemon = world.start_daemon()
    notices = "select payload from alerts where kind = 'operational' order by id"
    await wait_until(lambda: world.scalar("select count(*) from alerts where kind = 'operational'"))
    await world.server.post(channel, "Сводка после перерыва")

    async def all_clear() -> bool:
        return len(await world.query(notices)) >= 2

    await wait_until(all_clear, within=30)
    assert daemon.watcher is not None
    cycles = daemon.watcher.counters.cycles
    await wait_until(lambda: _more_cycles(daemon, cycles + 3), within=30)
    assert await world.stop_daemon(daemon) == 0
    rows = [str(row[0]) for row in await world.query(notices)]
    assert len(rows) == 2, rows
    assert "quiet for 5 h" in rows[0]
    assert "@quiet_b is posting again, after 5 h of silence" in rows[1]


async def test_invite_hash_is_never_a_label_nor_logged(world: MonitorWorld) -> None:
    """A private channel joined by invite is labelled by its id; its hash is in no output.

    /metrics labelled it ``t.me/+hash`` and the daemon logged the link on resolving it;
    whoever holds the hash can join the channel.
    """
    private = world.server.add_channel(title="Closed Circle", private=True)
    public = world.server.add_channel(username="Metrics_Pub", title="Public")
    await world.server.post(private, "Дезертир задержан")
    await world.server.post(public, "Обычные новости")
    secret = private.invite_hash
    assert secret is not None
    port = _free_port()
    world.write_config([f"https://t.me/+{secret}", "@metrics_pub"])
    text = world.config_path.read_text(encoding="utf-8")
    world.config_path.write_text(
        text.replace("[metrics]\n", f'[metrics]\nlisten = "127.0.0.1:{port}"\n'), encoding="utf-8"
    )
    await world.login()
    process = spawn(world, "--log-level", "debug", "run")
    try:

        async def scraped() -> str | None:
            status, body = await _get(f"http://127.0.0.1:{port}/metrics")
            wanted = f'monitor_posts_flagged_total{{channel="{private.id}"}} 1.0'
            return body if status == 200 and wanted in body else None

        body = await wait_until(scraped, within=30, interval=0.5)
        process.send_signal(signal.SIGTERM)
        logs = (await finish(process, within=15)).stderr
    finally:
        stop(process)
    assert 'monitor_posts_fetched_total{channel="metrics_pub"} 1.0' in body
    channels = await asyncio.to_thread(invoke, ["--config", str(world.config_path), "channels"])
    checked = await asyncio.to_thread(invoke, ["--config", str(world.config_path), "check-config"])
    assert f"t.me/+{secret[:4]}…" in checked.stdout  # the user can still tell which link
    for shown in (body, logs, channels.stdout, checked.stdout + checked.stderr):
        assert secret not in shown
    assert '"event": "channel_resolved"' in logs  # the line that named the link
