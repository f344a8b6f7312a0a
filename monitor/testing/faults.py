"""Fault injection for the test server, and the resolveUsername flood budget.

Faults are keyed by TL method name (``"contacts.resolveUsername"``) or by Telethon request
class (``functions.contacts.ResolveUsernameRequest``). Each armed fault fires on the next
``count`` calls of its method and is then spent. This module decides *whether* a call fails;
the server applies the decision.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.testing.dispatch import method_key
from monitor.testing.mtproto import DropConnection, RpcFault


@dataclass
class ArmedFault:
    """An error to answer instead of running the method, ``remaining`` more times."""

    code: int
    message: str
    remaining: int
    skip: int = 0  # calls to let through first


class Faults:
    """The faults a test arms; see the module docstring for how methods are named."""

    def __init__(self, drop_all: Callable[[], None]) -> None:
        self.latency: float = 0.0
        self._drop_all = drop_all
        self._armed: dict[str, deque[ArmedFault]] = {}
        self._drop_countdown: int | None = None
        self._withheld: set[int] = set()

    def flood_wait(self, method: str | type, seconds: int, count: int = 1) -> None:
        """Answer ``FLOOD_WAIT_<seconds>`` (420) on the next ``count`` calls of ``method``."""
        self.rpc_error(method, f"FLOOD_WAIT_{seconds}", code=420, count=count)

    def rpc_error(
        self, method: str | type, message: str, code: int = 400, count: int = 1, after: int = 0
    ) -> None:
        """Answer the RPC error ``code message`` on ``count`` calls of ``method``.

        The first ``after`` calls are answered normally (fail the second page, say).
        """
        queue = self._armed.setdefault(method_key(method), deque())
        queue.append(ArmedFault(code, message, count, skip=after))

    def drop_connections(self) -> None:
        """Close every client connection now; clients see a reset and reconnect."""
        self._drop_all()

    def drop_after(self, n_requests: int) -> None:
        """Answer ``n_requests`` more RPCs, then close the connection that sends the next one."""
        self._drop_countdown = n_requests

    def withhold_updates(self, channel: Any) -> None:
        """Stop pushing ``channel``'s changes live; history and differences still have them."""
        self._withheld.add(channel.id)

    def release_updates(self, channel: Any) -> None:
        """Push ``channel``'s changes live again."""
        self._withheld.discard(channel.id)

    def is_withheld(self, channel_id: int) -> bool:
        """Whether live pushes for ``channel_id`` are suppressed."""
        return channel_id in self._withheld

    def clear(self) -> None:
        """Disarm everything and remove latency."""
        self.latency = 0.0
        self._armed.clear()
        self._drop_countdown = None
        self._withheld.clear()

    def check(self, method: str) -> None:
        """Raise the fault armed for this call, if any (called once per RPC)."""
        if self._drop_countdown is not None:
            if self._drop_countdown <= 0:
                self._drop_countdown = None
                raise DropConnection
            self._drop_countdown -= 1
        queue = self._armed.get(method)
        if not queue:
            return
        fault = queue[0]
        if fault.skip > 0:
            fault.skip -= 1
            return
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        raise RpcFault(fault.code, fault.message)


@dataclass
class ResolveBudget:
    """Per-account ``contacts.resolveUsername`` allowance, like Telegram's anti-scraping limit.

    ``limit`` calls are free; the next ones answer ``FLOOD_WAIT_<seconds>`` until ``seconds``
    have passed since the budget ran out, then the allowance starts over.
    """

    limit: int | None = None
    seconds: int = 30
    clock: Callable[[], float] = time.monotonic
    _used: dict[int, int] = field(default_factory=dict)
    _blocked_until: dict[int, float] = field(default_factory=dict)

    def spend(self, user_id: int) -> None:
        """Count one call; raise FLOOD_WAIT when the budget is exhausted."""
        if self.limit is None:
            return
        now = self.clock()
        until = self._blocked_until.get(user_id)
        if until is not None:
            if now < until:
                raise RpcFault(420, f"FLOOD_WAIT_{max(1, round(until - now))}")
            del self._blocked_until[user_id]
            self._used[user_id] = 0
        used = self._used.get(user_id, 0)
        if used >= self.limit:
            self._blocked_until[user_id] = now + self.seconds
            raise RpcFault(420, f"FLOOD_WAIT_{self.seconds}")
        self._used[user_id] = used + 1
