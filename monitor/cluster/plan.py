"""How many channel leases an instance claims or lets go at one renewal (pure).

Each live instance aims at its fair share of the enabled channels (all of them divided by
the live instances, rounded up), never above its capacity. Above its share, and only while
another instance has room below its own, it lets go of a few channels per renewal
(``rebalance_step``, at most that room), so a returning instance takes channels over
gradually, without a herd of joins and resolves, and channels never bounce between
instances that are all full. Below it, it claims what is free at once:
a dead instance's channels must move within two lease periods. Beyond its share it also
takes channels nobody else claimed for a while (``spare``), so that no channel stays
unwatched while some instance has room. An instance whose account waits on a flood wait
longer than ``max_flood_wait`` lets everything go and claims nothing until the wait ends;
meanwhile it is not counted among the live instances, so the others' shares grow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LeaseView:
    """What an instance knows at a renewal."""

    held: int  # leases it still holds after renewing
    wanted: int  # enabled channels in the config (the cluster shares one config)
    live: int  # live and available instances, itself included
    others: tuple[int, ...]  # how many the other live, available instances hold
    capacity: int
    paused_s: float  # how long its history requests still wait on a flood wait
    max_flood_wait: float
    step: int  # how many to let go per renewal when above the fair share


@dataclass(frozen=True, slots=True)
class LeasePlan:
    """What to do: let ``release`` leases go, claim up to ``claim`` free ones and up to
    ``spare`` that nobody claimed for a while."""

    release: int = 0
    claim: int = 0
    spare: int = 0
    benched: bool = False  # every lease let go because of a long flood wait


def fair_share(wanted: int, live: int, capacity: int) -> int:
    """Return the channels one of ``live`` instances should hold, within ``capacity``."""
    return min(capacity, math.ceil(wanted / max(live, 1)))


def plan(view: LeaseView) -> LeasePlan:
    """Decide this renewal's releases and claims (see the module docstring)."""
    if view.paused_s > view.max_flood_wait:
        return LeasePlan(release=view.held, benched=True)
    share = fair_share(view.wanted, view.live, view.capacity)
    room = sum(max(0, share - held) for held in view.others)
    if view.held > share and room > 0:
        return LeasePlan(release=min(view.held - share, view.step, room))
    return LeasePlan(claim=max(0, share - view.held), spare=max(0, view.capacity - share))
