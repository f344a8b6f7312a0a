"""Per-chat pacing: send now, wait, or fold a burst into one digest.

Telegram allows about one message per second to a chat and twenty per minute to a group;
beyond that it answers with FloodWait. A ``Pacer`` keeps one chat within both limits and
decides what to do with the alerts waiting for it:

* ``send`` the oldest alert on its own while the minute's budget lasts;
* ``fold`` every waiting alert into one digest when only the last message of the minute's
  budget is left and more than one alert waits: the excess becomes
  "14 more flagged posts in the last 5 minutes: ..." instead of a queue that drains for an
  hour. A fold opens a *burst window* (``digest_window`` seconds) during which alerts are
  collected, then folded into the next digest when it closes; a quiet window ends the
  burst and alerts go out one by one again;
* ``wait`` for the next free slot (the interval, the minute's budget, a FloodWait or 429
  ``retry_after`` penalty, or the end of the burst window).

A burst of N alerts therefore costs at most ``per_minute`` messages in its first minute and
one digest per burst window after it, whatever N is.

This module is pure: no I/O, no clock (times are monotonic seconds passed in by the caller),
nothing from the edges.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class PaceLimits:
    """The limits of one chat: seconds between messages, messages per minute, burst window."""

    interval: float = 1.0
    per_minute: int = 20
    digest_window: float = 300.0


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do now: ``send`` one alert, ``fold`` ``count`` alerts, ``wait`` or ``idle``."""

    action: Literal["send", "fold", "wait", "idle"]
    delay: float = 0.0
    count: int = 0


IDLE = Decision("idle")


class Pacer:
    """The sliding-window pacing state of one chat."""

    def __init__(self, limits: PaceLimits) -> None:
        self.limits = limits
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._burst_until: float | None = None

    def __repr__(self) -> str:
        return f"Pacer(limits={self.limits!r}, sent={len(self._sent)})"

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - MINUTE:
            self._sent.popleft()

    def remaining(self, now: float) -> int:
        """Return how many messages the minute's budget still allows at ``now``."""
        self._expire(now)
        return max(0, self.limits.per_minute - len(self._sent))

    def delay(self, now: float) -> float:
        """Return the seconds until the chat may receive a message (0 when it may now)."""
        self._expire(now)
        ready = self._blocked_until
        if self._sent:
            ready = max(ready, self._sent[-1] + self.limits.interval)
        if len(self._sent) >= self.limits.per_minute:
            ready = max(ready, self._sent[-self.limits.per_minute] + MINUTE)
        return max(0.0, ready - now)

    def in_burst(self, now: float) -> bool:
        """Return whether a burst window is open at ``now``."""
        return self._burst_until is not None and now < self._burst_until

    def decide(
        self, now: float, pending: int, oldest: float | None = None, *, flush: bool = False
    ) -> Decision:
        """Decide what to do with ``pending`` waiting alerts at ``now``.

        Args:
            now: the current time, on the caller's clock.
            pending: how many alerts wait for this chat.
            oldest: when the oldest of them was queued (same clock), if known. Alerts that
                all arrived after a burst window closed start afresh instead of folding.
            flush: fold now instead of waiting for an open burst window to close (a one-off
                drain from cron must not sit out the window).
        """
        if pending <= 0:
            return IDLE
        delay = self.delay(now)
        if delay > 0:
            return Decision("wait", delay=delay)
        if self._burst_until is not None:
            if now < self._burst_until and not flush:
                return Decision("wait", delay=self._burst_until - now)
            if oldest is None or oldest < self._burst_until:
                return Decision("fold", count=pending) if pending > 1 else Decision("send", count=1)
            self._burst_until = None  # the burst is over: nothing waited through its end
        if pending > 1 and self.remaining(now) <= 1:
            return Decision("fold", count=pending)
        return Decision("send", count=1)

    def sent(self, now: float, messages: int = 1) -> None:
        """Record that one alert went out at ``now`` as ``messages`` messages."""
        self._record(now, messages)
        if self._burst_until is not None and now >= self._burst_until:
            self._burst_until = None

    def folded(self, now: float, messages: int = 1) -> None:
        """Record that a digest went out at ``now``; it opens a new burst window."""
        self._record(now, messages)
        self._burst_until = now + self.limits.digest_window

    def penalise(self, now: float, seconds: float) -> None:
        """Block the chat for ``seconds`` (a FloodWait, or a 429 with Retry-After)."""
        self._blocked_until = max(self._blocked_until, now + seconds)

    def _record(self, now: float, messages: int) -> None:
        self._expire(now)
        self._sent.extend([now] * max(1, messages))
        while len(self._sent) > self.limits.per_minute:
            self._sent.popleft()
