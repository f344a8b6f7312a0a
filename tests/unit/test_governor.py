"""The request governor: pace per kind of call, and flood waits that pause a kind."""

from __future__ import annotations

from monitor.telegram.governor import Governor


class FakeClock:
    """A clock the test moves; sleeping moves it too (no real waiting)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_burst_then_pace() -> None:
    """A burst goes at once; after it, calls are spaced at the sustained rate."""
    clock = FakeClock()
    governor = Governor({"history": (60, 3)}, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        async with governor.slot("history"):
            pass
    assert clock.slept == [1.0, 1.0]


async def test_flood_wait_pauses_the_kind_for_its_length() -> None:
    """A flood wait holds every call of that kind for its full length, and only that kind."""
    clock = FakeClock()
    governor = Governor({"history": (60, 5), "resolve": (60, 5)}, clock=clock, sleep=clock.sleep)
    governor.pause("history", 30)
    assert governor.paused_for("history") == 30
    async with governor.slot("resolve"):
        pass
    assert clock.slept == []
    async with governor.slot("history"):
        pass
    assert sum(clock.slept) == 30
    assert governor.paused_for("history") == 0


async def test_ready_counts_the_calls_that_could_go_now() -> None:
    """``ready`` is the burst left, refilled at the pace, and nothing during a flood wait."""
    clock = FakeClock()
    governor = Governor({"resolve": (30, 2)}, clock=clock, sleep=clock.sleep)
    assert governor.ready("resolve") == 2
    for _ in range(2):
        async with governor.slot("resolve"):
            pass
    assert governor.ready("resolve") == 0
    clock.now += 2.0  # 30 a minute: one more every 2 s
    assert governor.ready("resolve") == 1
    governor.pause("resolve", 60)
    assert governor.ready("resolve") == 0
    assert governor.ready("history") == float("inf")  # a kind without a budget
