"""Rescans: re-applied rules recorded on stored posts, with their matches and alert rows.

``record_rescan`` adds what a rule set found that is not yet recorded, flags posts that were
not flagged (claiming the flag as the sweep does, so a post flagged meanwhile alerts once) and
queues their alerts. SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.models import Classified
from monitor.storage.post_batches import BatchResult, PostBatches
from monitor.storage.rows import matches_t, posts_t


@dataclass
class RescanResult:
    """What one ``record_rescan`` changed: posts scanned, newly flagged, matches, alert rows."""

    scanned: int = 0
    flagged: int = 0
    matches: int = 0
    alerts: int = 0


class Rescans(PostBatches):
    """Post batches, and the re-application of rules to stored posts."""

    async def record_rescan(
        self, items: Sequence[tuple[int, Classified]], *, alert_cutoff: datetime | None
    ) -> RescanResult:
        """Record what re-applied rules found in stored posts (by post row id), in one transaction.

        A rule that fired and is not yet recorded for the post adds a match; a post not flagged
        before becomes flagged and gets alert rows (unless dated before ``alert_cutoff``).
        Running it twice records nothing twice.
        """
        result = RescanResult(scanned=len(items))
        found = [(post_id, item) for post_id, item in items if item.flagged]
        if not found:
            return result
        async with self.engine.begin() as conn:
            ids = [post_id for post_id, _ in found]
            flagged = await conn.execute(
                select(posts_t.c.id, posts_t.c.flagged).where(posts_t.c.id.in_(ids))
            )
            was_flagged = {row.id: bool(row.flagged) for row in flagged}
            known: dict[int, set[str]] = {}
            recorded = select(matches_t.c.post_id, matches_t.c.rule_id)
            for row in await conn.execute(recorded.where(matches_t.c.post_id.in_(ids))):
                known.setdefault(row.post_id, set()).add(row.rule_id)
            for post_id, item in found:
                await self._rescan_post(
                    conn, post_id, item, was_flagged, known, alert_cutoff, result
                )
        return result

    async def _rescan_post(
        self,
        conn: AsyncConnection,
        post_id: int,
        item: Classified,
        was_flagged: dict[int, bool],
        known: dict[int, set[str]],
        alert_cutoff: datetime | None,
        result: RescanResult,
    ) -> None:
        fresh = tuple(m for m in item.matches if m.rule_id not in known.get(post_id, set()))
        if not fresh or post_id not in was_flagged:
            return
        if was_flagged[post_id] or not await self._claim_flag(conn, post_id):
            inserted = await self._insert_matches(conn, post_id, fresh, item.ruleset_version)
            result.matches += len(inserted)
            return
        result.matches += len(fresh)
        await conn.execute(
            update(posts_t).where(posts_t.c.id == post_id).values(language=item.language)
        )
        batch = BatchResult()
        await self._flag(conn, post_id, replace(item, matches=fresh), alert_cutoff, batch)
        result.flagged += 1
        result.alerts += batch.alerts_created
