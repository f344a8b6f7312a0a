"""Post batches: new posts, their matches, their alert rows and the cursor, in one transaction.

``store_batch`` is idempotent on (channel, message id), so a crash at any point loses nothing
and stores nothing twice; an edit that makes a stored post match flags it and queues its
alerts once; a post the database refuses is recorded (``post_errors``). Rescans are in
``rescans``. SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.models import Channel, Classified, Match
from monitor.storage.mutes import channel_keys, muting, read_active
from monitor.storage.post_errors import database_trouble, describe_error, record_post_errors
from monitor.storage.rows import (
    StoreBase,
    StoredPost,
    alerts_t,
    channels_t,
    matches_for,
    matches_t,
    posts_query,
    posts_t,
    stored_post,
)
from monitor.storage.tables import utcnow


@dataclass
class BatchResult:
    """What one ``store_batch`` changed: new posts, newly flagged ones, alert rows, failures.

    ``post_errors`` maps the message id of each post that could not be stored to the error;
    ``muted_message_ids`` lists the flagged posts whose alerts a mute held back.
    """

    new_message_ids: list[int] = field(default_factory=list)
    flagged_message_ids: list[int] = field(default_factory=list)
    muted_message_ids: list[int] = field(default_factory=list)
    alerts_created: int = 0
    edited: int = 0
    post_errors: dict[int, str] = field(default_factory=dict)

    def absorb(self, other: BatchResult) -> None:
        """Add what another (committed) batch changed."""
        self.new_message_ids += other.new_message_ids
        self.flagged_message_ids += other.flagged_message_ids
        self.muted_message_ids += other.muted_message_ids
        self.alerts_created += other.alerts_created
        self.edited += other.edited
        self.post_errors.update(other.post_errors)


@dataclass(frozen=True)
class _Batch:
    """How one batch is stored: where its cursor goes and what kind of batch it is."""

    channel: Channel
    cursor: int | None
    alert_cutoff: datetime | None
    store_all: bool
    live: bool
    advance_from: int | None
    walked: bool


class PostBatches(StoreBase):
    """Writes and reads of posts, matches and their alert rows."""

    # Posts --------------------------------------------------------------------------------

    async def store_batch(
        self,
        channel: Channel,
        items: Sequence[Classified],
        *,
        cursor: int | None,
        alert_cutoff: datetime | None,
        store_all: bool = True,
        live: bool = False,
        advance_from: int | None = None,
        walked: bool = False,
    ) -> BatchResult:
        """Store a batch of classified posts and move the cursor, in one transaction.

        New posts are inserted (ignoring ones already stored), with their matches and alert
        rows; an already stored post whose edit made it newly flagged gets its matches and
        alert rows now. Posts dated before ``alert_cutoff`` create no alert. When the batch
        fails for a reason other than the database's own trouble, its posts are stored one
        by one; each one that still fails is recorded in ``post_errors`` (and in the result)
        and the cursor moves on: no single post stops a channel.

        Args:
            channel: the channel the posts belong to.
            items: the posts with their rule matches and target sinks.
            cursor: the new cursor (highest message id the sweep saw), or None to keep it.
            alert_cutoff: posts older than this raise no alert (None: all may alert).
            store_all: keep unflagged posts too (``store = "all"``).
            live: the posts came from live updates rather than the sweep.
            advance_from: move the cursor only if it reached ``advance_from - 1`` (live posts
                may continue the cursor, never jump over a gap the sweep has not read).
            walked: this batch ends the channel's first walk (the initial backfill).

        Raises:
            SQLAlchemyError: the database is unreachable or busy; nothing was stored.
        """
        batch = _Batch(channel, cursor, alert_cutoff, store_all, live, advance_from, walked)
        try:
            return await self._store_together(batch, items, BatchResult())
        except Exception as error:
            if not items or database_trouble(error):
                raise
        return await self._store_apart(batch, items)

    async def _store_together(
        self,
        batch: _Batch,
        items: Sequence[Classified],
        result: BatchResult,
        errors: Mapping[int, str] | None = None,
    ) -> BatchResult:
        channel, cursor = batch.channel, batch.cursor
        async with self.engine.begin() as conn:
            keep = [item for item in items if batch.store_all or item.flagged]
            if keep:
                inserted = await self._insert_posts(conn, channel, keep, batch.live)
                await self._after_insert(conn, channel, keep, inserted, batch.alert_cutoff, result)
            if cursor is not None or items or batch.walked:
                await self._advance_channel(conn, batch, items)
            if errors:
                await record_post_errors(conn, self._insert, channel.id, errors)
        return result

    async def _store_apart(self, batch: _Batch, items: Sequence[Classified]) -> BatchResult:
        """Store each post in its own transaction; record those that fail, then move on."""
        result = BatchResult()
        alone = replace(batch, cursor=None, advance_from=None, walked=False)
        for item in items:
            try:
                one = await self._store_together(alone, [item], BatchResult())
            except Exception as error:
                if database_trouble(error):
                    raise
                result.post_errors[item.post.message_id] = describe_error(error)
            else:
                result.absorb(one)
        return await self._store_together(batch, [], result, result.post_errors)

    async def _insert_posts(
        self, conn: AsyncConnection, channel: Channel, items: Sequence[Classified], live: bool
    ) -> dict[int, int]:
        now = utcnow()
        rows = [_post_values(channel, item, live, now) for item in items]
        # One cached statement run with many parameter sets (SQLAlchemy batches them into
        # multi-row INSERTs): building ``.values(rows)`` anew compiled every page from scratch,
        # which cost more than the rest of the pipeline together.
        statement = (
            self._insert(posts_t)
            .on_conflict_do_nothing(index_elements=["channel_id", "message_id"])
            .returning(posts_t.c.id, posts_t.c.message_id)
        )
        result = await conn.execute(statement, rows)
        return {row.message_id: row.id for row in result}

    async def _after_insert(
        self,
        conn: AsyncConnection,
        channel: Channel,
        items: Sequence[Classified],
        inserted: dict[int, int],
        alert_cutoff: datetime | None,
        result: BatchResult,
    ) -> None:
        result.new_message_ids = sorted(inserted)
        existing = [item for item in items if item.post.message_id not in inserted]
        known = await self._existing_posts(conn, channel, existing)
        for item in items:
            message_id = item.post.message_id
            if message_id in inserted:
                if item.flagged:
                    await self._flag(conn, inserted[message_id], item, alert_cutoff, result)
                continue
            row = known.get(message_id)
            if row is None:
                continue
            result.edited += await self._apply_edit(conn, row, item)
            if item.flagged and not row.flagged and await self._claim_flag(conn, row.id):
                await self._flag(conn, row.id, item, alert_cutoff, result)

    async def _existing_posts(
        self, conn: AsyncConnection, channel: Channel, items: Sequence[Classified]
    ) -> dict[int, Any]:
        if not items:
            return {}
        ids = [item.post.message_id for item in items]
        columns = (posts_t.c.id, posts_t.c.message_id, posts_t.c.flagged, posts_t.c.text)
        query = select(*columns).where(
            and_(posts_t.c.channel_id == channel.id, posts_t.c.message_id.in_(ids))
        )
        return {row.message_id: row for row in await conn.execute(query)}

    async def _apply_edit(self, conn: AsyncConnection, row: Row[Any], item: Classified) -> int:
        post = item.post
        if post.text == row.text:
            return 0
        # The live updates and the sweep may deliver two versions out of order: a version
        # never replaces a later edit (an unedited original has no edit date).
        stored = posts_t.c.edit_date
        newer = (
            stored.is_(None)
            if post.edit_date is None
            else or_(stored.is_(None), stored <= post.edit_date)
        )
        values = {"text": post.text, "edit_date": post.edit_date}
        edit = update(posts_t).where(and_(posts_t.c.id == row.id, newer)).values(**values)
        return int(bool((await conn.execute(edit)).rowcount))

    async def _claim_flag(self, conn: AsyncConnection, post_id: int) -> bool:
        """Flag a stored post; False when another writer flagged it first (that one alerts).

        The live updates and the sweep can classify the same edit at the same moment, each
        having read the post as unflagged. The conditional update is the arbiter: PostgreSQL
        re-checks ``NOT flagged`` once the other transaction commits, and SQLite runs one
        writer at a time, so exactly one of them records matches and alert rows.
        """
        claim = (
            update(posts_t)
            .where(and_(posts_t.c.id == post_id, posts_t.c.flagged.is_(False)))
            .values(flagged=True)
        )
        return bool((await conn.execute(claim)).rowcount)

    async def _insert_matches(
        self, conn: AsyncConnection, post_id: int, matches: Sequence[Match], version: str
    ) -> list[Row[Any]]:
        """Insert a post's matches, skipping rules already recorded for it; return the new rows."""
        statement = (
            self._insert(matches_t)
            .on_conflict_do_nothing(index_elements=["post_id", "rule_id"])
            .returning(matches_t.c.id, matches_t.c.score)
        )
        rows = [_match_values(post_id, match, version) for match in matches]
        return list((await conn.execute(statement, rows)).all())

    async def _flag(
        self,
        conn: AsyncConnection,
        post_id: int,
        item: Classified,
        alert_cutoff: datetime | None,
        result: BatchResult,
    ) -> None:
        inserted = await self._insert_matches(conn, post_id, item.matches, item.ruleset_version)
        result.flagged_message_ids.append(item.post.message_id)
        if not inserted:
            return  # every match was already recorded, and alerted, by another writer
        best = max(inserted, key=lambda row: row.score)
        moment = item.post.edit_date or item.post.date
        if not item.sinks or (alert_cutoff is not None and moment < alert_cutoff):
            return
        keys = channel_keys(item.post.channel_username, item.post.channel_id)
        if muting(await read_active(conn, utcnow()), keys, item.matches) is not None:
            # Read in this transaction, only for a post about to alert: a mute made a moment
            # ago (CLI, web page, an alert's button) holds in the running daemon.
            result.muted_message_ids.append(item.post.message_id)
            return
        rows = [
            {
                "post_id": post_id,
                "match_id": best.id,
                "sink": sink,
                "kind": "post",
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": utcnow(),
                "story_key": item.post.forward_from,
                "created_at": utcnow(),
            }
            for sink in item.sinks
        ]
        statement = (
            self._insert(alerts_t)
            .on_conflict_do_nothing(index_elements=["post_id", "sink"])
            .returning(alerts_t.c.id)
        )
        result.alerts_created += len((await conn.execute(statement, rows)).all())

    async def _advance_channel(
        self, conn: AsyncConnection, batch: _Batch, items: Sequence[Classified]
    ) -> None:
        channel, cursor = batch.channel, batch.cursor
        values: dict[str, Any] = {}
        if cursor is not None:
            values["last_polled_at"] = utcnow()  # a poll (live posts and backfill are not)
            values["last_message_id"] = _advanced_cursor(cursor, batch.advance_from)
        if cursor is not None and not batch.live:
            # The status tells how the sweep fares: live posts arriving say nothing of it.
            values["status"] = "active"
            values["last_error"] = None
            values["error_alerted"] = False
            values["failed_cycles"] = 0
        if batch.walked:
            values["walked_at"] = utcnow()
        if items:
            # Never move backwards either: a backfill or an edit stores older posts.
            newest = max(item.post.date for item in items)
            last = channels_t.c.last_post_at
            values["last_post_at"] = case((or_(last.is_(None), last < newest), newest), else_=last)
        if not values:
            return
        await conn.execute(update(channels_t).where(channels_t.c.id == channel.id).values(**values))

    async def oldest_message_id(self, channel_id: int) -> int | None:
        """Return the lowest stored message id of a channel (where a backfill resumes)."""
        query = select(func.min(posts_t.c.message_id)).where(posts_t.c.channel_id == channel_id)
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one()
        return None if value is None else int(value)

    async def stored_posts_after(self, after_id: int, limit: int) -> list[StoredPost]:
        """Return up to ``limit`` stored posts with a row id above ``after_id``, by row id."""
        query = (
            posts_query(False)
            .order_by(None)
            .order_by(posts_t.c.id)
            .where(posts_t.c.id > after_id)
            .limit(limit)
        )
        return await self.stored_posts(query)

    async def count_posts_after(self, after_id: int) -> int:
        """Return how many posts are stored with a row id above ``after_id``."""
        from sqlalchemy import func

        query = select(func.count()).select_from(posts_t).where(posts_t.c.id > after_id)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def count_posts(self, channel_id: int | None = None) -> int:
        """Return how many posts are stored (in one channel, or in all)."""
        from sqlalchemy import func

        query = select(func.count()).select_from(posts_t)
        if channel_id is not None:
            query = query.where(posts_t.c.channel_id == channel_id)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def stored_posts(
        self, query: Select[Any] | None = None, *, flagged_only: bool = False
    ) -> list[StoredPost]:
        """Return stored posts (newest first) with their channel and matches."""
        query = query if query is not None else posts_query(flagged_only)
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query))
            matches = await matches_for(conn, [row.id for row in rows])
        return [stored_post(row, matches.get(row.id, ())) for row in rows]


def _post_values(channel: Channel, item: Classified, live: bool, now: datetime) -> dict[str, Any]:
    post = item.post
    return {
        "channel_id": channel.id,
        "message_id": post.message_id,
        "date": post.date,
        "edit_date": post.edit_date,
        "text": post.text,
        "views": post.views,
        "forwards": post.forwards,
        "grouped_id": post.grouped_id,
        "forward_from": post.forward_from,
        "link": post.link,
        "language": item.language,
        "flagged": item.flagged,
        "live": live,
        "created_at": now,
    }


def _advanced_cursor(cursor: int, advance_from: int | None) -> ColumnElement[int]:
    """The channel's cursor moved to ``cursor``, worked out by the database.

    It never moves backwards (a slower, older batch), and live posts starting at
    ``advance_from`` never carry it over a gap the sweep has not read yet. Computed in the
    UPDATE rather than from a value read before it, so two writers committing in either
    order cannot rewind it.
    """
    current = channels_t.c.last_message_id
    moves = current < cursor
    if advance_from is not None:
        moves = and_(moves, current >= advance_from - 1)
    return case((moves, cursor), else_=current)


def _match_values(post_id: int, match: Match, ruleset_version: str) -> dict[str, Any]:
    return {
        "post_id": post_id,
        "rule_id": match.rule_id,
        "category": match.category,
        "score": match.score,
        "terms": [hit.term for hit in match.hits],
        "spans": [[hit.start, hit.end] for hit in match.hits],
        "ruleset_version": ruleset_version,
        "created_at": utcnow(),
    }
