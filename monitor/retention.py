"""Retention: posts older than ``[database] keep_unflagged`` / ``keep_flagged`` lose their text.

The daemon prunes every ``PRUNE_SECONDS`` in small batches (each its own short transaction,
the event loop free between them); ``monitor db prune`` prunes everything due at once. A
pruned post keeps what dedup, the cursors and the statistics need (see
``monitor.storage.retention``). On SQLite the freed pages go back to the file system
incrementally, when the file was created for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from monitor.config import DatabaseSettings
from monitor.config_types import retention_seconds

PRUNE_SECONDS = 600
BATCH = 500
DAEMON_MAX_BATCHES = 200  # at most 100,000 posts a run; the next run goes on
DAEMON_VACUUM_PAGES = 4000  # at most 16 MB given back a run (4 KB pages)


class Prunable(Protocol):
    """What pruning needs from the repository."""

    async def prune_batch(self, before: datetime, *, flagged: bool, limit: int = 500) -> int:
        """Empty the text of up to ``limit`` posts dated before ``before``."""

    async def incremental_vacuum(self, pages: int | None = 2000) -> int:
        """Give free pages (None: all) back to the file system; return how many."""

    async def vacuum_mode(self) -> str | None:
        """Return SQLite's auto_vacuum mode, or None."""


@dataclass
class PruneReport:
    """What one pruning run did."""

    unflagged: int = 0
    flagged: int = 0
    freed_pages: int = 0
    vacuum_mode: str | None = None


def cutoffs(settings: DatabaseSettings, now: datetime) -> dict[bool, datetime]:
    """Return, by ``flagged``, the date before which posts lose their text (none: forever)."""
    keep = {False: settings.keep_unflagged, True: settings.keep_flagged}
    found: dict[bool, datetime] = {}
    for flagged, value in keep.items():
        seconds = retention_seconds(value)
        if seconds is not None:
            found[flagged] = now - timedelta(seconds=seconds)
    return found


async def prune(
    store: Prunable,
    settings: DatabaseSettings,
    now: datetime,
    *,
    batch: int = BATCH,
    max_batches: int | None = None,
    vacuum_pages: int | None = None,
) -> PruneReport:
    """Prune what ``settings`` no longer keeps, ``batch`` posts per transaction.

    ``max_batches`` and ``vacuum_pages`` bound one run (the daemon's); None: everything due.
    """
    report = PruneReport()
    for flagged, before in cutoffs(settings, now).items():
        pruned = await _prune_kind(store, before, flagged, batch, max_batches)
        if flagged:
            report.flagged = pruned
        else:
            report.unflagged = pruned
    report.freed_pages = await store.incremental_vacuum(vacuum_pages)
    report.vacuum_mode = await store.vacuum_mode()
    return report


async def _prune_kind(
    store: Prunable, before: datetime, flagged: bool, batch: int, max_batches: int | None
) -> int:
    total = 0
    done = 0
    while max_batches is None or done < max_batches:
        count = await store.prune_batch(before, flagged=flagged, limit=batch)
        total += count
        done += 1
        if count < batch:
            break
        await asyncio.sleep(0)  # let live posts and alerts through between batches
    return total


def keeps_everything(settings: DatabaseSettings) -> bool:
    """Tell whether both retentions are forever (nothing ever to prune)."""
    values = (settings.keep_unflagged, settings.keep_flagged)
    return all(retention_seconds(value) is None for value in values)
