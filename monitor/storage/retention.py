"""Retention: old posts lose their text in small batches; SQLite gives the space back.

A pruned post keeps its row: channel and message id (what dedup and the cursors need), date
and flag (what the statistics count), link, forward origin and its matches. Only ``text`` is
emptied, a batch at a time in short transactions, oldest first, found through the index of
unflagged posts that still have their text, so each batch reads only what it prunes.
SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import literal_column, select, update

from monitor.storage.rows import StoreBase, posts_t

EMPTY: Any = literal_column("''")  # a literal, as the partial index's condition has it


class Retention(StoreBase):
    """Pruning old posts' text and reclaiming the space (SQLite)."""

    async def prune_batch(self, before: datetime, *, flagged: bool, limit: int = 500) -> int:
        """Empty the text of up to ``limit`` posts dated before ``before``; return how many.

        ``flagged`` picks flagged or unflagged posts (each kind has its own retention).
        """
        candidates = (
            select(posts_t.c.id)
            .where(
                posts_t.c.flagged.is_(flagged),
                posts_t.c.text != EMPTY,
                posts_t.c.date < before,
            )
            .order_by(posts_t.c.date)
            .limit(limit)
        )
        async with self.engine.begin() as conn:
            ids = [row.id for row in await conn.execute(candidates)]
            if not ids:
                return 0
            # The flag again: a post flagged meanwhile (an edit, a rescan) falls under the
            # other retention and keeps its text here.
            prune = (
                update(posts_t)
                .where(posts_t.c.id.in_(ids), posts_t.c.flagged.is_(flagged))
                .values(text="")
            )
            return int((await conn.execute(prune)).rowcount)

    async def vacuum_mode(self) -> str | None:
        """Return SQLite's auto_vacuum mode (none, full, incremental); None on PostgreSQL."""
        if self.engine.dialect.name != "sqlite":
            return None
        async with self.engine.connect() as conn:
            value = (await conn.exec_driver_sql("PRAGMA auto_vacuum")).scalar_one()
        return {0: "none", 1: "full", 2: "incremental"}.get(int(value), str(value))

    async def incremental_vacuum(self, pages: int | None = 2000) -> int:
        """Give up to ``pages`` free pages (None: all) back to the file system (SQLite).

        Returns the pages freed; 0 on PostgreSQL (autovacuum reuses the space) or when the
        database was not created for incremental vacuum.
        """
        if await self.vacuum_mode() != "incremental":
            return 0
        async with self.engine.connect() as conn:
            before = await _free_pages(conn)
            # The pragma frees one page per step, and the driver's execute() steps a
            # statement without result columns once: executescript runs it to the end.
            raw: Any = (await conn.get_raw_connection()).driver_connection
            limit = "" if pages is None else f"({int(pages)})"
            await raw.executescript(f"PRAGMA incremental_vacuum{limit};")
            return before - await _free_pages(conn)

    async def full_vacuum(self) -> None:
        """Rebuild a SQLite file compactly, with incremental vacuum on from now on.

        Takes a while on a big database and waits for other writers; PostgreSQL: nothing.
        """
        if self.engine.dialect.name != "sqlite":
            return
        async with self.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("PRAGMA auto_vacuum=INCREMENTAL")
            await auto.exec_driver_sql("VACUUM")


async def _free_pages(conn: Any) -> int:
    return int((await conn.exec_driver_sql("PRAGMA freelist_count")).scalar_one())
