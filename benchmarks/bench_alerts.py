"""Alert delivery benchmark: alerts/s and latency from commit to webhook receipt.

Run from the repository root::

    .venv/bin/python benchmarks/bench_alerts.py [--alerts 500] [--rate 100] [--database URL]

Two phases against a real local HTTP server and a real database (a temporary SQLite file
unless ``--database`` names another):

* *backlog*: ``--alerts`` alerts are committed first, then one dispatcher drains them:
  throughput in alerts/s;
* *live*: the dispatcher runs while alerts are committed one by one at ``--rate`` per second,
  each commit waking it as the pipeline does: latency from the commit returning to the
  webhook request arriving (p50, p99, max).

It also prints the duplicate window (from the sink's acceptance to our commit) the
dispatcher measured on every send.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.alerts.dispatch import Dispatcher
from monitor.alerts.webhook import WebhookSink
from monitor.config import DeliverySettings, WebhookSinkSettings
from monitor.logs import configure_logging
from tests.helpers.http_server import RecordingServer, serve
from tests.helpers.outbox import Seeder, distinct_text, seeded


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def make_dispatcher(seeder: Seeder, server: RecordingServer) -> Dispatcher:
    """Return a dispatcher with one signed webhook sink on the local server."""
    url = f"{server.url}/hook"
    settings = WebhookSinkSettings(kind="webhook", name="hook", url=url, secret="k")  # noqa: S106
    sinks = {"hook": WebhookSink(settings)}
    return Dispatcher(seeder.outbox, sinks, DeliverySettings())


async def backlog(seeder: Seeder, server: RecordingServer, count: int) -> tuple[float, list[float]]:
    """Commit ``count`` alerts, then time one drain; return (alerts/s, duplicate windows)."""
    for i in range(count):
        await seeder.flag(["hook"], text=distinct_text(i), message_id=i + 1)
    dispatcher = make_dispatcher(seeder, server)
    started = time.perf_counter()
    stats = await dispatcher.drain()
    elapsed = time.perf_counter() - started
    return stats.sent / elapsed, stats.windows


async def live(
    seeder: Seeder, server: RecordingServer, count: int, rate: float, offset: int
) -> list[float]:
    """Commit ``count`` alerts at ``rate``/s with the dispatcher running; return latencies."""
    dispatcher = make_dispatcher(seeder, server)
    stop, wake = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop, wake))
    committed: dict[int, float] = {}
    before = len(server.requests)
    for i in range(count):
        message_id = offset + i + 1
        await seeder.flag(["hook"], text=distinct_text(message_id), message_id=message_id)
        committed[message_id] = time.time()
        wake.set()
        await asyncio.sleep(1 / rate)
    await asyncio.to_thread(server.wait_for, before + count, 60)
    stop.set()
    await running
    latencies = []
    for request in server.requests[before:]:
        message_id = json.loads(request.body)["post"]["message_id"]
        latencies.append(request.received_at - committed[message_id])
    return latencies


def report_ms(label: str, values: list[float]) -> None:
    """Print p50, p99 and max of ``values`` (seconds) in milliseconds."""
    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
    print(f"{label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(values) * 1000:.1f} ms")


async def main(args: argparse.Namespace) -> None:
    """Run both phases and print the figures."""
    configure_logging("warning", "console")
    with tempfile.TemporaryDirectory() as folder, serve() as server:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.db'}"
        async with seeded(url) as seeder:
            throughput, windows = await backlog(seeder, server, args.alerts)
            latencies = await live(seeder, server, args.live, args.rate, offset=args.alerts)
    database = url.split(":", 1)[0]
    print(f"database: {database}; webhook: local HTTP server on 127.0.0.1, signed")
    print(f"backlog: {args.alerts} alerts drained at {throughput:.0f} alerts/s")
    report_ms(f"live ({args.live} alerts at {args.rate:g}/s), commit -> webhook receipt", latencies)
    report_ms("duplicate window (sink accepted -> our commit)", windows)
    print(f"mean duplicate window {statistics.fmean(windows) * 1000:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=500, help="alerts in the backlog phase")
    parser.add_argument("--live", type=int, default=200, help="alerts in the live phase")
    parser.add_argument("--rate", type=float, default=50.0, help="live commits per second")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    asyncio.run(main(parser.parse_args()))
