"""``kill -9`` during dispatch loses no alert: a real dispatcher process killed mid-flight."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.http_server import RecordingServer, Reply, serve
from tests.helpers.outbox import distinct_text, seeded

ROOT = Path(__file__).resolve().parents[2]
ALERTS = 40
KILL_AFTER = (0, 5, 13, 22)  # requests received when each run is killed (0: at start-up)

pytestmark = pytest.mark.slow


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    """A recording HTTP server whose every answer takes a little while."""
    with serve() as server:
        server.script(*[Reply(200, stall=0.05)] * (ALERTS * 3))
        yield server


def start(database_url: str, webhook_url: str) -> subprocess.Popen[bytes]:
    """Start a dispatcher process."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.dispatch_runner", database_url, webhook_url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_requests(server: RecordingServer, count: int, deadline: float = 30) -> None:
    """Wait, off the event loop, until ``count`` requests have arrived."""
    await asyncio.to_thread(server.wait_until, lambda rs: len(rs) >= count, deadline)


async def test_kill_9_during_dispatch_loses_nothing(
    database_url: str, http_server: RecordingServer
) -> None:
    """Killed by SIGKILL four times mid-dispatch, every alert arrives; repeats only in flight."""
    async with seeded(database_url) as seeder:
        for i in range(ALERTS):
            await seeder.flag(["hook"], text=distinct_text(i), message_id=i + 1)
        hook = f"{http_server.url}/hook"
        for count in KILL_AFTER:
            process = start(database_url, hook)
            if count:
                await wait_requests(http_server, count)
            process.kill()
            process.wait(timeout=10)
        process = start(database_url, hook)
        try:
            await asyncio.to_thread(
                http_server.wait_until,
                lambda rs: len({json.loads(r.body)["alert_id"] for r in rs}) == ALERTS,
                60,
            )
            rows = await seeder.rows()
            async with asyncio.timeout(10):  # the last commit may trail its POST a little
                while any(row.state != "sent" for row in rows):
                    await asyncio.sleep(0.05)
                    rows = await seeder.rows()
        finally:
            process.kill()
            process.wait(timeout=10)
    received = Counter(json.loads(r.body)["alert_id"] for r in http_server.requests)
    assert set(received) == {row.id for row in rows}
    repeats = sum(n - 1 for n in received.values())
    assert repeats <= len(KILL_AFTER) - 1, received
    assert all(row.state == "sent" for row in rows)
    assert len(http_server.requests) == ALERTS + repeats
