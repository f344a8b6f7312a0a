"""Failover benchmark: what is lost, duplicated and how long a takeover takes (issue 14).

Run from the repository root (PostgreSQL from ``MONITOR_TEST_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``; a throw-away database is created on it)::

    .venv/bin/python benchmarks/bench_failover.py [--channels 30] [--lease 4] [--rate 20]

The project's Telegram test server with 3 accounts and ``--channels`` channels posting
continuously (``--rate`` posts a second, a third of them flagged); 3 real ``monitor run
--session NAME`` processes over one PostgreSQL database and one webhook receiver. Mid-run
one instance is ``kill -9``ed; once its channels have moved, a long flood wait is armed on
history reads, so the next instance to read sits in it (longer than ``max_flood_wait``) and
lets its channels go; then the killed one is started again and takes a share back. Posting
stops, every instance is stopped, and the database and the receiver are compared with what
was published. ``takeover_s`` is from the ``kill -9`` until every channel is held again by a
live instance (polled every 0.1 s). The last line is::

    failover: instances=3 channels=N published=N stored=N lost=N duplicated_posts=N
    alerts_expected=N alerts_delivered=N duplicated_alerts=N takeover_s=X lease_s=X

(on one line). Floors: lost=0, duplicated_posts=0, duplicated_alerts=0, every expected alert
delivered, takeover_s at most two lease periods.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers.cluster_world import ClusterWorld, Poster
from tests.helpers.http_server import RecordingServer
from tests.helpers.monitor_world import make_world, wait_until
from tests.helpers.postgres import create_database, drop_database, server_available
from tests.helpers.processes import finish

POSTGRES_URL = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
ACCOUNTS = ["alpha", "bravo", "charlie"]
# The test server is not Telegram: generous budgets, so that polling keeps up with posting.
SCHEDULER = {
    "interval": 5,
    "backfill": 100,
    "history_requests_per_minute": 600,
    "joins_per_hour": 600,
    "resolves_per_hour": 600,
}


async def all_held(cluster: ClusterWorld, channels: int, without: str | None = None) -> bool:
    """Whether every channel is held by a live instance other than ``without``."""
    held = await cluster.held()
    return sum(n for account, n in held.items() if account != without) == channels


async def scenario(cluster: ClusterWorld, args: argparse.Namespace) -> dict[str, float]:
    """Run the scenario; return the figures of the last line."""
    world = cluster.world
    names = [f"bench_{i}" for i in range(args.channels)]
    channels = [world.server.add_channel(username=name, title=name) for name in names]
    poster = Poster(world, channels)
    for _ in range(args.channels):
        await poster.post()
    extra = "max_flood_wait = 5\nrebalance_step = 3\n"
    cluster.write_config([f"@{n}" for n in names], args.lease, extra, **SCHEDULER)
    await cluster.login_all()
    for account in ACCOUNTS:
        cluster.start(account)
    await wait_until(lambda: _spread(cluster, args.channels), within=120)
    print(f"started: {await cluster.held()}", flush=True)

    stop = asyncio.Event()
    posting = asyncio.create_task(poster.run(stop, every=1.0 / args.rate))
    await asyncio.sleep(args.phase)
    cluster.kill(ACCOUNTS[0])
    killed_at = time.monotonic()
    await wait_until(lambda: all_held(cluster, args.channels, ACCOUNTS[0]), within=60, interval=0.1)
    takeover = time.monotonic() - killed_at
    print(f"kill -9 {ACCOUNTS[0]}: taken over in {takeover:.2f} s: {await cluster.held()}")

    world.server.faults.flood_wait("messages.getHistory", seconds=600, count=1)
    await wait_until(lambda: _benched(cluster, args.channels), within=60, interval=0.1)
    print(f"flood wait: {await cluster.held()}", flush=True)
    await asyncio.sleep(args.phase)
    cluster.start(ACCOUNTS[0])
    await wait_until(lambda: _back(cluster), within=120)
    print(f"{ACCOUNTS[0]} back: {await cluster.held()}", flush=True)
    await asyncio.sleep(args.phase)
    stop.set()
    await posting

    try:
        await wait_until(lambda: _stored_all(cluster, poster), within=180, interval=0.5)
    except AssertionError:
        missing = sorted(poster.published - set(await cluster.stored()))
        print(f"not stored ({len(missing)}): {missing[:20]}; held: {await cluster.held()}")
        raise
    await wait_until(lambda: _alerted_all(cluster, poster), within=180, interval=0.5)
    for process in cluster.processes.values():
        process.send_signal(signal.SIGTERM)
    for process in cluster.processes.values():
        await finish(process, within=30)
    cluster.processes.clear()
    return await _figures(cluster, poster, takeover)


async def _spread(cluster: ClusterWorld, channels: int) -> bool:
    held = await cluster.held()
    return len(held) == len(ACCOUNTS) and sum(held.values()) == channels


async def _benched(cluster: ClusterWorld, channels: int) -> bool:
    held = await cluster.held()
    return len(held) == 1 and sum(held.values()) == channels


async def _back(cluster: ClusterWorld) -> bool:
    return (await cluster.held()).get(ACCOUNTS[0], 0) > 0


async def _stored_all(cluster: ClusterWorld, poster: Poster) -> bool:
    return set(await cluster.stored()) >= poster.published


async def _alerted_all(cluster: ClusterWorld, poster: Poster) -> bool:
    return cluster.deliveries()[1] >= poster.flagged


async def _figures(cluster: ClusterWorld, poster: Poster, takeover: float) -> dict[str, float]:
    stored = await cluster.stored()
    keys, alerted = cluster.deliveries()
    return {
        "published": len(poster.published),
        "stored": len(stored),
        "lost": len(poster.published - set(stored)),
        "duplicated_posts": sum(count - 1 for count in stored.values()),
        "alerts_expected": len(poster.flagged),
        "alerts_delivered": len(alerted & poster.flagged),
        "duplicated_alerts": sum(count - 1 for count in keys.values()),
        "takeover_s": takeover,
    }


async def run(folder: Path, url: str, args: argparse.Namespace) -> dict[str, float]:
    """Start the server and the receiver, run the scenario, stop everything."""
    world = await make_world(folder, url)
    receiver = RecordingServer().start()
    cluster = ClusterWorld(world, receiver, ACCOUNTS)
    try:
        return await scenario(cluster, args)
    finally:
        cluster.stop_all()
        receiver.stop()
        await world.server.stop()


def main() -> None:
    """Parse the options, run the benchmark on a throw-away database, print the result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=30)
    parser.add_argument("--lease", type=int, default=4, help="lease_seconds")
    parser.add_argument("--rate", type=float, default=20.0, help="posts per second")
    parser.add_argument("--phase", type=float, default=5.0, help="seconds between events")
    parser.add_argument("--keep", type=Path, help="keep configs and logs in this folder")
    args = parser.parse_args()
    if not server_available(POSTGRES_URL):
        sys.exit(f"PostgreSQL at {POSTGRES_URL} does not answer (MONITOR_TEST_POSTGRES_URL)")
    name = f"monitor_bench_{uuid.uuid4().hex[:12]}"
    url = create_database(POSTGRES_URL, name)
    try:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            figures = asyncio.run(run(args.keep, url, args))
        else:
            with tempfile.TemporaryDirectory() as folder:
                figures = asyncio.run(run(Path(folder), url, args))
    finally:
        drop_database(POSTGRES_URL, name)
    print(
        f"failover: instances={len(ACCOUNTS)} channels={args.channels}"
        f" published={figures['published']} stored={figures['stored']} lost={figures['lost']}"
        f" duplicated_posts={figures['duplicated_posts']}"
        f" alerts_expected={figures['alerts_expected']}"
        f" alerts_delivered={figures['alerts_delivered']}"
        f" duplicated_alerts={figures['duplicated_alerts']}"
        f" takeover_s={figures['takeover_s']:.2f} lease_s={args.lease}"
    )


if __name__ == "__main__":
    main()
