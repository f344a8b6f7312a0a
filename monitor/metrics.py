"""Prometheus metrics and ``/healthz`` over HTTP, from a snapshot the daemon refreshes.

The daemon refreshes a ``Snapshot`` on its heartbeat (counters it keeps, outbox depth and
channel ages from the database); a custom collector turns the latest snapshot into metric
families at scrape time, so scraping never touches the database or the event loop. The HTTP
server runs in a thread; it serves ``/metrics`` and ``/healthz`` (200 while the scheduler runs
and the heartbeat is fresh, 503 otherwise).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


@dataclass
class ChannelFigures:
    """One channel's counters and ages."""

    fetched: int = 0
    flagged: int = 0
    missed_by_live: int = 0
    last_post_age: float | None = None
    poll_lag: float | None = None
    post_errors: int = 0
    failed_cycles: int = 0
    failing: bool = False


@dataclass
class Snapshot:
    """Everything ``/metrics`` reports, as of ``taken`` (monotonic seconds)."""

    channels: dict[str, ChannelFigures] = field(default_factory=dict)
    alerts_sent: dict[str, int] = field(default_factory=dict)
    alerts_failed: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    flood_wait_seconds: int = 0
    flood_waits: int = 0
    cycles: int = 0
    cycle_failures: int = 0
    # Several instances (PostgreSQL): channels each instance holds and its heartbeat's age,
    # by ``account@host#id``, and the enabled channels no instance holds.
    cluster_held: dict[str, int] = field(default_factory=dict)
    cluster_heartbeat_age: dict[str, int] = field(default_factory=dict)
    cluster_unheld: int | None = None
    taken: float = field(default_factory=time.monotonic)


class SnapshotCollector(Collector):
    """Exposes the latest snapshot as Prometheus metric families."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Any]:
        """Yield every metric family from the current snapshot."""
        snap = self.snapshot
        yield from self._channel_families(snap)
        yield _labelled(
            CounterMetricFamily, "monitor_alerts_sent", "Alerts delivered", "sink", snap.alerts_sent
        )
        yield _labelled(
            CounterMetricFamily,
            "monitor_alerts_failed",
            "Alert deliveries given up",
            "sink",
            snap.alerts_failed,
        )
        yield _labelled(
            GaugeMetricFamily,
            "monitor_outbox_depth",
            "Alert outbox rows by state",
            "state",
            snap.outbox,
        )
        yield CounterMetricFamily(
            "monitor_flood_wait_seconds",
            "Seconds of flood wait Telegram imposed",
            value=snap.flood_wait_seconds,
        )
        yield CounterMetricFamily(
            "monitor_flood_waits", "Flood waits received", value=snap.flood_waits
        )
        yield CounterMetricFamily("monitor_cycles", "Channel cycles run", value=snap.cycles)
        yield CounterMetricFamily(
            "monitor_cycle_failures", "Channel cycles that failed", value=snap.cycle_failures
        )
        yield from self._cluster_families(snap)

    @staticmethod
    def _cluster_families(snap: Snapshot) -> Iterator[Any]:
        if snap.cluster_unheld is None:
            return
        yield _labelled(
            GaugeMetricFamily,
            "monitor_cluster_channels_held",
            "Channels each instance holds the lease of",
            "instance",
            snap.cluster_held,
        )
        yield _labelled(
            GaugeMetricFamily,
            "monitor_cluster_heartbeat_age_seconds",
            "Seconds since each instance last renewed its leases",
            "instance",
            snap.cluster_heartbeat_age,
        )
        yield GaugeMetricFamily(
            "monitor_cluster_channels_unheld",
            "Enabled channels no instance holds",
            value=snap.cluster_unheld,
        )

    @staticmethod
    def _channel_families(snap: Snapshot) -> Iterator[Any]:
        fetched = CounterMetricFamily(
            "monitor_posts_fetched", "Posts fetched and stored", labels=["channel"]
        )
        flagged = CounterMetricFamily(
            "monitor_posts_flagged", "Posts flagged by the rules", labels=["channel"]
        )
        missed = CounterMetricFamily(
            "monitor_live_missed_posts",
            "Posts the sweep found that live updates missed",
            labels=["channel"],
        )
        age = GaugeMetricFamily(
            "monitor_channel_last_post_age_seconds", "Age of the newest post", labels=["channel"]
        )
        lag = GaugeMetricFamily(
            "monitor_channel_poll_lag_seconds", "Seconds since the last poll", labels=["channel"]
        )
        for name, figures in sorted(snap.channels.items()):
            fetched.add_metric([name], figures.fetched)
            flagged.add_metric([name], figures.flagged)
            missed.add_metric([name], figures.missed_by_live)
            if figures.last_post_age is not None:
                age.add_metric([name], figures.last_post_age)
            if figures.poll_lag is not None:
                lag.add_metric([name], figures.poll_lag)
        yield from (fetched, flagged, missed, age, lag)
        yield from SnapshotCollector._health_families(snap)

    @staticmethod
    def _health_families(snap: Snapshot) -> Iterator[Any]:
        failed = GaugeMetricFamily(
            "monitor_channel_post_errors",
            "Posts that could not be stored (recorded in post_errors; the channel moved on)",
            labels=["channel"],
        )
        in_a_row = GaugeMetricFamily(
            "monitor_channel_failed_cycles",
            "Cycles failed in a row (0 after a cycle that succeeds)",
            labels=["channel"],
        )
        failing = GaugeMetricFamily(
            "monitor_channel_failing",
            "1 while the channel's cycles keep failing (status `failing`)",
            labels=["channel"],
        )
        for name, figures in sorted(snap.channels.items()):
            failed.add_metric([name], figures.post_errors)
            in_a_row.add_metric([name], figures.failed_cycles)
            failing.add_metric([name], int(figures.failing))
        yield from (failed, in_a_row, failing)


def _labelled(kind: Any, name: str, documentation: str, label: str, values: dict[str, int]) -> Any:
    family = kind(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line."""


@dataclass
class MetricsServer:
    """The HTTP endpoint: ``/metrics`` from the collector, ``/healthz`` from ``healthy``."""

    host: str
    port: int
    collector: SnapshotCollector
    healthy: Callable[[], bool]
    _server: Any = None
    _thread: threading.Thread | None = None

    def start(self) -> int:
        """Start serving in a thread; return the port (useful with port 0)."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self.collector)
        metrics_app = make_wsgi_app(registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            if environ.get("PATH_INFO") == "/healthz":
                ok = self.healthy()
                start_response(
                    "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")]
                )
                return [b"ok\n" if ok else b"unhealthy\n"]
            result: list[bytes] = metrics_app(environ, start_response)
            return result

        self._server = make_server(self.host, self.port, app, _Server, _QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics", daemon=True
        )
        self._thread.start()
        return int(self._server.server_port)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def parse_listen(listen: str) -> tuple[str, int]:
    """Split ``host:port`` (``[::1]:9108`` for IPv6)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)
