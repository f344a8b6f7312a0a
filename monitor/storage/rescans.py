"""Rescans: re-applied rules recorded on stored posts, with their matches and alert rows.

``record_rescan`` adds what a rule set found that is not yet recorded, flags posts that were
not flagged (claiming the flag as the sweep does, so a post flagged meanwhile alerts once) and
queues their alerts. SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.models import Classified, Post
from monitor.storage.post_batches import BatchResult, PostBatches
from monitor.storage.rows import channels_t, matches_t, posts_t, rescan_progress_t


@dataclass
class RescanResult:
    """What one ``record_rescan`` changed: posts scanned, newly flagged, matches, alert rows."""

    scanned: int = 0
    flagged: int = 0
    matches: int = 0
    alerts: int = 0


@dataclass
class RescanProgress:
    """Where the rescan with one rules version stands (``after_post_id``: last recorded)."""

    ruleset_version: str
    after_post_id: int = 0
    total: int = 0
    scanned: int = 0
    flagged: int = 0
    matches: int = 0
    alerts: int = 0
    finished_at: datetime | None = None


#: What the rules read of a stored post: nothing else is fetched (no matches, no counters).
_RESCAN_COLUMNS = (
    posts_t.c.id,
    posts_t.c.message_id,
    posts_t.c.date,
    posts_t.c.text,
    posts_t.c.edit_date,
    posts_t.c.grouped_id,
    posts_t.c.forward_from,
    posts_t.c.deleted_at,
    channels_t.c.telegram_id,
    channels_t.c.username,
    channels_t.c.title,
)


class Rescans(PostBatches):
    """Post batches, and the re-application of rules to stored posts."""

    async def next_post_ids(self, after_id: int, limit: int) -> list[int]:
        """Return up to ``limit`` post row ids above ``after_id``, in order (a rescan's next
        chunk: only the primary key index is read)."""
        query = select(posts_t.c.id).where(posts_t.c.id > after_id).order_by(posts_t.c.id)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query.limit(limit))).scalars())

    async def posts_to_rescan(self, after_id: int, last_id: int) -> list[tuple[int, Post]]:
        """Return the stored posts with row ids in (``after_id``, ``last_id``], by row id,
        with only what the rules read (the lean read a rescan makes a million times)."""
        query = (
            select(*_RESCAN_COLUMNS)
            .join(channels_t, channels_t.c.id == posts_t.c.channel_id)
            .where(posts_t.c.id > after_id, posts_t.c.id <= last_id)
            .order_by(posts_t.c.id)
        )
        async with self.engine.connect() as conn:
            return [(row.id, _post(row)) for row in await conn.execute(query)]

    async def rescan_progress(self, ruleset_version: str) -> RescanProgress | None:
        """Return where the rescan with these rules stands (None: never started)."""
        query = select(rescan_progress_t).where(
            rescan_progress_t.c.ruleset_version == ruleset_version
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        fields = {name: getattr(row, name) for name in RescanProgress.__dataclass_fields__}
        return RescanProgress(**fields)

    async def save_rescan_progress(self, progress: RescanProgress) -> None:
        """Record ``progress`` (one row per rules version, replaced)."""
        values = {**asdict(progress), "updated_at": datetime.now(UTC)}
        table = rescan_progress_t
        async with self.engine.begin() as conn:
            version = table.c.ruleset_version == progress.ruleset_version
            changed = await conn.execute(update(table).where(version).values(values))
            if not changed.rowcount:
                await conn.execute(
                    table.insert().values({**values, "started_at": values["updated_at"]})
                )

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


def _post(row: Any) -> Post:  # a Row of _RESCAN_COLUMNS
    return Post(
        channel_id=row.telegram_id or 0,
        message_id=row.message_id,
        date=row.date,
        text=row.text,
        edit_date=row.edit_date,
        grouped_id=row.grouped_id,
        forward_from=row.forward_from,
        channel_username=row.username,
        channel_title=row.title,
        deleted_at=row.deleted_at,
    )
