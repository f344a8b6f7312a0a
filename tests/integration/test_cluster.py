"""Several accounts over one PostgreSQL: leases, kill -9 failover, alerts delivered once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.helpers.cluster_world import ClusterWorld, Poster, phone
from tests.helpers.http_server import RecordingServer
from tests.helpers.monitor_world import MonitorWorld, make_world, wait_until
from tests.helpers.processes import finish, monitor, spawn

pytestmark = pytest.mark.telegram

LEASE = 3  # seconds: takeover is due within two lease periods
CHANNELS = 6


@pytest.fixture
def receiver() -> Iterator[RecordingServer]:
    """A webhook receiver on 127.0.0.1."""
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture
async def cluster(
    tmp_path: Path, postgres_url: str, receiver: RecordingServer
) -> AsyncIterator[ClusterWorld]:
    """Two accounts on the test server sharing one PostgreSQL database."""
    world = await make_world(tmp_path, postgres_url)
    created = ClusterWorld(world, receiver, ["alice", "bob"])
    try:
        yield created
    finally:
        created.stop_all()
        await world.server.stop()


async def takeover_seconds(cluster: ClusterWorld, dead: str) -> float:
    """Seconds, on the database's clock, from the dead instance's last sign of life (its
    stop, else its last heartbeat) to the last of its channels being claimed by another."""
    value = await cluster.world.scalar(
        "select extract(epoch from max(l.acquired_at) - coalesce(d.stopped_at, d.heartbeat_at))"
        f" from channel_leases l, instances d where d.account = '{dead}'"
        " and l.holder_id <> d.id group by d.stopped_at, d.heartbeat_at"
        " order by d.heartbeat_at desc limit 1"
    )
    return float(value)


async def two_sharing(cluster: ClusterWorld, prefix: str) -> Poster:
    """Alice and Bob share six channels with a backlog; return their poster."""
    world = cluster.world
    channels = [
        world.server.add_channel(username=f"{prefix}_{i}", title=f"{prefix} {i}")
        for i in range(CHANNELS)
    ]
    poster = Poster(world, channels)
    for _ in range(CHANNELS * 2):
        await poster.post()
    cluster.write_config([f"@{c.username}" for c in channels], LEASE, interval=5, backfill=50)
    await cluster.login_all()
    cluster.start("alice")
    cluster.start("bob")
    await wait_until(lambda: _shared(cluster), within=60)
    return poster


async def each_post_once(cluster: ClusterWorld, poster: Poster) -> None:
    """Every post published is stored once, and every flagged one alerted once."""
    await wait_until(lambda: _all_stored(cluster, poster), within=90)
    stored = await cluster.stored()
    assert set(stored) == poster.published, "no post lost, none invented"
    assert max(stored.values()) == 1, "no post stored twice"
    await wait_until(lambda: _all_alerted(cluster, poster), within=90)
    keys, alerted = cluster.deliveries()
    assert alerted == poster.flagged, "every flagged post alerted"
    assert max(keys.values()) == 1, "no alert delivered twice"
    assert len(keys) == len(poster.flagged)


@pytest.mark.postgres
async def test_kill_9_moves_channels_and_loses_nothing(cluster: ClusterWorld) -> None:
    """Two instances share six channels; one is killed mid-run: the other takes its channels
    within two lease periods, every post is stored once and every alert delivered once; the
    killed one comes back and the channels are shared again."""
    world = cluster.world
    poster = await two_sharing(cluster, "fleet")
    stop_posting = asyncio.Event()
    posting = asyncio.create_task(poster.run(stop_posting, every=0.1))
    await wait_until(lambda: _stored_some_live(cluster, poster), within=60)
    cluster.kill("alice")
    await wait_until(lambda: _all_held_by(cluster, "bob"), within=60)
    took = await takeover_seconds(cluster, "alice")
    assert took <= 2 * LEASE, f"takeover took {took:.1f} s, lease {LEASE} s"

    listing = await monitor(world, "cluster")
    assert listing.code == 0, listing.stdout + listing.stderr
    assert "bob" in listing.stdout
    assert "dead" in listing.stdout
    assert "Every enabled channel is held by an instance." in listing.stdout

    cluster.start("alice")  # back: channels are shared again, a few at a time
    await wait_until(lambda: _shared(cluster), within=60)
    stop_posting.set()
    await posting
    await each_post_once(cluster, poster)

    for account, process in list(cluster.processes.items()):
        process.send_signal(signal.SIGTERM)
        assert (await finish(process, within=20)).code == 0, account
    cluster.processes.clear()
    assert await cluster.held() == {}, "a clean stop releases every lease"


@pytest.mark.postgres
async def test_revoked_session_moves_channels_and_loses_nothing(cluster: ClusterWorld) -> None:
    """One account's sessions are revoked mid-run (as "Terminate all sessions" or a ban
    does): its instance exits in one line saying to log in again, the other account takes
    its channels within two lease periods, and every post is stored and alerted once."""
    world = cluster.world
    poster = await two_sharing(cluster, "rev")
    stop_posting = asyncio.Event()
    posting = asyncio.create_task(poster.run(stop_posting, every=0.1))
    await wait_until(lambda: _stored_some_live(cluster, poster), within=60)
    alice = world.server.state.user_by_phone(phone(0))
    assert alice is not None
    assert world.server.revoke_sessions(alice) >= 1
    exited = await finish(cluster.processes.pop("alice"), within=60)
    assert exited.code != 0
    assert "monitor login" in exited.stderr
    assert "Traceback" not in exited.stderr
    await wait_until(lambda: _all_held_by(cluster, "bob"), within=60)
    took = await takeover_seconds(cluster, "alice")
    assert took <= 2 * LEASE, f"takeover took {took:.1f} s, lease {LEASE} s"

    stop_posting.set()
    await posting
    await each_post_once(cluster, poster)


async def _shared(cluster: ClusterWorld) -> bool:
    held = await cluster.held()
    return len(held) == 2 and sum(held.values()) == CHANNELS and min(held.values()) >= 2


async def _all_held_by(cluster: ClusterWorld, account: str) -> bool:
    return await cluster.held() == {account: CHANNELS}


async def _stored_some_live(cluster: ClusterWorld, poster: Poster) -> bool:
    return len(await cluster.stored()) >= CHANNELS * 2 + 12


async def _all_stored(cluster: ClusterWorld, poster: Poster) -> bool:
    return set(await cluster.stored()) >= poster.published


async def _all_alerted(cluster: ClusterWorld, poster: Poster) -> bool:
    return cluster.deliveries()[1] >= poster.flagged


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_refuses_a_second_instance_even_with_another_account(
    world: MonitorWorld, receiver: RecordingServer
) -> None:
    """One instance per SQLite file: a second account's ``monitor run`` exits 2 in one line
    naming the first one's pid and PostgreSQL; ``monitor cluster`` says PostgreSQL too."""
    cluster = ClusterWorld(world, receiver, ["alice", "bob"])
    world.server.add_channel(username="solo_news", title="Solo")
    cluster.write_config(["@solo_news"], LEASE)
    await cluster.login_all()
    first = cluster.start("alice")
    try:
        await wait_until(
            lambda: world.scalar("select count(*) from channels where last_polled_at is not null"),
            within=30,
        )
        second = await finish(spawn(world, "run", "--session", "bob"), within=20)
        assert second.code == 2
        lines = [line for line in second.stderr.splitlines() if "in use" in line]
        assert len(lines) == 1
        assert f"in use by another monitor process (pid {first.pid})" in lines[0]
        assert "need PostgreSQL" in lines[0]
        assert "Traceback" not in second.stderr
        listing = await monitor(world, "cluster")
        assert listing.code == 2
        assert "several instances need PostgreSQL" in listing.stderr
    finally:
        cluster.stop_all()
