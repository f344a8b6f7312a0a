"""Channel state: what each reference resolved to, its cursor and health, flood waits.

The part of the repository the channel watcher uses between cycles; ``post_batches`` holds
the per-cycle writes. SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select, update

from monitor.models import Channel, storable_text
from monitor.storage.post_errors import post_errors_t
from monitor.storage.rows import StoreBase, alerts_t, channels_t, flood_t, posts_t
from monitor.storage.tables import utcnow


@dataclass(frozen=True)
class ChannelOverview:
    """A channel, how many of its posts were flagged, how many could not be stored, and how
    many the sweep found that live updates had missed."""

    channel: Channel
    flagged: int
    post_errors: int = 0
    missed_by_live: int = 0


def channel_from_row(row: Row[Any]) -> Channel:
    """Turn a ``channels`` row into a ``Channel``."""
    return Channel(
        id=row.id,
        ref=row.ref,
        status=row.status,
        telegram_id=row.telegram_id,
        access_hash=row.access_hash,
        username=row.username,
        title=row.title,
        joined=row.joined,
        cursor=row.last_message_id,
        last_post_at=row.last_post_at,
        last_polled_at=row.last_polled_at,
        last_error=row.last_error,
        flood_wait_until=row.flood_wait_until,
        walked=row.walked_at is not None,
    )


def overview_query() -> Select[Any]:
    """Every channel with its flagged posts counted from the flagged posts' own index."""
    # Grouped on ``channel_id + 0``: SQLite without statistics would otherwise walk the
    # million-entry (channel_id, ...) index for its order rather than the flagged ones only.
    channel_id = (posts_t.c.channel_id + 0).label("channel_id")
    flagged = (
        select(channel_id, func.count().label("flagged"))
        .where(posts_t.c.flagged.is_(True))
        .group_by(channel_id)
        .subquery()
    )
    failed = (
        select(post_errors_t.c.channel_id, func.count().label("post_errors"))
        .group_by(post_errors_t.c.channel_id)
        .subquery()
    )
    return (
        select(channels_t, flagged.c.flagged, failed.c.post_errors)
        .outerjoin(flagged, flagged.c.channel_id == channels_t.c.id)
        .outerjoin(failed, failed.c.channel_id == channels_t.c.id)
        .order_by(channels_t.c.id)
    )


class ChannelState(StoreBase):
    """Reads and writes of the channels table, flood waits and operational alerts."""

    # Channels -----------------------------------------------------------------------------

    async def sync_channels(self, refs: Iterable[str]) -> list[Channel]:
        """Make sure a row exists for each configured reference; return them in order."""
        refs = list(dict.fromkeys(refs))
        async with self.engine.begin() as conn:
            if refs:
                rows = [{"ref": ref, "created_at": utcnow()} for ref in refs]
                await conn.execute(
                    self._insert(channels_t)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["ref"])
                )
            result = await conn.execute(select(channels_t).where(channels_t.c.ref.in_(refs)))
            by_ref = {row.ref: channel_from_row(row) for row in result}
        return [by_ref[ref] for ref in refs]

    async def channels(self) -> list[Channel]:
        """Return every known channel."""
        async with self.engine.connect() as conn:
            result = await conn.execute(select(channels_t).order_by(channels_t.c.id))
            return [channel_from_row(row) for row in result]

    async def channel(self, channel_id: int) -> Channel:
        """Return one channel by row id."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(channels_t).where(channels_t.c.id == channel_id))
            ).one()
            return channel_from_row(row)

    async def save_resolution(
        self,
        channel_id: int,
        *,
        telegram_id: int,
        access_hash: int,
        username: str | None,
        title: str | None,
        joined: bool,
    ) -> Channel:
        """Store what a reference resolved to, so it is never resolved again."""
        values = {
            "telegram_id": telegram_id,
            "access_hash": access_hash,
            "username": username,
            "title": None if title is None else storable_text(title),
            "joined": joined,
            "status": "active",
            "last_error": None,
            "error_alerted": False,
            "resolved_at": utcnow(),
        }
        await self._update_channel(channel_id, values)
        return await self.channel(channel_id)

    async def reset_channel(self, channel_id: int) -> None:
        """Forget a channel's access hash, status and error: it is resolved again.

        Its Telegram id, cursor and posts stay, so nothing is read twice; the id is kept to
        check that the reference still names the same channel.
        """
        values = {
            "access_hash": None,
            "status": "pending",
            "joined": False,
            "last_error": None,
            "error_alerted": False,
            "flood_wait_until": None,
            "resolved_at": None,
        }
        await self._update_channel(channel_id, values)

    async def set_joined(self, channel_id: int, joined: bool = True) -> None:
        """Record that the account joined (or left) the channel."""
        await self._update_channel(channel_id, {"joined": joined})

    async def set_status(self, channel_id: int, status: str, error: str | None) -> bool:
        """Record a channel's status and error; return True when this is a new problem.

        A new problem is one not yet announced; the caller raises one operational alert for it.
        """
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(channels_t.c.status, channels_t.c.error_alerted).where(
                        channels_t.c.id == channel_id
                    )
                )
            ).one()
            announce = error is not None and not (row.status == status and row.error_alerted)
            await conn.execute(
                update(channels_t)
                .where(channels_t.c.id == channel_id)
                .values(
                    status=status,
                    last_error=error,
                    error_alerted=error is not None and (announce or row.error_alerted),
                    last_polled_at=utcnow(),
                )
            )
        return announce

    async def record_failure(
        self, channel_id: int, error: str, *, failing_after: int
    ) -> tuple[int, bool]:
        """Count a failed cycle and record its error; the ``failing_after``-th makes it failing.

        Returns the cycles failed in a row, and True when the channel has just become failing
        and that was not yet announced (the caller raises one operational alert). A sweep
        that succeeds makes the channel active again and the count 0.
        """
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(
                        channels_t.c.status, channels_t.c.error_alerted, channels_t.c.failed_cycles
                    ).where(channels_t.c.id == channel_id)
                )
            ).one()
            in_a_row = int(row.failed_cycles or 0) + 1
            values: dict[str, Any] = {"last_error": storable_text(error), "failed_cycles": in_a_row}
            failing = in_a_row >= failing_after
            announce = failing and not (row.status == "failing" and row.error_alerted)
            if failing:
                values |= {"status": "failing", "error_alerted": True}
            await conn.execute(
                update(channels_t).where(channels_t.c.id == channel_id).values(**values)
            )
        return in_a_row, announce

    async def set_channel_flood_wait(self, channel_id: int, until: datetime | None) -> None:
        """Record until when the channel's polling waits on Telegram."""
        await self._update_channel(channel_id, {"flood_wait_until": until})

    async def _update_channel(self, channel_id: int, values: dict[str, Any]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(channels_t).where(channels_t.c.id == channel_id).values(**values)
            )

    # Flood waits --------------------------------------------------------------------------

    async def record_flood_wait(self, method: str, until: datetime, seconds: int) -> None:
        """Persist a flood wait for ``method`` so a restart respects it."""
        values = {"method": method, "until": until, "seconds": seconds, "recorded_at": utcnow()}
        statement = self._insert(flood_t).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["method"], set_={"until": until, "seconds": seconds}
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def flood_waits(self, now: datetime | None = None) -> dict[str, datetime]:
        """Return the flood waits still in force, by method."""
        now = now or utcnow()
        async with self.engine.connect() as conn:
            result = await conn.execute(select(flood_t).where(flood_t.c.until > now))
            return {row.method: row.until for row in result}

    # Operational alerts -------------------------------------------------------------------

    async def add_operational_alert(self, sinks: Sequence[str], text: str, key: str) -> int:
        """Queue a notice about the service itself (not a post) for each sink."""
        if not sinks:
            return 0
        rows = [
            {
                "post_id": None,
                "sink": sink,
                "kind": "operational",
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": utcnow(),
                "story_key": key,
                "payload": {"text": text, "key": key},
                "created_at": utcnow(),
            }
            for sink in sinks
        ]
        async with self.engine.begin() as conn:
            await conn.execute(alerts_t.insert().values(rows))
        return len(rows)

    async def channel_overview(self) -> list[ChannelOverview]:
        """Return every channel with its flagged-post count, for ``monitor channels``."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(overview_query())
            return [
                ChannelOverview(
                    channel_from_row(row),
                    int(row.flagged or 0),
                    post_errors=int(row.post_errors or 0),
                    missed_by_live=int(row.missed_by_live or 0),
                )
                for row in rows
            ]

    async def add_missed_by_live(self, channel_id: int, count: int) -> None:
        """Add ``count`` posts the sweep found that live updates had missed to the channel's."""
        statement = (
            update(channels_t)
            .where(channels_t.c.id == channel_id)
            .values(missed_by_live=channels_t.c.missed_by_live + count)
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def posts_per_hour(self, since: datetime) -> dict[int, float]:
        """Return each channel's posts per hour since ``since`` (by channel row id)."""

        hours = max((utcnow() - since).total_seconds() / 3600.0, 1.0)
        query = (
            select(posts_t.c.channel_id, func.count())
            .where(posts_t.c.date >= since)
            .group_by(posts_t.c.channel_id)
        )
        async with self.engine.connect() as conn:
            return {row[0]: row[1] / hours for row in await conn.execute(query)}
