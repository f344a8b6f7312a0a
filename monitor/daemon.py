"""The composition root and lifecycle of ``monitor run``.

Builds every part from the config (repository, rule set, Telegram client and governor, sinks,
schedule), owns the session lock, starts live updates and the schedule, writes the heartbeat,
and stops gracefully on SIGTERM or SIGINT: no new cycles, the open transaction finishes, the
client disconnects, exit 0 within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from monitor.budget import PollDemand, budget_warning, effective_intervals, recheck_rate
from monitor.channels import ChannelWatcher
from monitor.cluster.daemon_part import ClusterPart
from monitor.cluster.identity import account_name
from monitor.cluster.member import ClusterMember, is_cluster_database
from monitor.cluster.single import SingleInstanceLock
from monitor.config import Config
from monitor.errors import SessionError, StorageError
from monitor.logs import bind_context, clear_context, get_logger
from monitor.models import Channel
from monitor.observe import Observer
from monitor.pipeline import Classifier, Stages, ingest_live
from monitor.preflight import Prepared, load_rules, prepare
from monitor.recheck import record_deleted
from monitor.retention import (
    DAEMON_MAX_BATCHES,
    DAEMON_VACUUM_PAGES,
    PRUNE_SECONDS,
    keeps_everything,
    prune,
)
from monitor.scheduler import Schedule
from monitor.storage import migrate
from monitor.storage.engine import DATABASE_ERRORS, error_line
from monitor.storage.repository import Repository
from monitor.telegram.governor import Governor
from monitor.telegram.session import SessionLock, build_client, ensure_authorized
from monitor.telegram.source import LiveFeed, TelegramSource, subscribe, to_post

log = get_logger("monitor.daemon")

HEARTBEAT_SECONDS = 10
REBALANCE_SECONDS = 600
STOP_GRACE_SECONDS = 5

T = TypeVar("T")


async def finish_even_if_cancelled(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if the caller is cancelled meanwhile, then stop.

    A stopping daemon cancels its cycles at once (nothing before a commit is lost: the cursor
    moves only with one), but a commit already under way completes first.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


class DaemonRepository(Repository):
    """The daemon's repository: a batch commit under way survives a stop that cancels it."""

    async def store_batch(self, *args: Any, **kwargs: Any) -> Any:
        """``Repository.store_batch``, run to its end even when the cycle is cancelled."""
        return await finish_even_if_cancelled(super().store_batch(*args, **kwargs))


def build_governor(config: Config) -> Governor:
    """Return the governor with the account's budgets from ``[scheduler]``."""
    scheduler = config.scheduler
    # Bursts: a start-up may resolve and join a handful of channels at once; after that the
    # sustained pace applies (Telegram's 18-hour bans come from sustained resolving).
    return Governor(
        {
            "history": (scheduler.history_requests_per_minute, 5),
            "resolve": (scheduler.resolves_per_hour / 60.0, 10),
            "join": (scheduler.joins_per_hour / 60.0, 5),
        }
    )


def channel_tags(config: Config, channels: list[Channel]) -> dict[int, frozenset[str]]:
    """Map each resolved channel's Telegram id to the tags configured for it."""
    tags = {c.ref: frozenset(c.tags) for c in config.channels}
    return {
        c.telegram_id: tags.get(c.ref, frozenset()) for c in channels if c.telegram_id is not None
    }


def backfill_overrides(config: Config, channels: list[Channel]) -> dict[int, int]:
    """Map channel row ids to their own ``backfill`` setting, where one is given."""
    wanted = {c.ref: c.backfill for c in config.channels if c.backfill is not None}
    return {c.id: wanted[c.ref] for c in channels if c.ref in wanted}


async def prepare_database(url: str) -> None:
    """Create the schema in a new database; refuse one at an older or unknown revision.

    Raises:
        StorageError: the database is behind the code and needs ``monitor db upgrade``, or
            ahead of it (a newer version upgraded it) and this version must not run on it.
    """
    current = await asyncio.to_thread(migrate.current_revision, url)
    head = migrate.head_revision()
    if current is None:
        await asyncio.to_thread(migrate.upgrade, url)
        log.info("database_created", revision=head)
    elif not migrate.knows_revision(current):
        # A rolling upgrade ran `monitor db upgrade` from a newer version: this older code
        # must not write to a schema it does not know.
        raise StorageError(
            f"the database is at {current}, newer than this monitor knows (its newest is "
            f"{head}); install the newer monitor version before starting this instance"
        )
    elif current != head:
        raise StorageError(
            f"the database is at {current}, the code needs {head}; run `monitor db upgrade`"
        )


@dataclass
class Daemon(ClusterPart):
    """One running monitor: its parts and its lifecycle."""

    config: Config
    once: bool = False
    handle_signals: bool = True
    live_grace: timedelta = timedelta(seconds=5)
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    alerts_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    fatal: BaseException | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    running_cycles: set[asyncio.Task[Any]] = field(default_factory=set)
    watcher: ChannelWatcher | None = None
    dispatcher: Any = None
    observer: Observer | None = None
    vacuum_hint_given: bool = False
    feed: LiveFeed = field(default_factory=LiveFeed)
    desk: asyncio.Task[None] | None = None
    member: ClusterMember | None = None  # on PostgreSQL: leases, dispatch lock (issue 14)
    side_tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # Channels held but not yet watched, by when to try taking them over again (monotonic).
    takeovers: dict[int, float] = field(default_factory=dict)

    async def run(self) -> int:
        """Run until stopped (or one sweep with ``once``); return the exit code.

        Raises:
            MonitorError: a problem to show the user (no session, bad rules, database).
        """
        # Every config problem is found here, before the database or Telegram is touched,
        # by the same checks as `monitor check-config`.
        prepared = prepare(self.config)
        telegram = self.config.telegram
        if telegram is None:  # said by prepare(); this tells the type checker
            raise SessionError("no [telegram] section in the config; add api_id and api_hash")
        try:
            await prepare_database(self.config.database.url)
            with (
                SessionLock(telegram, self.config.base_dir),
                SingleInstanceLock(self.config.database.url),
            ):
                return await self._run_locked(prepared)
        finally:
            for sink in prepared.sinks.values():
                with contextlib.suppress(Exception):
                    await sink.aclose()

    async def _run_locked(self, prepared: Prepared) -> int:
        from monitor.alerts.telegram_bot import TelegramBotSink

        repository = DaemonRepository.open(self.config.database.url, echo=self.config.database.echo)
        if is_cluster_database(self.config.database.url):
            # Several accounts may share the database: each sees its own access hashes,
            # memberships and flood waits.
            repository.account = account_name(self.config.telegram)  # type: ignore[arg-type]
        client = self._client()
        if self.config.scheduler.live and not self.once:
            # Before connecting: Telethon replays what was missed while we were down at once.
            subscribe(client, self.feed.posts, self.feed.deleted)
        try:
            await ensure_authorized(client, self.config.telegram)  # type: ignore[arg-type]
            for sink in prepared.sinks.values():
                if isinstance(sink, TelegramBotSink) and sink.settings.as_account:
                    sink.use_client(client)  # one session, one connection
            self.dispatcher = self._dispatcher(repository, prepared.sinks)
            if not self.once:
                listen_for_presses(repository, prepared.sinks)
            return await self._serve(repository, client, prepared.ruleset)
        finally:
            with contextlib.suppress(Exception):
                await client.disconnect()
            await repository.close()

    def _dispatcher(self, repository: Repository, sinks: dict[str, Any]) -> Any:
        from monitor.alerts.dispatch import Dispatcher
        from monitor.storage.outbox import Outbox

        return Dispatcher(Outbox(repository.engine), sinks, self.config.delivery)

    def _client(self) -> Any:
        if self.config.telegram is None:
            raise SessionError("no [telegram] section in the config; add api_id and api_hash")
        live = self.config.scheduler.live and not self.once
        return build_client(self.config.telegram, receive_updates=live)

    async def _serve(self, repository: Repository, client: Any, ruleset: Any) -> int:
        governor = build_governor(self.config)
        await self._restore_flood_waits(repository, governor)
        source = TelegramSource(client, governor)
        stages = self._stages(source, repository, ruleset)
        watcher = ChannelWatcher(self.config, repository, source, stages, on_fatal=self._fail)
        self.watcher = watcher
        channels = await watcher.load()
        if repository.account is not None and not self.once:
            await self._join_cluster(repository, governor, channels)
        stages.backfill_by_channel = backfill_overrides(self.config, channels)
        stages.classifier.tags = channel_tags(self.config, channels)
        if self.once:
            return await self._sweep_once(watcher, channels)
        return await self._daemon(watcher, channels, stages)

    def _stages(self, source: TelegramSource, repository: Repository, ruleset: Any) -> Stages:
        from monitor.rules.language import detect_language

        scheduler = self.config.scheduler
        classifier = Classifier(ruleset, self.config.alerts, detect_language=detect_language)
        return Stages(
            source=source,
            classifier=classifier,
            store=repository,
            store_all=scheduler.store == "all",
            alert_max_age=timedelta(seconds=scheduler.alert_max_age),
            backfill=scheduler.backfill,
            backfill_since=scheduler.backfill_since,
            live_since={},
            live_grace=self.live_grace,
            on_alerts=lambda _count: self._alerts_stored(),
            stopping=self.stop_event.is_set,
        )

    async def _restore_flood_waits(self, repository: Repository, governor: Governor) -> None:
        now = datetime.now(UTC)
        for method, until in (await repository.flood_waits(now)).items():
            governor.pause(method, (until - now).total_seconds())
            log.warning("flood_wait_restored", kind=method, until=until)

    def _fail(self, error: BaseException) -> None:
        self.fatal = error
        self.stop_event.set()

    async def _sweep_once(self, watcher: ChannelWatcher, channels: list[Channel]) -> int:
        usable = await watcher.resolve_pending(channels)
        for channel in usable:
            await watcher.poll(channel.id)
        stats = await self.dispatcher.drain()
        totals = daemon_totals(watcher)
        log.info("sweep_finished", channels=len(usable), delivered=stats.sent, **totals)
        if self.fatal is not None:
            raise self.fatal
        return 0

    # The long-running daemon --------------------------------------------------------------

    async def _daemon(
        self, watcher: ChannelWatcher, channels: list[Channel], stages: Stages
    ) -> int:
        schedule = Schedule(misfire_grace=self.config.scheduler.misfire_grace)
        if self.handle_signals:
            self._install_signals()
        live = self.config.scheduler.live
        if live:
            await self._start_live(watcher, stages)
        watcher.on_resolved = lambda channel: self._watch(schedule, watcher, stages, channel)
        self.observer = Observer(self.config, watcher, self.dispatcher)
        if self.member is not None:
            self.observer.leases = self.member.leases
        self.observer.running = lambda: schedule.running and not self.stop_event.is_set()
        self.observer.start_server()
        self._start_desk()
        schedule.start()
        tasks = [
            asyncio.create_task(self._resolve_and_join(schedule, watcher, stages, channels)),
            asyncio.create_task(self._dispatch()),
        ]
        if self.member is not None:
            self._spawn(self.member.notify_loop(self.stop_event))
            schedule.every(
                "leases", self.member.renew_every, self._renew_leases, schedule, watcher, stages
            )
        schedule.every("heartbeat", HEARTBEAT_SECONDS, self._heartbeat, watcher)
        schedule.every(
            "rebalance", REBALANCE_SECONDS, self._rebalance, schedule, watcher, start_now=False
        )
        if not keeps_everything(self.config.database):
            schedule.every("prune", PRUNE_SECONDS, self._prune, watcher.repository)
        log.info("daemon_started", channels=len(channels), live=live)
        try:
            await self.stop_event.wait()
        finally:
            await self._stop(schedule, tasks)
        if self.fatal is not None:
            raise self.fatal
        return 0

    def _start_desk(self) -> None:
        """Serve the analyst's desk beside the daemon when ``[web] listen`` is set."""
        if not self.config.web.listen:
            return
        from monitor.web.server import DeskServer

        server = DeskServer(self.config, self.config.web.listen)
        self.desk = asyncio.create_task(server.serve(self.stop_event))
        self.desk.add_done_callback(self._desk_stopped)

    def _desk_stopped(self, task: asyncio.Task[None]) -> None:
        """A desk that fails (its port taken) stops the daemon with its error."""
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())  # type: ignore[arg-type]

    async def _resolve_and_join(
        self,
        schedule: Schedule,
        watcher: ChannelWatcher,
        stages: Stages,
        channels: list[Channel],
        *,
        rebalance: bool = True,
    ) -> None:
        channels = [channel for channel in channels if self._serves(channel.id)]
        for channel in channels:
            if channel.resolved:
                await self._watch(schedule, watcher, stages, channel)
        await watcher.resolve_pending(channels)  # calls _watch for each newly resolved one
        if rebalance:
            await self._rebalance(schedule, watcher)

    async def _watch(
        self, schedule: Schedule, watcher: ChannelWatcher, stages: Stages, channel: Channel
    ) -> None:
        """Poll the channel on its schedule; join it for live updates meanwhile.

        Joining waits on the account's join budget (a few an hour), so it runs beside the
        polling rather than before it: a channel taken over is read at once, joined later.
        """
        if not self._serves(channel.id):
            return
        interval = self.config.channel_interval(channel.ref)
        schedule.every(
            f"channel:{channel.id}",
            interval,
            self._poll,
            watcher,
            channel.id,
            jitter=self.config.scheduler.jitter,
        )
        if self.config.scheduler.live and watcher.wants_join(channel):
            self._spawn(self._join(watcher, stages, channel))
        elif self.config.scheduler.live and channel.joined:
            self._live_since(stages, channel)

    async def _join(self, watcher: ChannelWatcher, stages: Stages, channel: Channel) -> None:
        joined = await watcher.join(channel)
        if joined.joined:
            self._live_since(stages, joined)

    @staticmethod
    def _live_since(stages: Stages, channel: Channel) -> None:
        # Telegram dates have whole seconds: a post in this very second counts as live.
        stages.live_since.setdefault(channel.id, datetime.now(UTC).replace(microsecond=0))

    async def _poll(self, watcher: ChannelWatcher, channel_id: int) -> None:
        """One scheduled cycle, tracked so a graceful stop can let it finish."""
        task = asyncio.current_task()
        if task is None or self.stop_event.is_set() or not self._serves(channel_id):
            return
        self.running_cycles.add(task)
        try:
            report = await watcher.poll(channel_id)
            if self.observer is not None:
                await self.observer.check_quiet(channel_id, report)
        except asyncio.CancelledError:
            if not self.stop_event.is_set():
                raise
            # Stopping: the cycle was waiting on Telegram; its committed pages are kept.
            log.info("cycle_interrupted", channel_id=channel_id)
        finally:
            self.running_cycles.discard(task)

    async def _rebalance(self, schedule: Schedule, watcher: ChannelWatcher) -> None:
        """Share the history budget among channels; warn when the intervals cannot fit."""
        since = datetime.now(UTC) - timedelta(days=1)
        try:
            activity = await watcher.repository.posts_per_hour(since)
        except DATABASE_ERRORS as error:
            log.warning("rebalance_failed", error=error_line(error), retry_in_s=REBALANCE_SECONDS)
            return
        demands = [
            PollDemand(c.id, self.config.channel_interval(c.ref), activity.get(c.id, 1.0))
            for c in watcher.by_telegram_id.values()
            if self._serves(c.id)
        ]
        scheduler = self.config.scheduler
        rechecks = recheck_rate(demands, scheduler.recheck_window, scheduler.recheck_interval)
        budget = max(1.0, scheduler.history_requests_per_minute - rechecks)
        warning = budget_warning(demands, budget, self.config.scheduler.live)
        if warning:
            log.warning("poll_budget_exceeded", detail=warning)
        for channel_id, seconds in effective_intervals(demands, budget).items():
            schedule.reschedule(
                f"channel:{channel_id}", seconds, jitter=self.config.scheduler.jitter
            )

    async def _start_live(self, watcher: ChannelWatcher, stages: Stages) -> None:
        """Take the live feed: new posts, edits, deletions (and those held since connecting)."""

        async def on_posts(telegram_id: int, messages: list[Any], edited: bool) -> None:
            channel = watcher.by_telegram_id.get(telegram_id)
            if channel is not None and self._serves(channel.id):
                await self._ingest_live(watcher, stages, channel, messages, edited=edited)

        async def on_deleted(telegram_id: int, message_ids: list[int]) -> None:
            channel = watcher.by_telegram_id.get(telegram_id)
            if channel is None or not self._serves(channel.id):
                return
            try:
                await record_deleted(
                    watcher.repository, stages, channel, message_ids, found_by="live"
                )
            except Exception:  # the re-read window finds the deletion again
                log.exception("live_deletion_failed", channel=channel.label)

        await self.feed.attach(on_posts, on_deleted)

    async def _ingest_live(
        self,
        watcher: ChannelWatcher,
        stages: Stages,
        channel: Channel,
        messages: list[Any],
        *,
        edited: bool,
    ) -> None:
        """Store live posts; on failure log one line: the sweep stores them at its next poll."""
        # Telethon runs handlers in tasks that may have inherited another channel's context.
        bind_context(channel_id=channel.id)
        posts = [post for m in messages if (post := to_post(m, channel)) is not None]
        try:
            report = await ingest_live(channel, stages, posts, edited=edited)
            watcher.count_live(channel, report)
        except DATABASE_ERRORS as error:
            log.error(
                "live_ingest_failed",
                channel=channel.label,
                channel_id=channel.id,
                message_ids=[post.message_id for post in posts],
                error=error_line(error),
                retry="the channel's next sweep stores these posts",
            )
        except Exception:  # a bug: keep the traceback; the sweep still stores the posts
            log.exception("live_ingest_failed", channel=channel.label, channel_id=channel.id)
        finally:
            clear_context("channel_id")

    async def _prune(self, repository: Repository) -> None:
        """The retention chore: a bounded run of small batches; the next run goes on."""
        try:
            report = await prune(
                repository,
                self.config.database,
                datetime.now(UTC),
                max_batches=DAEMON_MAX_BATCHES,
                vacuum_pages=DAEMON_VACUUM_PAGES,
            )
        except DATABASE_ERRORS as error:  # e.g. locked: the next run goes on
            log.error("prune_failed", error=error_line(error), retry=f"in {PRUNE_SECONDS} s")
            return
        if report.unflagged or report.flagged or report.freed_pages:
            log.info("posts_pruned", **vars(report))
        if report.vacuum_mode == "none" and not self.vacuum_hint_given:
            self.vacuum_hint_given = True
            log.warning(
                "database_not_vacuumed_incrementally",
                hint="pruned space is reused but the file does not shrink; run "
                "`monitor db prune --vacuum` once, with the daemon stopped",
            )

    async def _heartbeat(self, watcher: ChannelWatcher) -> None:
        if self.observer is not None:
            await self.observer.beat(daemon_totals(watcher))

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        log.info("stop_requested", signal=signal.Signals(signum).name)
        self.stop_event.set()

    async def _stop(self, schedule: Schedule, tasks: list[asyncio.Task[Any]]) -> None:
        resolver, dispatcher = tasks
        resolver.cancel()
        # Cycles stop at once: one waiting on Telegram loses nothing (the cursor moves only
        # with a commit) and a commit under way finishes first (``DaemonRepository``). The
        # dispatcher stops by itself on stop_event after the send in flight, briefly. Only
        # then shut the scheduler down.
        cycles = set(self.running_cycles)
        for cycle in cycles:
            cycle.cancel()
        await asyncio.wait({dispatcher, *cycles}, timeout=STOP_GRACE_SECONDS)
        schedule.shutdown()
        side = list(self.side_tasks)
        for task in (*tasks, *side):
            task.cancel()
        await asyncio.gather(*tasks, *side, return_exceptions=True)
        if self.member is not None:  # after the last cycle: the others may take over now
            await self.member.stop()
        if self.observer is not None:
            self.observer.stop_server()
        if self.desk is not None:
            await asyncio.wait({self.desk}, timeout=STOP_GRACE_SECONDS)
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self.config.metrics.heartbeat_file.unlink, missing_ok=True)
        log.info("daemon_stopped")


def listen_for_presses(repository: Repository, sinks: dict[str, Any]) -> None:
    """Have the Telegram bot sinks hear their alerts' buttons and record the presses."""
    from monitor.alerts.presses import PressRecorder
    from monitor.alerts.telegram_bot import TelegramBotSink
    from monitor.storage.feedback import FeedbackStore

    recorder = PressRecorder(FeedbackStore(repository.engine))
    for sink in sinks.values():
        if isinstance(sink, TelegramBotSink):
            sink.listen(recorder.record)


def daemon_totals(watcher: ChannelWatcher) -> dict[str, int]:
    """The totals since start, as the heartbeat and the final log line report them."""
    counters = watcher.counters
    return {
        "cycles": counters.cycles,
        "posts": counters.posts,
        "flagged": counters.flagged,
        "alerts": counters.alerts,
        "failures": counters.failures,
        "failed_posts": counters.failed_posts,
        "missed_by_live": counters.missed_by_live,
        "flood_waits": counters.flood_waits,
    }


__all__ = ["Daemon", "load_rules"]
