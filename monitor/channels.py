"""Channel care: resolve each reference once, join, poll, and turn failures into channel state.

``ChannelWatcher`` owns what happens to a channel between cycles: a reference is resolved at
most once (under the resolve budget, never in the polling loop), public channels are joined
(under the join budget) so live updates arrive, and each poll runs ``run_cycle`` with every
failure recorded on the channel rather than raised: a private or deleted channel gets a status,
a log line and one operational alert, a flood wait pauses that kind of call for all channels
and is persisted, a dropped connection or database outage waits for the next interval. Cycles
that fail ``FAILING_AFTER`` times in a row make the channel ``failing`` (its status, a metric
and one operational alert) until a cycle succeeds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from monitor.config import ChannelSettings, Config
from monitor.errors import ConfigError, SessionError, TelegramError
from monitor.logs import bind_context, clear_context, get_logger
from monitor.models import Channel, storable_text
from monitor.pipeline import CycleReport, Stages, run_cycle
from monitor.recheck import Rechecker
from monitor.storage.repository import Repository
from monitor.telegram.refs import parse_ref
from monitor.telegram.source import ChannelUnavailable, FloodWait, TelegramSource

log = get_logger("monitor.channels")

JOIN_LIMIT = 500
JOIN_WARNING = 450
# A channel found private, deleted or banned is tried again this often, in case it recovered.
RETRY_UNAVAILABLE = timedelta(hours=1)
# After this many failed cycles in a row a channel is `failing`: status, metric, one notice.
FAILING_AFTER = 3


@dataclass
class Counters:
    """Totals since start, for metrics and the final log line."""

    cycles: int = 0
    failures: int = 0
    flood_waits: int = 0
    flood_wait_seconds: int = 0
    missed_by_live: int = 0
    posts: int = 0
    flagged: int = 0
    alerts: int = 0
    failed_posts: int = 0
    per_channel: dict[int, CycleReport] = field(default_factory=dict)
    # Cycles failed in a row, by channel row id (0 again after a cycle that succeeds).
    failing: dict[int, int] = field(default_factory=dict)


class ChannelWatcher:
    """Resolves, joins and polls the configured channels of one account."""

    def __init__(
        self,
        config: Config,
        repository: Repository,
        source: TelegramSource,
        stages: Stages,
        *,
        on_fatal: Callable[[BaseException], None] = lambda _error: None,
    ) -> None:
        self.config = config
        self.repository = repository
        self.source = source
        self.stages = stages
        self.on_fatal = on_fatal
        self.counters = Counters()
        self.settings: dict[str, ChannelSettings] = {c.ref: c for c in config.channels}
        self.by_telegram_id: dict[int, Channel] = {}
        self.on_resolved: Callable[[Channel], Awaitable[None]] | None = None
        scheduler = config.scheduler
        self.rechecker = Rechecker(
            source,
            repository,
            stages,
            window=timedelta(seconds=scheduler.recheck_window),
            interval=timedelta(seconds=scheduler.recheck_interval),
        )

    def enabled_refs(self) -> list[str]:
        """Return the references of every enabled channel, validating their form.

        Raises:
            ConfigError: a reference has no recognisable form.
        """
        problems = []
        for index, channel in enumerate(self.config.channels):
            try:
                parse_ref(channel.ref)
            except ConfigError as error:
                problems.append(f"{self.config.source}: channels[{index}].ref: {error}")
        if problems:
            raise ConfigError(problems)
        return [c.ref for c in self.config.channels if c.enabled]

    async def load(self) -> list[Channel]:
        """Create rows for configured channels; return the enabled ones, cached by id."""
        channels = await self.repository.sync_channels(self.enabled_refs())
        for channel in channels:
            self.remember(channel)
        return channels

    def remember(self, channel: Channel) -> None:
        """Cache a resolved channel so live updates can find it by Telegram id."""
        if channel.telegram_id is not None:
            self.by_telegram_id[channel.telegram_id] = channel

    def wants_join(self, channel: Channel) -> bool:
        """Tell whether the channel should be joined for live updates."""
        setting = self.settings.get(channel.ref)
        join = setting.join if setting and setting.join is not None else self.config.scheduler.join
        return join and not channel.joined and channel.resolved

    # Resolve and join ---------------------------------------------------------------------

    async def resolve_pending(self, channels: Sequence[Channel]) -> list[Channel]:
        """Resolve the channels that were never resolved; return those now usable."""
        usable = []
        for channel in channels:
            if channel.resolved:
                usable.append(channel)
                continue
            resolved = await self.resolve(channel)
            if resolved is not None:
                usable.append(resolved)
        return usable

    async def resolve(self, channel: Channel, *, ref: str | None = None) -> Channel | None:
        """Resolve one channel (by ``ref``, default its own) under the resolve budget.

        Returns None when it failed; the failure is recorded on the channel.
        """
        try:
            found = await self.source.resolve(parse_ref(ref or channel.ref))
        except FloodWait as wait:
            await self._flood_wait(channel, wait)
            return None
        except ChannelUnavailable as problem:
            await self._unavailable(channel, problem)
            return None
        except TelegramError as error:
            log.warning("channel_resolve_failed", channel=channel.ref, error=str(error))
            return None
        if channel.telegram_id is not None and found.telegram_id != channel.telegram_id:
            await self._unavailable(channel, _renamed(channel, found.telegram_id))
            return None
        stored = await self.repository.save_resolution(
            channel.id,
            telegram_id=found.telegram_id,
            access_hash=found.access_hash,
            username=found.username,
            title=found.title,
            joined=found.joined,
        )
        self.remember(stored)
        log.info("channel_resolved", channel=channel.ref, telegram_id=found.telegram_id)
        if self.on_resolved is not None:
            await self.on_resolved(stored)
        return stored

    async def join(self, channel: Channel) -> Channel:
        """Join a channel under the join budget, warning before the account's limit."""
        joined = sum(1 for c in self.by_telegram_id.values() if c.joined)
        if joined >= JOIN_LIMIT:
            log.error("channel_join_limit", channel=channel.label, joined=joined, limit=JOIN_LIMIT)
            return channel
        if joined >= JOIN_WARNING:
            log.warning(
                "channel_join_limit_near", joined=joined, limit=JOIN_LIMIT, channel=channel.label
            )
        try:
            await self.source.join(channel)
        except FloodWait as wait:
            await self._flood_wait(channel, wait)
            return channel
        except (ChannelUnavailable, TelegramError) as error:
            log.warning("channel_join_failed", channel=channel.label, error=str(error))
            return channel
        await self.repository.set_joined(channel.id)
        updated = await self.repository.channel(channel.id)
        self.remember(updated)
        log.info("channel_joined", channel=channel.label)
        return updated

    # Poll ---------------------------------------------------------------------------------

    async def poll(self, channel_id: int) -> CycleReport | None:
        """Run one cycle of a channel; every failure becomes channel state, never a crash."""
        bind_context(channel_id=channel_id)
        try:
            channel = await self.repository.channel(channel_id)
            if not channel.resolved:
                found = await self.resolve_reset(channel)
                if found is None:
                    return None
                channel = found
            if self._resting(channel):
                return None
            if self.source.governor.paused_for("history") > 0:
                return None
            return await self._poll(channel)
        except SQLAlchemyError as error:
            await self._failed(channel_id, "database", _first_line(error))
            return None
        except Exception as error:  # one channel's cycle is the unit of failure
            log.exception("cycle_crashed", channel_id=channel_id)
            await self._failed(channel_id, "bug", _first_line(error))
            return None
        finally:
            clear_context("channel_id")

    async def _poll(self, channel: Channel, *, refreshed: bool = False) -> CycleReport | None:
        report: CycleReport | None = None
        try:
            report = await run_cycle(channel, self.stages)
            await self._record(channel, report)
            await self._recheck(channel, report)
        except FloodWait as wait:
            await self._flood_wait(channel, wait)
        except ChannelUnavailable as problem:
            if problem.stale_hash and not refreshed:
                fresh = await self.refresh(channel)
                if fresh is not None:
                    return await self._poll(fresh, refreshed=True)
            await self._unavailable(channel, problem)
        except SessionError as error:
            self.on_fatal(error)
        except TelegramError as error:
            await self._failed(channel.id, "telegram", str(error), channel.label)
        return report

    async def _failed(
        self, channel_id: int, reason: str, error: str, label: str | None = None
    ) -> None:
        """Count a failed cycle; the FAILING_AFTER-th in a row makes the channel `failing`.

        One log line per failure: when the database is what fails, the failure cannot be
        recorded there and is counted in memory only (``recorded=False``).
        """
        self.counters.failures += 1
        in_a_row, announce, recorded = self.counters.failing.get(channel_id, 0) + 1, False, True
        try:
            in_a_row, announce = await self.repository.record_failure(
                channel_id, error, failing_after=FAILING_AFTER
            )
        except SQLAlchemyError:
            recorded = False
        self.counters.failing[channel_id] = in_a_row
        log.warning(
            "cycle_failed",
            channel=label,
            reason=reason,
            error=error,
            in_a_row=in_a_row,
            recorded=recorded,
            retry="at the channel's next poll",
        )
        if announce:
            # Lost only if the database fails between two statements; status and metric stay.
            with contextlib.suppress(SQLAlchemyError):
                await self._announce_failing(channel_id, in_a_row, error)

    async def _announce_failing(self, channel_id: int, in_a_row: int, error: str) -> None:
        channel = await self.repository.channel(channel_id)
        log.error("channel_failing", channel=channel.label, in_a_row=in_a_row, error=error)
        text = storable_text(
            f"Channel {channel.label} is failing: {in_a_row} cycles in a row failed "
            f"(last error: {error}). Its posts are not being read; see `monitor channels`."
        )
        sinks = [sink.name for sink in self.config.alerts if sink.enabled]
        created = await self.repository.add_operational_alert(
            sinks, text, key=f"channel:{channel_id}:failing"
        )
        if created:
            self.stages.on_alerts(created)

    def count_live(self, channel: Channel, report: CycleReport) -> None:
        """Add what live updates stored to the totals (each post and flag counted once)."""
        self._add(channel, report)

    async def _record(self, channel: Channel, report: CycleReport) -> None:
        self._count(channel, report)
        if report.missed_by_live:  # kept for `monitor channels`, beyond this process's metrics
            await self.repository.add_missed_by_live(channel.id, report.missed_by_live)

    async def _recheck(self, channel: Channel, report: CycleReport) -> None:
        """Re-read the channel's recent window when it is due (edits, deletions)."""
        cursor = max(channel.cursor, report.cursor)
        if self.stages.stopping() or not self.rechecker.due(channel, cursor):
            return
        found = await self.rechecker.run(channel, cursor)
        self.counters.flagged += found.flagged
        self.counters.alerts += found.alerts + found.notices

    async def refresh(self, channel: Channel) -> Channel | None:
        """Resolve a channel again after Telegram rejected its stored access hash.

        Access hashes belong to the account that received them; after the monitoring account
        is replaced every stored one is stale. The username (else the reference) is resolved
        again under the resolve budget; None when that failed too.
        """
        log.warning("channel_hash_rejected", channel=channel.label, action="resolving again")
        ref = f"@{channel.username}" if channel.username else channel.ref
        fresh = await self.resolve(channel, ref=ref)
        if fresh is not None:
            log.info("channel_hash_refreshed", channel=fresh.label)
        return fresh

    async def resolve_reset(self, channel: Channel) -> Channel | None:
        """Resolve a channel that ``monitor channels reset`` sent back to pending.

        As for every resolution, ``on_resolved`` (the daemon) joins it again if it should.
        """
        if channel.status != "pending" or self.source.governor.paused_for("resolve") > 0:
            return None
        return await self.resolve(channel)

    def _resting(self, channel: Channel) -> bool:
        """Tell whether an unavailable channel should not be polled yet."""
        if channel.status in ("active", "failing", "pending"):
            return False
        polled = channel.last_polled_at
        return polled is not None and datetime.now(UTC) - polled < RETRY_UNAVAILABLE

    def _count(self, channel: Channel, report: CycleReport) -> None:
        self.counters.cycles += 1
        self.counters.failing[channel.id] = 0
        self._add(channel, report)

    def _add(self, channel: Channel, report: CycleReport) -> None:
        counters = self.counters
        counters.posts += report.new
        counters.flagged += report.flagged
        counters.alerts += report.alerts
        counters.missed_by_live += report.missed_by_live
        counters.failed_posts += report.failed_posts
        total = counters.per_channel.setdefault(channel.id, CycleReport())
        total.new += report.new
        total.flagged += report.flagged
        total.missed_by_live += report.missed_by_live
        total.failed_posts += report.failed_posts

    async def _flood_wait(self, channel: Channel, wait: FloodWait) -> None:
        until = datetime.now(UTC) + timedelta(seconds=wait.seconds)
        self.counters.flood_waits += 1
        self.counters.flood_wait_seconds += wait.seconds
        await self.repository.record_flood_wait(wait.kind, until, wait.seconds)
        await self.repository.set_channel_flood_wait(channel.id, until)
        log.warning(
            "flood_wait", kind=wait.kind, seconds=wait.seconds, channel=channel.label, until=until
        )

    async def _unavailable(self, channel: Channel, problem: ChannelUnavailable) -> None:
        error = str(problem)
        announce = await self.repository.set_status(channel.id, problem.status, error)
        log.error("channel_unavailable", channel=channel.label, status=problem.status, error=error)
        if announce:
            text = f"Channel {channel.label} is {problem.status.replace('_', ' ')}: {error}"
            sinks = [sink.name for sink in self.config.alerts if sink.enabled]
            created = await self.repository.add_operational_alert(
                sinks, text, key=f"channel:{channel.id}:{problem.status}"
            )
            if created:
                self.stages.on_alerts(created)


def _renamed(channel: Channel, telegram_id: int) -> ChannelUnavailable:
    return ChannelUnavailable(
        "not_found",
        f"{channel.ref} now names another channel (id {telegram_id}, was "
        f"{channel.telegram_id}); add it as a new channel entry",
    )


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    return lines[0][:300]
