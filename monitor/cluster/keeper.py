"""The lease keeper: this instance's channel leases, renewed every third of a lease.

The daemon asks the keeper which channels it may fetch (``holds``) and calls ``tick`` on a
schedule; each tick renews the leases still held (and the instance's heartbeat), follows
``plan`` to let some go or claim free ones, and returns what was gained and lost so the
daemon starts or stops watching those channels. A lease counts as held locally only until a
little before it runs out in the database, so a holder that cannot renew (database down,
process stalled) stops fetching before anyone else may start: one fetcher per channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from monitor.cluster.identity import Identity
from monitor.cluster.plan import LeaseView, plan
from monitor.config import ClusterSettings
from monitor.logs import get_logger
from monitor.storage.leases import Leases

log = get_logger("monitor.cluster")

#: A lease is trusted locally for this fraction of its time from the start of its renewal.
TRUSTED_FRACTION = 0.8


@dataclass(frozen=True, slots=True)
class LeaseChange:
    """Channels (row ids) this instance gained and lost at one tick."""

    gained: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)


class LeaseKeeper:
    """Claims, renews and releases this instance's channel leases."""

    def __init__(
        self,
        leases: Leases,
        settings: ClusterSettings,
        identity: Identity,
        *,
        paused: Callable[[], float] = lambda: 0.0,
        resolves: Callable[[], float] = lambda: float("inf"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.leases = leases
        self.settings = settings
        self.identity = identity
        self.paused = paused
        self.resolves = resolves
        self.clock = clock
        self.instance: int | None = None
        self.wanted: list[int] = []
        self.held: set[int] = set()
        self.trusted_until = 0.0
        self.benched = False

    @property
    def lease(self) -> float:
        """The lease period in seconds."""
        return float(self.settings.lease_seconds)

    @property
    def renew_every(self) -> float:
        """How often ``tick`` should run: a third of the lease."""
        return self.lease / 3

    async def start(self, wanted: Sequence[int]) -> LeaseChange:
        """Register this instance, give each wanted channel a lease row, claim a first share."""
        self.wanted = sorted(set(wanted))
        identity = self.identity
        self.instance = await self.leases.register(
            identity.account, identity.host, identity.pid, identity.version
        )
        await self.leases.ensure(self.wanted)
        log.info("instance_registered", instance=self.instance, account=identity.account)
        return await self.tick()

    def holds(self, channel_id: int) -> bool:
        """Tell whether this instance may fetch the channel now."""
        return channel_id in self.held and self.clock() < self.trusted_until

    async def tick(self) -> LeaseChange:
        """Renew, then let go or claim as ``plan`` says; return what changed."""
        instance = self._instance()
        began = self.clock()
        available = self.paused() <= self.settings.max_flood_wait
        ready = self.resolves()
        renewed = set(
            await self.leases.renew(
                instance,
                self.lease,
                available=available,
                resolves_ready=None if ready == float("inf") else ready,
            )
        )
        self.trusted_until = began + self.lease * TRUSTED_FRACTION
        lost = sorted(self.held - renewed)
        self.held = renewed
        holdings = await self.leases.holdings(self.lease)
        view = LeaseView(
            held=len(renewed),
            wanted=len(self.wanted),
            live=len({*holdings, instance}),
            others=tuple(n for other, n in holdings.items() if other != instance),
            capacity=self.settings.capacity,
            paused_s=self.paused(),
            max_flood_wait=float(self.settings.max_flood_wait),
            step=self.settings.rebalance_step,
        )
        decision = plan(view)
        self._bench(decision.benched)
        released = await self._release(decision.release)
        gained = await self._claim(decision.claim, decision.spare)
        if lost:
            log.warning("leases_lost", instance=instance, channels=lost)
        return LeaseChange(gained=gained, lost=sorted({*lost, *released}))

    async def stop(self) -> None:
        """Release every lease and mark this instance stopped (a clean stop)."""
        if self.instance is None:
            return
        self.held = set()
        await self.leases.stop(self.instance)
        log.info("instance_stopped", instance=self.instance)

    def _instance(self) -> int:
        if self.instance is None:
            raise RuntimeError("the lease keeper is not started")
        return self.instance

    def _bench(self, benched: bool) -> None:
        if benched != self.benched:
            event = "instance_benched" if benched else "instance_unbenched"
            log.warning(event, paused_s=round(self.paused()), limit=self.settings.max_flood_wait)
        self.benched = benched

    async def _release(self, count: int) -> list[int]:
        if count <= 0:
            return []
        # The highest ids go first, so two instances letting go pick alike and settle fast;
        # a private channel this account joined stays (another would have to join it).
        releasable = await self.leases.releasable(self.identity.account, sorted(self.held))
        chosen = releasable[:count]
        if not chosen:
            return []
        released = await self.leases.release(self._instance(), chosen)
        self.held -= set(released)
        log.info("leases_released", instance=self.instance, channels=released)
        return released

    async def _resolve_budget(self, wanted: int) -> int:
        """How many channels that need a resolve to claim now: as many as this account can
        resolve; none while another live instance has resolves left and this one has none;
        all when nobody has any (they wait on the budget here rather than go unwatched)."""
        if wanted <= 0:
            return 0
        mine = self.resolves()
        if mine >= 1:
            return int(min(mine, wanted))
        others = await self.leases.resolves_ready(self.lease)
        if any(ready >= 1 for other, ready in others.items() if other != self.instance):
            return 0
        return wanted

    async def _claim(self, fair: int, spare: int) -> list[int]:
        """Claim the fair share, then spare leases nobody else took.

        The fair share goes first to channels this account already joined or can read
        without a resolve; then channels it would have to resolve, as ``_resolve_budget``
        allows. The spare claim takes whatever stayed unclaimed a while, budget or not:
        watching late beats not watching.
        """
        instance, account = self._instance(), self.identity.account
        gained = await self.leases.claim(
            instance, self.wanted, fair, self.lease, account=account, known_only=True
        )
        budget = await self._resolve_budget(fair - len(gained))
        gained += await self.leases.claim(
            instance, self.wanted, budget, self.lease, account=account
        )
        room = self.settings.capacity - len(self.held) - len(gained)
        if spare > 0 and room > 0:
            idle = self.lease / 2  # claimed by nobody within its fair share meanwhile
            gained += await self.leases.claim(
                instance, self.wanted, min(spare, room), self.lease, idle=idle
            )
        self.held |= set(gained)
        if gained:
            log.info("leases_claimed", instance=instance, channels=sorted(gained))
        return sorted(gained)
