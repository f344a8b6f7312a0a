"""One dispatcher for the whole cluster: the instance holding the dispatch lock delivers.

Every instance stores alerts; exactly one at a time runs the dispatcher, the one holding a
PostgreSQL advisory lock. Per-chat pacing, digests and the story index therefore hold across
instances just as in a single one, and the dispatcher's start-up ``recover`` of rows left
claimed is safe (the lock's previous holder is gone: PostgreSQL released the lock when its
session ended). The others try to take the lock every few seconds; instances wake the
holder with ``NOTIFY`` when they store alerts. Rows are claimed one by one with
``FOR UPDATE SKIP LOCKED`` anyway, so a ``monitor alerts send`` run meanwhile never sends
a row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from monitor.logs import get_logger
from monitor.storage.engine import DATABASE_ERRORS, error_line
from monitor.storage.leases import DispatchLock

log = get_logger("monitor.cluster")


async def dispatch_when_leading(
    lock: DispatchLock,
    dispatcher: Any,
    stop: asyncio.Event,
    wake: asyncio.Event,
    *,
    check_every: float,
) -> None:
    """Run ``dispatcher`` whenever this instance holds ``lock``, until ``stop``."""
    while not stop.is_set():
        if await _try_acquire(lock, check_every):
            await _lead(lock, dispatcher, stop, wake, check_every)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), check_every)


async def _try_acquire(lock: DispatchLock, every: float) -> bool:
    try:
        return await lock.try_acquire()
    except DATABASE_ERRORS as error:
        log.warning("dispatch_lock_failed", error=error_line(error), retry_in_s=every)
        return False


async def _lead(
    lock: DispatchLock, dispatcher: Any, stop: asyncio.Event, wake: asyncio.Event, every: float
) -> None:
    log.info("dispatcher_leading")
    term = asyncio.Event()
    with contextlib.suppress(*DATABASE_ERRORS):
        await lock.listen(wake.set)
    watch = asyncio.create_task(_watch(lock, stop, term, every))
    try:
        await dispatcher.run(term, wake)
    except DATABASE_ERRORS as error:  # e.g. the database went away: try again later
        log.error("dispatcher_failed", error=error_line(error), retry_in_s=every)
    finally:
        term.set()
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
        await lock.release()
    if not stop.is_set():
        log.warning("dispatcher_lock_lost", retry_in_s=every)


async def _watch(
    lock: DispatchLock, stop: asyncio.Event, term: asyncio.Event, every: float
) -> None:
    """End the term when the daemon stops or the lock's connection is gone."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        if stop.is_set() or not await lock.alive():
            term.set()
            return
