"""What operators watch: the heartbeat, the metrics snapshot and endpoint, the quiet-channel alarm.

``Observer`` is composed by the daemon. On every heartbeat it rewrites the heartbeat file and
refreshes the metrics snapshot from the daemon's counters and the database; after a channel's
cycle (at most every ``quiet_check_interval`` seconds) it checks whether the channel has gone
quiet for much longer than its usual gap and, once per silence, raises an operational alert,
then one all-clear when the channel posts again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.channels import FAILING_AFTER, ChannelWatcher
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.heartbeat import write_heartbeat
from monitor.logs import get_logger
from monitor.metrics import ChannelFigures, MetricsServer, Snapshot, SnapshotCollector, parse_listen
from monitor.models import Channel
from monitor.pipeline import CycleReport
from monitor.quiet import (
    alarm_key,
    all_clear_key,
    back_after,
    describe,
    describe_back,
    quiet_verdict,
)
from monitor.storage.browse import Browser
from monitor.storage.engine import DATABASE_ERRORS, error_line
from monitor.telegram.refs import parse_ref

log = get_logger("monitor.observe")


class Observer:
    """Heartbeat, metrics and the quiet-channel alarm for one running daemon."""

    def __init__(self, config: Config, watcher: ChannelWatcher, dispatcher: Any) -> None:
        self.config = config
        self.watcher = watcher
        self.dispatcher = dispatcher
        self.browser = Browser(watcher.repository.engine)
        self.collector = SnapshotCollector()
        self.server: MetricsServer | None = None
        self.running: Callable[[], bool] = lambda: False
        self.beat_at: float | None = None
        self._quiet_checked: dict[int, float] = {}
        self.leases: Any = None  # a ``Leases`` when several instances share the database

    # Heartbeat and health -----------------------------------------------------------------

    def healthy(self) -> bool:
        """True while the scheduler runs and the last heartbeat is fresh."""
        fresh = self.beat_at is not None and (
            time.monotonic() - self.beat_at < self.config.metrics.heartbeat_max_age
        )
        return fresh and self.running()

    async def beat(self, totals: dict[str, int]) -> None:
        """Write the heartbeat file and refresh the metrics snapshot."""
        write_heartbeat(
            self.config.metrics.heartbeat_file,
            scheduler_running=self.running(),
            channels=len(self.watcher.by_telegram_id),
            **totals,
        )
        self.beat_at = time.monotonic()
        try:
            self.collector.snapshot = await self._snapshot()
        except Exception as error:  # a database hiccup must not stop the heartbeat
            log.warning("metrics_refresh_failed", error=error_line(error), retry="next heartbeat")

    async def _snapshot(self) -> Snapshot:
        now = datetime.now(UTC)
        counters = self.watcher.counters
        channels = {}
        for row in await self.watcher.repository.channel_overview():
            channel = row.channel
            total = counters.per_channel.get(channel.id, CycleReport())
            in_a_row = counters.failing.get(channel.id, 0)
            channels[metric_label(channel)] = ChannelFigures(
                fetched=total.new,
                flagged=total.flagged,
                missed_by_live=total.missed_by_live,
                last_post_age=_age(channel.last_post_at, now),
                poll_lag=_age(channel.last_polled_at, now),
                post_errors=row.post_errors,
                failed_cycles=in_a_row,
                failing=channel.status == "failing" or in_a_row >= FAILING_AFTER,
            )
        outbox = await self.dispatcher.outbox.counts()
        return Snapshot(
            **await self._cluster_figures(),
            channels=channels,
            alerts_sent=_by_sink(outbox, "sent"),
            alerts_failed=_by_sink(outbox, "failed"),
            outbox=_by_state(outbox),
            flood_wait_seconds=counters.flood_wait_seconds,
            flood_waits=counters.flood_waits,
            cycles=counters.cycles,
            cycle_failures=counters.failures,
        )

    async def _cluster_figures(self) -> dict[str, Any]:
        """Per instance figures, as ``monitor cluster`` shows them (PostgreSQL only)."""
        if self.leases is None:
            return {}
        refs = [channel.ref for channel in self.config.channels if channel.enabled]
        lease = float(self.config.cluster.lease_seconds)
        overview = await self.leases.overview(refs, 2 * lease)
        live = [i for i in overview.instances if i.stopped_at is None]
        names = {i.id: f"{i.account}@{i.host}#{i.id}" for i in live}
        return {
            "cluster_held": {names[i.id]: i.held for i in live},
            "cluster_heartbeat_age": {
                names[i.id]: int((overview.now - i.heartbeat_at).total_seconds()) for i in live
            },
            "cluster_unheld": len(overview.unheld),
        }

    # Metrics endpoint ---------------------------------------------------------------------

    def start_server(self) -> int | None:
        """Serve ``/metrics`` and ``/healthz`` when ``[metrics] listen`` is set."""
        listen = self.config.metrics.listen
        if not listen:
            return None
        host, port = parse_listen(listen)
        self.server = MetricsServer(host, port, self.collector, self.healthy)
        bound = self.server.start()
        log.info("metrics_listening", host=host, port=bound)
        return bound

    def stop_server(self) -> None:
        """Stop the endpoint."""
        if self.server is not None:
            self.server.stop()

    # Quiet channels -----------------------------------------------------------------------

    async def check_quiet(self, channel_id: int, report: CycleReport | None) -> bool:
        """Raise one operational alert when a channel has been silent for far too long, and
        one all-clear when it posts again; return whether either was raised.

        Only after a cycle that ran, and at most every ``[scheduler] quiet_check_interval``
        seconds per channel: silence is judged in hours, cycles run every minute.
        """
        scheduler = self.config.scheduler
        if report is None or scheduler.quiet_factor <= 0:
            return False
        checked = self._quiet_checked.get(channel_id)
        every = scheduler.quiet_check_interval
        if checked is not None and time.monotonic() - checked < every:
            return False
        self._quiet_checked[channel_id] = time.monotonic()
        try:
            return await self._check_quiet(channel_id)
        except DATABASE_ERRORS as error:
            log.warning(
                "quiet_check_failed",
                channel_id=channel_id,
                error=error_line(error),
                retry_in_s=every,
            )
            return False

    async def _check_quiet(self, channel_id: int) -> bool:
        scheduler = self.config.scheduler
        channel = await self.watcher.repository.channel(channel_id)
        dates = await self.browser.recent_post_dates(channel.id)
        if await self._all_clear(channel, dates):
            return True
        verdict = quiet_verdict(
            dates,
            datetime.now(UTC),
            factor=scheduler.quiet_factor,
            floor=timedelta(seconds=scheduler.quiet_after),
        )
        if verdict is None:
            return False
        key = alarm_key(channel.id, verdict.last_post)
        if await self.browser.has_alert_key(key):
            return False
        log.warning(
            "channel_quiet", channel=channel.label, silence_s=verdict.silence.total_seconds()
        )
        await self._notify(describe(channel.label, verdict), key)
        return True

    async def _all_clear(self, channel: Channel, dates: list[datetime]) -> bool:
        """Tell the sinks once that a channel they were warned about posts again."""
        alarm = await self.browser.latest_alert_key(f"quiet:{channel.id}:")
        back = None if alarm is None else back_after(alarm, dates)
        if alarm is None or back is None:
            return False
        key = all_clear_key(alarm)
        if await self.browser.has_alert_key(key):
            return False
        log.info("channel_posting_again", channel=channel.label, first_post=back)
        await self._notify(describe_back(channel.label, alarm, back), key)
        return True

    async def _notify(self, text: str, key: str) -> None:
        sinks = [sink.name for sink in self.config.alerts if sink.enabled]
        created = await self.watcher.repository.add_operational_alert(sinks, text, key=key)
        if created:
            self.watcher.stages.on_alerts(created)


def metric_label(channel: Channel) -> str:
    """Return the one ``channel`` label ``/metrics`` gives a channel, never an invite hash.

    The username in lower case without ``@`` when the channel is public, else its numeric
    Telegram id. Before its first resolution: the username or id its reference names, or
    ``invite-<row id>`` for an invite link.
    """
    if channel.username:
        return channel.username.lower()
    if channel.telegram_id is not None:
        return str(channel.telegram_id)
    try:
        ref = parse_ref(channel.ref)
    except ConfigError:
        return f"ref-{channel.id}"
    return f"invite-{channel.id}" if ref.kind == "invite" else ref.value


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max(0.0, (now - moment).total_seconds())


def _by_sink(counts: dict[tuple[str, str], int], state: str) -> dict[str, int]:
    return {sink: n for (sink, row_state), n in counts.items() if row_state == state}


def _by_state(counts: dict[tuple[str, str], int]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for (_, state), n in counts.items():
        totals[state] = totals.get(state, 0) + n
    return totals
