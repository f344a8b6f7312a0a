"""The request governor: one account's budget of Telegram calls, by kind of call.

Telegram rate-limits per account and per kind of call, and answers an overrun with a flood
wait that grows when ignored. Every call the daemon makes goes through ``Governor.slot(kind)``:
a token bucket per kind keeps the pace, and a flood wait pauses that kind for every channel for
its full length. Pure asyncio with an injected clock; it knows nothing of Telethon.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass
class Bucket:
    """A token bucket: ``rate`` tokens per second, holding at most ``burst``."""

    rate: float
    burst: float
    tokens: float | None = None  # full on first use
    updated: float = 0.0

    def take(self, now: float) -> float:
        """Take a token; return how long to wait before using it (0 when available).

        Tokens may go negative: that is the debt the caller waits off before its call.
        """
        if self.tokens is None:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def level(self, now: float) -> float:
        """Return the tokens there are at ``now``, taking none."""
        if self.tokens is None:
            return self.burst
        return min(self.burst, self.tokens + (now - self.updated) * self.rate)


class Governor:
    """Paces calls per kind and honours flood waits, for one Telegram account."""

    def __init__(
        self,
        budgets: dict[str, tuple[float, float]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        """Create the governor.

        Args:
            budgets: per kind of call, ``(calls per minute, burst)``: the sustained pace and
                how many calls may go at once after a quiet spell.
            clock: monotonic seconds (injected in tests).
            sleep: how to wait (injected in tests).
        """
        self._buckets = {
            kind: Bucket(rate=rate / 60.0, burst=max(1.0, burst))
            for kind, (rate, burst) in budgets.items()
        }
        self._paused_until: dict[str, float] = {}
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}

    def budget(self, kind: str) -> float:
        """Return the calls per minute allowed for ``kind``."""
        return self._buckets[kind].rate * 60.0

    def ready(self, kind: str) -> float:
        """Return how many calls of ``kind`` could go now without waiting (0 while paused)."""
        if self.paused_for(kind) > 0:
            return 0.0
        bucket = self._buckets.get(kind)
        return float("inf") if bucket is None else max(0.0, bucket.level(self._clock()))

    def pause(self, kind: str, seconds: float) -> None:
        """Stop every call of ``kind`` for ``seconds`` (a flood wait from Telegram)."""
        until = self._clock() + seconds
        self._paused_until[kind] = max(self._paused_until.get(kind, 0.0), until)

    def paused_for(self, kind: str) -> float:
        """Return how many seconds ``kind`` remains paused (0 when it is not)."""
        return max(0.0, self._paused_until.get(kind, 0.0) - self._clock())

    @asynccontextmanager
    async def slot(self, kind: str) -> AsyncIterator[None]:
        """Wait for the pace and any flood wait of ``kind``, then let one call through."""
        lock = self._locks.setdefault(kind, asyncio.Lock())
        async with lock:
            while (remaining := self.paused_for(kind)) > 0:
                await self._wait(remaining)
            delay = self._buckets[kind].take(self._clock()) if kind in self._buckets else 0.0
            if delay > 0:
                await self._wait(delay)
        yield

    async def _wait(self, seconds: float) -> None:
        result = self._sleep(seconds)
        if asyncio.iscoroutine(result):
            await result
