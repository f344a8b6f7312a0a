"""The daemon's part in a cluster: joining it, renewing leases, taking channels over.

A mixin of ``monitor.daemon.Daemon`` (kept apart so the daemon stays about its lifecycle):
on PostgreSQL the daemon registers through ``ClusterMember``, fetches only the channels it
``_serves``, renews its leases on a schedule and starts watching the channels it gains, each
from its stored cursor, and dispatches alerts only while it holds the dispatch lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from monitor.channels import ChannelWatcher
from monitor.cluster.identity import this_instance
from monitor.cluster.member import ClusterMember
from monitor.config import Config
from monitor.logs import get_logger
from monitor.models import Channel
from monitor.pipeline import Stages
from monitor.scheduler import Schedule
from monitor.storage.engine import DATABASE_ERRORS, error_line
from monitor.storage.repository import Repository
from monitor.telegram.governor import Governor

log = get_logger("monitor.daemon")

#: How long a channel held but not watched (its takeover failed) waits before another try.
RETRY_TAKEOVER_SECONDS = 600


class ClusterPart:
    """Cluster duties of the daemon; the attributes are the daemon's own."""

    config: Config
    member: ClusterMember | None
    takeovers: dict[int, float]
    side_tasks: set[asyncio.Task[Any]]
    stop_event: asyncio.Event
    alerts_waiting: asyncio.Event
    dispatcher: Any

    async def _resolve_and_join(
        self,
        schedule: Schedule,
        watcher: ChannelWatcher,
        stages: Stages,
        channels: list[Channel],
        *,
        rebalance: bool = True,
    ) -> None:
        raise NotImplementedError  # the daemon's

    async def _join_cluster(
        self, repository: Repository, governor: Governor, channels: list[Channel]
    ) -> None:
        """Register this instance and claim its first share of the channels' leases."""
        identity = this_instance(self.config.telegram)  # type: ignore[arg-type]
        self.member = ClusterMember(
            repository.engine,
            self.config.cluster,
            identity,
            paused=lambda: governor.paused_for("history"),
            resolves=lambda: governor.ready("resolve"),
        )
        change = await self.member.start([channel.id for channel in channels])
        retry_at = time.monotonic() + RETRY_TAKEOVER_SECONDS  # being watched by _resolve_and_join
        self.takeovers.update(dict.fromkeys(change.gained, retry_at))
        log.info("cluster_joined", channels=len(change.gained), of=len(channels))

    def _serves(self, channel_id: int) -> bool:
        """Tell whether this instance fetches the channel (always, outside a cluster)."""
        return self.member is None or self.member.serves(channel_id)

    def _alerts_stored(self) -> None:
        self.alerts_waiting.set()
        if self.member is not None:
            self.member.alerts_stored()

    async def _dispatch(self) -> None:
        """Deliver alerts: always alone; in a cluster, while holding the dispatch lock."""
        if self.member is None:
            await self.dispatcher.run(self.stop_event, self.alerts_waiting)
        else:
            await self.member.dispatch(self.dispatcher, self.stop_event, self.alerts_waiting)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self.side_tasks.add(task)
        task.add_done_callback(self.side_tasks.discard)

    async def _renew_leases(
        self, schedule: Schedule, watcher: ChannelWatcher, stages: Stages
    ) -> None:
        """Renew this instance's leases; stop watching channels lost, start on those gained."""
        if self.member is None or self.stop_event.is_set():
            return
        change = await self.member.tick()
        for channel_id in change.lost:
            schedule.remove(f"channel:{channel_id}")
        waiting = self._unwatched(schedule, change.gained)
        if waiting:
            # Resolving and joining wait on the account's budgets: never inside the renewal.
            self._spawn(self._take_over(schedule, watcher, stages, waiting))

    def _unwatched(self, schedule: Schedule, gained: list[int]) -> list[int]:
        """Channels to start watching: those just gained, and those held but still not
        watched (their takeover failed) once their retry time has come."""
        if self.member is None:
            return []
        now = time.monotonic()
        held = self.member.keeper.held
        for channel_id in list(self.takeovers):
            if channel_id not in held:
                del self.takeovers[channel_id]
        stalled = [
            channel_id
            for channel_id in held
            if schedule.interval(f"channel:{channel_id}") is None
            and self.takeovers.get(channel_id, now) <= now
        ]
        waiting = sorted({*gained, *stalled})
        for channel_id in waiting:
            self.takeovers[channel_id] = now + RETRY_TAKEOVER_SECONDS
        return waiting

    async def _take_over(
        self, schedule: Schedule, watcher: ChannelWatcher, stages: Stages, channel_ids: list[int]
    ) -> None:
        """Start watching channels whose leases were just claimed, from their stored cursor."""
        try:
            channels = [await watcher.repository.channel(channel_id) for channel_id in channel_ids]
        except DATABASE_ERRORS as error:  # tried again at a renewal RETRY_TAKEOVER_SECONDS later
            log.error("takeover_failed", error=error_line(error), retry_in_s=RETRY_TAKEOVER_SECONDS)
            return
        await self._resolve_and_join(schedule, watcher, stages, channels, rebalance=False)
