"""Instances and channel leases in PostgreSQL: register, renew, claim, release, list.

Several ``monitor run`` instances share one database; each channel is fetched only by the
instance holding its lease. Everything here uses PostgreSQL's own primitives: claims lock
lease rows with ``FOR UPDATE SKIP LOCKED`` (two instances never take the same row and never
wait on each other), and every time is the database's clock (``now()`` in UTC), so the
hosts' clocks do not matter. ``DispatchLock`` is a session advisory lock that the database
releases by itself when its holder dies. Deciding how many to claim or release is
``monitor.cluster``'s; this module only carries it out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.storage.account_channels import account_channels_t
from monitor.storage.channel_state import channel_from_row
from monitor.storage.rows import StoreBase, channels_t
from monitor.storage.tables import ChannelLeaseRow, InstanceRow

instances_t = cast(Table, InstanceRow.__table__)
leases_t = cast(Table, ChannelLeaseRow.__table__)

#: The advisory lock key of the cluster's one dispatcher ("monitor\0d" as an int64).
DISPATCH_LOCK_KEY = 0x6D6F6E69746F7264
#: The LISTEN/NOTIFY channel on which instances wake the dispatcher for new alerts.
ALERTS_CHANNEL = "monitor_alerts"


def db_now() -> Any:
    """The database's current time as naive UTC, as every stored time is."""
    return func.timezone("UTC", func.now())


def seconds(value: float) -> Any:
    """An interval of ``value`` seconds, for arithmetic with ``db_now()``."""
    return func.make_interval(0, 0, 0, 0, 0, 0, value)


@dataclass(frozen=True)
class InstanceInfo:
    """One registered instance as ``monitor cluster`` shows it."""

    id: int
    account: str
    host: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    available: bool
    held: int
    oldest_lease: datetime | None  # when the longest-held of its leases was acquired


@dataclass(frozen=True)
class ClusterOverview:
    """The instances, the database's time, and the enabled channels nobody holds."""

    now: datetime
    instances: list[InstanceInfo]
    unheld: list[str]  # channel labels


class Leases(StoreBase):
    """The ``instances`` and ``channel_leases`` tables (PostgreSQL only)."""

    async def register(self, account: str, host: str, pid: int, version: str) -> int:
        """Add this process as an instance; return its id."""
        values = {
            "account": account,
            "host": host,
            "pid": pid,
            "version": version,
            "started_at": db_now(),
            "heartbeat_at": db_now(),
            "available": True,
        }
        statement = instances_t.insert().values(values).returning(instances_t.c.id)
        async with self.engine.begin() as conn:
            return int((await conn.execute(statement)).scalar_one())

    async def ensure(self, channel_ids: Sequence[int]) -> None:
        """Make sure each channel has a lease row (unheld when new)."""
        if not channel_ids:
            return
        rows = [{"channel_id": channel_id} for channel_id in channel_ids]
        statement = self._insert(leases_t).values(rows).on_conflict_do_nothing()
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def renew(
        self,
        instance: int,
        lease: float,
        *,
        available: bool = True,
        resolves_ready: float | None = None,
    ) -> list[int]:
        """Extend every lease ``instance`` still holds and its heartbeat; return the channels.

        A lease that ran out and was taken by another instance is not among them: lost.
        ``available`` False (benched by a flood wait) leaves it out of the others' shares;
        ``resolves_ready`` publishes how many resolves its account could make now.
        """
        statement = (
            update(leases_t)
            .where(leases_t.c.holder_id == instance)
            .values(expires_at=db_now() + seconds(lease))
            .returning(leases_t.c.channel_id)
        )
        beat = (
            update(instances_t)
            .where(instances_t.c.id == instance)
            .values(
                heartbeat_at=db_now(),
                stopped_at=None,
                available=available,
                resolves_ready=resolves_ready,
            )
        )
        async with self.engine.begin() as conn:
            await conn.execute(beat)
            return sorted(row.channel_id for row in await conn.execute(statement))

    async def claim(
        self,
        instance: int,
        wanted: Sequence[int],
        limit: int,
        lease: float,
        *,
        idle: float = 0.0,
        account: str | None = None,
        known_only: bool = False,
    ) -> list[int]:
        """Take up to ``limit`` unheld (or expired) leases among ``wanted``; return them.

        ``idle`` asks for leases that ended at least that many seconds ago (or never were
        held): channels no instance within its fair share took. Rows another instance is
        claiming at this moment are skipped, not waited for.

        With ``account`` (a fair-share claim, ``idle`` 0), channels that account joined come
        first, and a private channel (no username) that someone held before is left to the
        accounts that joined it: others take it only once it is idle. ``known_only`` takes
        only channels the account can read without resolving them first.
        """
        if limit <= 0 or not wanted:
            return []
        free = or_(
            leases_t.c.expires_at.is_(None), leases_t.c.expires_at < db_now() - seconds(idle)
        )
        conditions = [leases_t.c.channel_id.in_(list(wanted)), free]
        order: list[Any] = [leases_t.c.channel_id]
        if account is not None:
            joined = _mine(account, account_channels_t.c.joined.is_(True))
            order.insert(0, joined.desc())
            if not idle:
                held_before = leases_t.c.expires_at.is_not(None)
                conditions.append(or_(joined, ~_private().exists(), ~held_before))
            if known_only:
                conditions.append(_known_to(account))
        chosen = (
            select(leases_t.c.channel_id)
            .where(*conditions)
            .order_by(*order)
            .limit(limit)
            .with_for_update(of=leases_t, skip_locked=True)
        )
        statement = (
            update(leases_t)
            .where(leases_t.c.channel_id.in_(chosen.scalar_subquery()))
            .values(holder_id=instance, acquired_at=db_now(), expires_at=db_now() + seconds(lease))
            .returning(leases_t.c.channel_id)
        )
        async with self.engine.begin() as conn:
            return sorted(row.channel_id for row in await conn.execute(statement))

    async def releasable(self, account: str, channel_ids: Sequence[int]) -> list[int]:
        """Order held channels for letting go: highest id first, private channels the
        account joined left out (its membership is what lets the cluster read them)."""
        if not channel_ids:
            return []
        sticky = and_(_private().exists(), _mine(account, account_channels_t.c.joined.is_(True)))
        query = (
            select(leases_t.c.channel_id)
            .where(leases_t.c.channel_id.in_(list(channel_ids)), ~sticky)
            .order_by(leases_t.c.channel_id.desc())
        )
        async with self.engine.connect() as conn:
            return [row.channel_id for row in await conn.execute(query)]

    async def release(self, instance: int, channel_ids: Sequence[int] | None = None) -> list[int]:
        """Let go of some (default: all) of ``instance``'s leases; they end now."""
        condition = leases_t.c.holder_id == instance
        if channel_ids is not None:
            condition = and_(condition, leases_t.c.channel_id.in_(list(channel_ids)))
        statement = (
            update(leases_t)
            .where(condition)
            .values(holder_id=None, expires_at=db_now())
            .returning(leases_t.c.channel_id)
        )
        async with self.engine.begin() as conn:
            return sorted(row.channel_id for row in await conn.execute(statement))

    async def stop(self, instance: int) -> None:
        """Release every lease of ``instance`` and mark it stopped (a clean stop)."""
        await self.release(instance)
        statement = (
            update(instances_t).where(instances_t.c.id == instance).values(stopped_at=db_now())
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def resolves_ready(self, lease: float) -> dict[int, float]:
        """Return, for each live and available instance, the resolves it published."""
        query = select(instances_t.c.id, instances_t.c.resolves_ready).where(*_live(lease))
        async with self.engine.connect() as conn:
            return {
                row.id: float("inf") if row.resolves_ready is None else row.resolves_ready
                for row in await conn.execute(query)
            }

    async def holdings(self, lease: float) -> dict[int, int]:
        """Return, for each live and available instance, how many leases it holds now.

        Live: renewed within one lease period and not stopped.
        """
        held = (
            select(leases_t.c.holder_id, func.count().label("held"))
            .where(leases_t.c.expires_at > db_now())
            .group_by(leases_t.c.holder_id)
            .subquery()
        )
        query = (
            select(instances_t.c.id, held.c.held)
            .outerjoin(held, held.c.holder_id == instances_t.c.id)
            .where(*_live(lease))
        )
        async with self.engine.connect() as conn:
            return {row.id: int(row.held or 0) for row in await conn.execute(query)}

    async def notify_alerts(self) -> None:
        """Tell the instance that dispatches (``LISTEN``) that new alerts are waiting."""
        async with self.engine.begin() as conn:
            await conn.execute(text(f"NOTIFY {ALERTS_CHANNEL}"))

    async def overview(self, refs: Sequence[str], since: float) -> ClusterOverview:
        """Return the instances seen within ``since`` seconds and the unheld ``refs``."""
        async with self.engine.connect() as conn:
            now = _aware((await conn.execute(select(db_now()))).scalar_one())
            instances = await _instances(conn, since)
            unheld = await _unheld(conn, refs)
        return ClusterOverview(now or datetime.now(UTC), instances, unheld)


async def _instances(conn: AsyncConnection, since: float) -> list[InstanceInfo]:
    live = leases_t.c.expires_at > db_now()
    held = (
        select(
            leases_t.c.holder_id,
            func.count().label("held"),
            func.min(leases_t.c.acquired_at).label("oldest"),
        )
        .where(live)
        .group_by(leases_t.c.holder_id)
        .subquery()
    )
    query = (
        select(instances_t, held.c.held, held.c.oldest)
        .outerjoin(held, held.c.holder_id == instances_t.c.id)
        .where(instances_t.c.heartbeat_at > db_now() - seconds(since))
        .order_by(instances_t.c.account, instances_t.c.id)
    )
    return [
        InstanceInfo(
            id=row.id,
            account=row.account,
            host=row.host,
            pid=row.pid,
            version=row.version,
            started_at=row.started_at,
            heartbeat_at=row.heartbeat_at,
            stopped_at=row.stopped_at,
            available=row.available,
            held=int(row.held or 0),
            oldest_lease=_aware(row.oldest),
        )
        for row in await conn.execute(query)
    ]


async def _unheld(conn: AsyncConnection, refs: Sequence[str]) -> list[str]:
    held = select(leases_t.c.channel_id).where(
        leases_t.c.holder_id.is_not(None), leases_t.c.expires_at > db_now()
    )
    query = (
        select(channels_t)
        .where(channels_t.c.ref.in_(list(refs)), channels_t.c.id.not_in(held))
        .order_by(channels_t.c.id)
    )
    # Labels, never raw references: an invite link's hash is a secret.
    return [channel_from_row(row).label for row in await conn.execute(query)]


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


class DispatchLock:
    """The cluster-wide dispatcher lock: a PostgreSQL session advisory lock.

    Held on a connection of its own for as long as this instance dispatches; if the process
    dies or loses that connection, PostgreSQL releases the lock and another instance takes
    over. ``alive`` tells the holder whether it still holds it.
    """

    def __init__(self, engine: AsyncEngine, key: int = DISPATCH_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; return whether this instance holds it now."""
        if self._conn is not None:
            return True
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            query = text("SELECT pg_try_advisory_lock(:key)").bindparams(key=self.key)
            taken = bool((await conn.execute(query)).scalar_one())
        except BaseException:
            await conn.close()
            raise
        if not taken:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def listen(self, on_notify: Callable[[], None]) -> None:
        """Call ``on_notify`` whenever an instance says new alerts wait (lock held only)."""
        if self._conn is None:
            return
        raw = await self._conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.add_listener(ALERTS_CHANNEL, lambda *_args: on_notify())

    async def alive(self) -> bool:
        """Tell whether the lock's connection still answers (and so the lock is held)."""
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
        except Exception:
            await self.release()
            return False
        return True

    async def release(self) -> None:
        """Give the lock up (closing its connection ends it even if the unlock fails)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        unlock = text("SELECT pg_advisory_unlock(:key)").bindparams(key=self.key)
        try:
            await conn.execute(unlock)
        except Exception:
            # A pooled connection would keep a lock it could not drop: discard it instead.
            with contextlib.suppress(Exception):
                await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()


def _mine(account: str, *conditions: Any) -> Any:
    """EXISTS: ``account``'s own row about the lease's channel, meeting ``conditions``."""
    ac = account_channels_t.c
    return (
        select(ac.channel_id)
        .where(ac.account == account, ac.channel_id == leases_t.c.channel_id, *conditions)
        .exists()
    )


def _private() -> Any:
    """The leased channel, when Telegram showed it with no username: only members read it.

    One not resolved yet has no username either, but nothing says it is private.
    """
    return select(channels_t.c.id).where(
        channels_t.c.id == leases_t.c.channel_id,
        channels_t.c.telegram_id.is_not(None),
        channels_t.c.username.is_(None),
    )


def _known_to(account: str) -> Any:
    """The lease's channel can be read by ``account`` without resolving it: the account
    has its own access hash, or no account recorded one and the shared hash is set (a
    database from before several accounts)."""
    ac = account_channels_t.c
    nobody = ~select(ac.channel_id).where(ac.channel_id == leases_t.c.channel_id).exists()
    shared = (
        select(channels_t.c.id)
        .where(channels_t.c.id == leases_t.c.channel_id, channels_t.c.access_hash.is_not(None))
        .exists()
    )
    return or_(_mine(account, ac.access_hash.is_not(None)), and_(nobody, shared))


def _live(lease: float) -> tuple[Any, ...]:
    """An instance is live when it renewed within one lease, did not stop, and is not
    benched by a long flood wait."""
    return (
        instances_t.c.stopped_at.is_(None),
        instances_t.c.available.is_(True),
        instances_t.c.heartbeat_at > db_now() - seconds(lease),
    )
