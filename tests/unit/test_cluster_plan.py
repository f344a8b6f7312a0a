"""How many channel leases an instance claims or lets go at a renewal (``monitor.cluster.plan``)."""

from __future__ import annotations

import pytest

from monitor.cluster.plan import LeasePlan, LeaseView, fair_share, plan


def view(
    held: int, wanted: int = 30, live: int = 3, others: tuple[int, ...] = (), **changes: float
) -> LeaseView:
    """A renewal's view with defaults: capacity 500, no flood wait, 5 per step; the other
    live instances hold nothing unless ``others`` says."""
    values = {"capacity": 500, "paused_s": 0.0, "max_flood_wait": 300.0, "step": 5} | changes
    peers = others or (0,) * (live - 1)
    return LeaseView(held=held, wanted=wanted, live=live, others=peers, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("wanted", "live", "capacity", "share"),
    [(30, 3, 500, 10), (31, 3, 500, 11), (2000, 3, 500, 500), (5, 0, 500, 5), (0, 2, 500, 0)],
)
def test_fair_share_rounds_up_within_capacity(
    wanted: int, live: int, capacity: int, share: int
) -> None:
    """Every channel has a taker (rounded up), and no account goes past its capacity."""
    assert fair_share(wanted, live, capacity) == share


def test_alone_an_instance_claims_everything_it_can() -> None:
    """The first instance takes all 30 now; beyond them there is room to spare."""
    assert plan(view(0, live=1)) == LeasePlan(claim=30, spare=470)


def test_a_dead_peer_makes_the_survivors_claim_its_share_at_once() -> None:
    """Three became two: each survivor claims up to its new share (15) in one renewal."""
    assert plan(view(10, live=2)).claim == 5


def test_above_the_fair_share_lets_go_a_few_per_renewal() -> None:
    """A returning peer: the holder of 30 lets go 5 per renewal, not 20 at once."""
    assert plan(view(30, live=3)) == LeasePlan(release=5)
    assert plan(view(12, live=3, others=(10, 8))) == LeasePlan(release=2)


def test_above_the_share_keeps_what_nobody_has_room_for() -> None:
    """The others hold their shares already: letting go would only bounce channels around."""
    assert plan(view(12, live=3, others=(10, 10))) == LeasePlan(claim=0, spare=490)


def test_capacity_caps_the_share() -> None:
    """2,000 channels and one instance of capacity 500: it holds 500, no spare."""
    assert plan(view(500, wanted=2000, live=1)) == LeasePlan(claim=0, spare=0)


def test_a_long_flood_wait_lets_everything_go() -> None:
    """History waits 600 s, longer than the 300 s limit: all 10 go, nothing is claimed."""
    assert plan(view(10, paused_s=600.0)) == LeasePlan(release=10, benched=True)
    assert not plan(view(10, paused_s=100.0)).benched
