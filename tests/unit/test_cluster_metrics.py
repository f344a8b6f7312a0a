"""``/metrics`` carries the per-instance cluster figures (and nothing of them outside one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from monitor.metrics import Snapshot, SnapshotCollector


def exposition(snapshot: Snapshot) -> str:
    """Render ``snapshot`` as Prometheus text, as the endpoint serves it."""
    collector = SnapshotCollector()
    collector.snapshot = snapshot
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def test_cluster_figures_per_instance() -> None:
    """Channels held and heartbeat age per instance, and the channels nobody holds."""
    text = exposition(
        Snapshot(
            cluster_held={"alice@host-a#1": 12, "bob@host-b#2": 18},
            cluster_heartbeat_age={"alice@host-a#1": 3, "bob@host-b#2": 41},
            cluster_unheld=2,
        )
    )
    assert 'monitor_cluster_channels_held{instance="alice@host-a#1"} 12.0' in text
    assert 'monitor_cluster_heartbeat_age_seconds{instance="bob@host-b#2"} 41.0' in text
    assert "monitor_cluster_channels_unheld 2.0" in text


def test_no_cluster_figures_for_a_single_instance() -> None:
    """On SQLite (no cluster) none of the cluster families appear."""
    assert "monitor_cluster" not in exposition(Snapshot())
