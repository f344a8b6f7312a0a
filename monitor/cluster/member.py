"""This instance's part in a cluster, as the daemon sees it: a small interface.

The daemon asks ``serves(channel_id)`` before fetching a channel, calls ``tick`` every
``renew_every`` seconds and starts or stops watching the channels it returns, runs
``dispatch`` instead of the dispatcher itself, calls ``alerts_stored`` when the pipeline
queued alerts, and ``stop`` after its last cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.cluster.dispatch import dispatch_when_leading
from monitor.cluster.identity import Identity
from monitor.cluster.keeper import LeaseChange, LeaseKeeper
from monitor.config import ClusterSettings
from monitor.logs import get_logger
from monitor.storage.engine import DATABASE_ERRORS, error_line
from monitor.storage.leases import DispatchLock, Leases

log = get_logger("monitor.cluster")


def is_cluster_database(url: str) -> bool:
    """Tell whether ``url`` names a database several instances can share (PostgreSQL)."""
    return url.startswith(("postgresql", "postgres:"))


class ClusterMember:
    """Leases, the dispatch lock and alert notices of one instance."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: ClusterSettings,
        identity: Identity,
        *,
        paused: Callable[[], float],
        resolves: Callable[[], float] = lambda: float("inf"),
    ) -> None:
        leases = Leases(engine)
        self.leases = leases
        self.keeper = LeaseKeeper(leases, settings, identity, paused=paused, resolves=resolves)
        self.lock = DispatchLock(engine)
        self.pending_notice = asyncio.Event()

    @property
    def renew_every(self) -> float:
        """How often ``tick`` runs, in seconds."""
        return self.keeper.renew_every

    def serves(self, channel_id: int) -> bool:
        """Tell whether this instance holds the channel's lease (and may fetch it)."""
        return self.keeper.holds(channel_id)

    async def start(self, channel_ids: Sequence[int]) -> LeaseChange:
        """Register and claim a first share of ``channel_ids``."""
        return await self.keeper.start(channel_ids)

    async def tick(self) -> LeaseChange:
        """Renew and rebalance; a database failure is one line and no change."""
        try:
            return await self.keeper.tick()
        except DATABASE_ERRORS as error:
            log.error("leases_renewal_failed", error=error_line(error), retry_in_s=self.renew_every)
            return LeaseChange()

    def alerts_stored(self) -> None:
        """Ask for a ``NOTIFY`` to whichever instance dispatches."""
        self.pending_notice.set()

    async def notify_loop(self, stop: asyncio.Event) -> None:
        """Send a ``NOTIFY`` after alerts were stored, until ``stop``."""
        while not stop.is_set():
            await self.pending_notice.wait()
            self.pending_notice.clear()
            try:
                await self.leases.notify_alerts()
            except DATABASE_ERRORS as error:  # the dispatcher polls anyway
                log.warning(
                    "alerts_notify_failed",
                    error=error_line(error),
                    retry="none needed: the dispatcher also looks for due alerts by itself",
                )

    async def dispatch(self, dispatcher: Any, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Deliver alerts whenever this instance holds the cluster's dispatch lock."""
        await dispatch_when_leading(
            self.lock, dispatcher, stop, wake, check_every=max(1.0, self.renew_every)
        )

    async def stop(self) -> None:
        """Release every lease and the dispatch lock (a clean stop)."""
        with contextlib.suppress(*DATABASE_ERRORS):
            await self.keeper.stop()
        await self.lock.release()
