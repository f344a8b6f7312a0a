"""The alert outbox as the dispatcher sees it: due rows, claims, outcomes, requeues.

The pipeline commits one ``alerts`` row per flagged post and sink (``repository.store_batch``).
This module reads those rows back as ``Alert`` values and records what became of each:

* ``claim`` takes due rows for one attempt: ``attempts + 1``, ``last_error`` set to
  ``IN_FLIGHT`` and a lease on ``next_attempt_at``, only if they are still pending and due,
  so two dispatchers never send the same row. After a crash the lease runs out and the row
  is due again; the daemon's dispatcher ``recover``s such rows at once when it starts;
* ``finish`` marks rows ``sent``, ``digested`` (delivered inside a digest) or ``merged``
  (another source of a story already alerted), with ``sent_at`` and the sink's reference;
* ``retry`` and ``fail`` record the last error with the next attempt time or the end;
* ``requeue`` and ``drop`` are the user's (``monitor alerts retry|drop``): fresh attempts,
  or giving up for good; neither touches a row a dispatcher is sending.

It must not decide anything (backoff, folding, merging are the dispatcher's) and lets no
SQLAlchemy object out: callers get ``OutboxItem`` and plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.models import Alert, Match, Post
from monitor.storage.rows import (
    alerts_t,
    matches_for,
    post_from_row,
    posts_query,
    posts_t,
)

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
MERGED = "merged"
DIGESTED = "digested"
DROPPED = "dropped"  # given up by hand (``monitor alerts drop``), e.g. for a removed sink
MUTED = "muted"  # still waiting when a mute of its channel or rule was made: never sent
DELIVERED = (SENT, DIGESTED, MERGED)

#: ``last_error`` of a claimed row until its attempt ends: a crash leaves it there.
IN_FLIGHT = "in flight (claimed by a dispatcher)"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One outbox row with what it alerts about.

    ``alert`` is None for an operational notice, whose text is ``notice``, and for a
    ``deletion`` row, which ``corrects`` an alert whose post the channel deleted. For a
    story's first alert, ``alert.sources`` holds the posts of the rows merged into it.
    """

    id: int
    sink: str
    kind: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    merged_into: int | None
    external_id: str | None
    last_error: str | None
    alert: Alert | None
    notice: str | None = None
    sent_at: datetime | None = None
    delivery_id: str = ""
    corrects: int | None = None  # a ``deletion`` row: the alert whose post was deleted


async def _posts(conn: AsyncConnection, post_ids: Iterable[int]) -> dict[int, tuple[Post, Any]]:
    ids = sorted(set(post_ids))
    if not ids:
        return {}
    rows = await conn.execute(posts_query().where(posts_t.c.id.in_(ids)))
    return {row.id: (post_from_row(row), row.language) for row in rows}


async def _matches(conn: AsyncConnection, post_ids: Iterable[int]) -> dict[int, list[Match]]:
    found = await matches_for(conn, post_ids, best_first=False)
    return {post_id: list(matches) for post_id, matches in found.items()}


async def _sources(conn: AsyncConnection, root_ids: Sequence[int]) -> dict[int, list[int]]:
    """Return, for each root alert id, the post ids of the rows merged into it."""
    if not root_ids:
        return {}
    rows = await conn.execute(
        select(alerts_t.c.merged_into, alerts_t.c.post_id)
        .where(alerts_t.c.merged_into.in_(list(root_ids)), alerts_t.c.state != FAILED)
        .order_by(alerts_t.c.id)
    )
    found: dict[int, list[int]] = {}
    for row in rows:
        found.setdefault(row.merged_into, []).append(row.post_id)
    return found


def _item(
    row: Row[Any],
    posts: dict[int, tuple[Post, Any]],
    matches: dict[int, list[Match]],
    sources: dict[int, list[int]],
) -> OutboxItem:
    alert = None
    if row.post_id is not None and row.post_id in posts and matches.get(row.post_id):
        post, language = posts[row.post_id]
        merged = tuple(posts[p][0] for p in sources.get(row.id, []) if p in posts)
        found = tuple(matches[row.post_id])
        alert = Alert(row.id, row.sink, post, found, merged, language, post_id=row.post_id)
    payload = row.payload or {}
    notice = payload.get("text") if row.kind != "post" else None
    return OutboxItem(
        id=row.id,
        sink=row.sink,
        kind=row.kind,
        state=row.state,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        merged_into=row.merged_into,
        external_id=row.external_id,
        last_error=row.last_error,
        alert=alert,
        notice=notice,
        sent_at=row.sent_at,
        delivery_id=row.delivery_id or f"alert-{row.id}",
        corrects=payload.get("alert_id") if row.kind == "deletion" else None,
    )


class Outbox:
    """The ``alerts`` table, reached through the service's async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _load(self, conn: AsyncConnection, rows: Sequence[Row[Any]]) -> list[OutboxItem]:
        sources = await _sources(conn, [row.id for row in rows if row.merged_into is None])
        post_ids = {row.post_id for row in rows if row.post_id is not None}
        post_ids |= {p for ids in sources.values() for p in ids}
        posts = await _posts(conn, post_ids)
        matches = await _matches(conn, {row.post_id for row in rows if row.post_id})
        return [_item(row, posts, matches, sources) for row in rows]

    async def due(self, sink: str, now: datetime, limit: int = 500) -> list[OutboxItem]:
        """Return ``sink``'s pending rows due at ``now``, oldest first."""
        query = (
            select(alerts_t)
            .where(
                alerts_t.c.sink == sink,
                alerts_t.c.state == PENDING,
                alerts_t.c.next_attempt_at <= now,
            )
            .order_by(alerts_t.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return await self._load(conn, list(await conn.execute(query)))

    async def get(self, ids: Iterable[int]) -> dict[int, OutboxItem]:
        """Return the rows with ``ids`` (whatever their state), by id."""
        ids = sorted(set(ids))
        if not ids:
            return {}
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(select(alerts_t).where(alerts_t.c.id.in_(ids))))
            return {item.id: item for item in await self._load(conn, rows)}

    async def next_due(self, sink: str) -> datetime | None:
        """Return when ``sink``'s next pending row falls due, if it has any."""
        query = select(func.min(alerts_t.c.next_attempt_at)).where(
            alerts_t.c.sink == sink, alerts_t.c.state == PENDING
        )
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return cast(datetime | None, value)

    async def claim(self, ids: Sequence[int], now: datetime, lease_until: datetime) -> list[int]:
        """Take the still pending, due rows among ``ids`` for one attempt; return their ids."""
        if not ids:
            return []
        # Row by row with FOR UPDATE SKIP LOCKED on PostgreSQL: a row another dispatcher is
        # claiming this instant is skipped, not waited for; the conditions are checked again
        # on the locked row, so only one claim of a row ever succeeds (SQLite has one writer).
        chosen = (
            select(alerts_t.c.id)
            .where(
                alerts_t.c.id.in_(list(ids)),
                alerts_t.c.state == PENDING,
                alerts_t.c.next_attempt_at <= now,
            )
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(alerts_t)
            .where(alerts_t.c.id.in_(chosen.scalar_subquery()))
            .values(
                attempts=alerts_t.c.attempts + 1, next_attempt_at=lease_until, last_error=IN_FLIGHT
            )
            .returning(alerts_t.c.id)
        )
        async with self.engine.begin() as conn:
            return sorted(row.id for row in await conn.execute(statement))

    async def finish(
        self,
        ids: Sequence[int],
        state: str,
        now: datetime,
        *,
        external_id: str | None = None,
        merged_into: int | None = None,
    ) -> None:
        """Record that ``ids`` were delivered (``sent``, ``digested``) or ``merged``."""
        if state not in DELIVERED:
            raise ValueError(f"not a delivered state: {state}")
        values: dict[str, Any] = {"state": state, "sent_at": now, "last_error": None}
        if external_id is not None:
            values["external_id"] = external_id
        if merged_into is not None:
            values["merged_into"] = merged_into
        await self._update(ids, values)

    async def recover(self, now: datetime) -> int:
        """Make rows a crashed dispatcher left claimed due now; return how many.

        Only the one long-running dispatcher may call this at its start (the daemon holds
        the session lock; in a cluster, the dispatch lock): a concurrent dispatcher's claims
        would be taken from it.
        """
        statement = (
            update(alerts_t)
            .where(alerts_t.c.state == PENDING, alerts_t.c.last_error == IN_FLIGHT)
            .values(next_attempt_at=now)
            .returning(alerts_t.c.id)
        )
        async with self.engine.begin() as conn:
            return len((await conn.execute(statement)).all())

    async def retry(self, ids: Sequence[int], next_attempt_at: datetime, error: str) -> None:
        """Record a failed attempt; the rows are due again at ``next_attempt_at``."""
        await self._update(ids, {"next_attempt_at": next_attempt_at, "last_error": error})

    async def fail(self, ids: Sequence[int], error: str) -> None:
        """Give up on ``ids``: state ``failed`` with the last error."""
        await self._update(ids, {"state": FAILED, "last_error": error})

    async def hold(self, ids: Sequence[int], until: datetime) -> None:
        """Postpone ``ids`` to ``until`` without counting an attempt (quiet hours)."""
        await self._update(ids, {"next_attempt_at": until})

    async def link(self, alert_id: int, root_id: int) -> None:
        """Record that ``alert_id`` is another source of the story ``root_id`` alerted."""
        await self._update([alert_id], {"merged_into": root_id})

    async def _update(self, ids: Sequence[int], values: dict[str, Any]) -> None:
        if not ids:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                update(alerts_t).where(alerts_t.c.id.in_(list(ids))).values(**values)
            )

    async def stories(self, sink: str, since: datetime) -> list[tuple[int, int, Post, datetime]]:
        """Return ``(id, story root id, post, created_at)`` of ``sink``'s recent post alerts.

        Rows created since ``since`` that are pending or delivered, oldest first: what the
        dispatcher needs to rebuild its story index after a restart.
        """
        query = (
            select(alerts_t.c.id, alerts_t.c.merged_into, alerts_t.c.created_at, alerts_t.c.post_id)
            .where(
                alerts_t.c.sink == sink,
                alerts_t.c.kind == "post",
                alerts_t.c.state != FAILED,
                alerts_t.c.created_at >= since,
            )
            .order_by(alerts_t.c.id)
        )
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query))
            posts = await _posts(conn, [row.post_id for row in rows])
        return [
            (row.id, row.merged_into or row.id, posts[row.post_id][0], row.created_at)
            for row in rows
            if row.post_id in posts
        ]

    async def listing(self, states: Sequence[str] = (PENDING, FAILED)) -> list[OutboxItem]:
        """Return the rows in ``states`` (default: pending and failed), oldest first."""
        query = select(alerts_t).where(alerts_t.c.state.in_(list(states))).order_by(alerts_t.c.id)
        async with self.engine.connect() as conn:
            return await self._load(conn, list(await conn.execute(query)))

    async def requeue(self, ids: Sequence[int] | None, now: datetime) -> int:
        """Make failed (and waiting pending) rows due now with fresh attempts.

        Rows a dispatcher has claimed and is sending now are skipped.

        Args:
            ids: the rows to requeue, or None for every failed and pending row.
            now: the time they fall due.

        Returns:
            How many rows were requeued.
        """
        values = {"state": PENDING, "attempts": 0, "next_attempt_at": now}
        return await self._change_waiting(waiting_rows(now, ids=ids), values)

    async def drop(
        self, now: datetime, *, ids: Sequence[int] | None = None, sink: str | None = None
    ) -> int:
        """Give up on waiting rows for good (state ``dropped``); return how many.

        For alerts nobody will deliver, such as those of a sink removed from the config.
        Rows a dispatcher is sending now are skipped, as by ``requeue``.
        """
        values = {"state": DROPPED, "last_error": "dropped by `monitor alerts drop`"}
        return await self._change_waiting(waiting_rows(now, ids=ids, sink=sink), values)

    async def _change_waiting(self, condition: ColumnElement[bool], values: dict[str, Any]) -> int:
        statement = update(alerts_t).where(condition).values(**values).returning(alerts_t.c.id)
        async with self.engine.begin() as conn:
            return len((await conn.execute(statement)).all())

    async def counts(self) -> dict[tuple[str, str], int]:
        """Return how many rows each ``(sink, state)`` holds."""
        query = select(alerts_t.c.sink, alerts_t.c.state, func.count()).group_by(
            alerts_t.c.sink, alerts_t.c.state
        )
        async with self.engine.connect() as conn:
            return {(row[0], row[1]): int(row[2]) for row in await conn.execute(query)}


def waiting_rows(
    now: datetime, *, ids: Sequence[int] | None = None, sink: str | None = None
) -> ColumnElement[bool]:
    """Pending and failed rows (of ``ids``, of ``sink``) that no dispatcher is sending now."""
    # A row a running dispatcher holds is left alone until its lease ends: changing it would
    # let a second sender deliver it while the first still is.
    not_held = or_(
        alerts_t.c.last_error.is_(None),
        alerts_t.c.last_error != IN_FLIGHT,
        alerts_t.c.next_attempt_at <= now,
    )
    condition = and_(alerts_t.c.state.in_([PENDING, FAILED]), not_held)
    if ids is not None:
        condition = and_(condition, alerts_t.c.id.in_(list(ids)))
    if sink is not None:
        condition = and_(condition, alerts_t.c.sink == sink)
    return condition
