"""Mutes: channels and rules whose flags raise no alert for a while, or until undone.

A muted channel's posts, and posts flagged only by muted rules, are still stored and flagged;
``store_batch`` and rescans simply queue no alert for them. The check runs inside the storing
transaction and only for a post about to alert (a few percent of the posts), so a mute made
by the CLI or the web page takes effect in the running daemon at once, without a restart or
a cache to go stale. Alerts already waiting when a mute is made are marked ``muted`` and never
sent. Undone mutes keep their row. SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.errors import FeedbackError
from monitor.invite_links import INVITE_LINK
from monitor.models import Match
from monitor.rules.scorer import SCORER_ID
from monitor.storage.outbox import MUTED, waiting_rows
from monitor.storage.rows import StoreBase, alerts_t, channels_t, matches_for, posts_t
from monitor.storage.tables import MuteRow, utcnow

mutes_t = cast(Table, MuteRow.__table__)

MUTE_KINDS: tuple[str, ...] = ("channel", "rule")
# A public channel's link names it by its username: t.me/name, https://telegram.me/s/name.
_LINK_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.(?:me|dog)/(?:s/)?", re.I)
_LONGEST_MUTE_HOURS = 24 * 365 * 10


@dataclass(frozen=True)
class Mute:
    """A channel or rule held back from alerts: ``until`` None means until undone."""

    id: int
    kind: str
    target: str
    until: datetime | None
    created_at: datetime
    who: str
    undone_at: datetime | None = None
    held_back: int = 0  # alerts that were waiting when it was made, now never sent

    def state(self, now: datetime) -> str:
        """Return ``active``, ``expired`` or ``undone`` at ``now``."""
        if self.undone_at is not None:
            return "undone"
        if self.until is not None and self.until <= now:
            return "expired"
        return "active"

    def holds_channel(self, keys: Collection[str]) -> bool:
        """Tell whether this is a channel mute of the channel named by ``keys``."""
        return self.kind == "channel" and self.target in keys


def channel_keys(username: str | None, telegram_id: int | None) -> set[str]:
    """The names a channel mute may hold for a channel: its username (lowercase) and id."""
    keys = {str(telegram_id)} if telegram_id else set()
    if username:
        keys.add(username.lower())
    return keys


def deciding_rules(matches: Sequence[Match]) -> set[str]:
    """The rules that flagged a post, as a rule mute sees them.

    The scorer's verdict (``scorer``) rides on the rules that fired, so those decide; a post
    the scorer flagged on its words alone has only ``scorer`` (``mute rule scorer`` holds
    those back).
    """
    fired = {match.rule_id for match in matches}
    return fired - {SCORER_ID} or fired


def muting(
    mutes: Iterable[Mute], channel: Collection[str], matches: Sequence[Match]
) -> Mute | None:
    """Return the active mute that holds back the alert of a post, or None (pure).

    ``channel`` holds the names of the post's channel (``channel_keys``).

    A channel mute of the post's channel does; so do rule mutes covering every rule that
    flagged it (a post another rule flagged still alerts). The first such mute is returned.
    """
    active = list(mutes)
    for mute in active:
        if mute.holds_channel(channel):
            return mute
    rules = {m.target: m for m in active if m.kind == "rule"}
    fired = deciding_rules(matches)
    if fired and fired <= rules.keys():
        return rules[min(fired)]
    return None


def normalize_target(kind: str, target: str) -> str:
    """Return a mute's target as stored: a channel without ``@`` and lowercase, or a
    bare Telegram id (``-100`` prefix dropped); a rule id as written.

    Raises:
        FeedbackError: the kind is unknown or the target empty.
    """
    if kind not in MUTE_KINDS:
        raise FeedbackError(f"unknown mute kind {kind!r}; use one of {', '.join(MUTE_KINDS)}")
    cleaned = target.strip()
    if kind == "channel":
        cleaned = _LINK_PREFIX.sub("", cleaned, count=1).lstrip("@").lower()
        if cleaned.startswith("-100") and cleaned[4:].isdigit():
            cleaned = cleaned[4:]
    if not cleaned:
        raise FeedbackError(f"empty {kind} to mute; name a {kind}")
    return cleaned[:255]


def _until(hours: float | None, now: datetime) -> datetime | None:
    if hours is None:
        return None
    if not 0 < hours <= _LONGEST_MUTE_HOURS:
        raise FeedbackError(
            f"mute hours {hours!r}: give a number of hours above 0 (at most "
            f"{_LONGEST_MUTE_HOURS}), or none to mute until undone"
        )
    return now + timedelta(hours=hours)


def _mute(row: Any) -> Mute:
    return Mute(row.id, row.kind, row.target, row.until, row.created_at, row.who, row.undone_at)


def active_query(now: datetime) -> Any:
    """The mutes in force at ``now``: not undone, not expired."""
    return (
        select(mutes_t)
        .where(mutes_t.c.undone_at.is_(None), or_(mutes_t.c.until.is_(None), mutes_t.c.until > now))
        .order_by(mutes_t.c.id)
    )


async def read_active(conn: AsyncConnection, now: datetime) -> list[Mute]:
    """Return the mutes in force at ``now``, read on ``conn`` (inside a store's transaction)."""
    return [_mute(row) for row in await conn.execute(active_query(now))]


async def hold_back_waiting(conn: AsyncConnection, mute_id: int, now: datetime) -> int:
    """Mark ``muted`` the waiting post alerts the mutes in force now cover; return how many.

    An alert queued before the mute (held by quiet hours, a burst's pace, a sink's retries)
    would otherwise still go out. Rows a dispatcher is sending right now are left alone.
    """
    columns = (alerts_t.c.id, alerts_t.c.post_id, channels_t.c.username, channels_t.c.telegram_id)
    waiting = (
        select(*columns)
        .join(posts_t, posts_t.c.id == alerts_t.c.post_id)
        .join(channels_t, channels_t.c.id == posts_t.c.channel_id)
        .where(waiting_rows(now), alerts_t.c.kind == "post")
    )
    rows = list(await conn.execute(waiting))
    if not rows:
        return 0
    active = await read_active(conn, now)
    matches = await matches_for(conn, [row.post_id for row in rows])
    ids = [
        row.id
        for row in rows
        if muting(active, channel_keys(row.username, row.telegram_id), matches.get(row.post_id, ()))
    ]
    if ids:
        note = {"state": MUTED, "last_error": f"held back by mute {mute_id}"}
        held = update(alerts_t).where(alerts_t.c.id.in_(ids), waiting_rows(now)).values(**note)
        await conn.execute(held)
    return len(ids)


def channel_named(given: str) -> Any:
    """The condition on ``channels`` for the channel ``given`` names: ``@name``, a t.me
    link, a username, a (marked) Telegram id or the configured reference."""
    target = normalize_target("channel", given)
    conditions = [
        func.lower(channels_t.c.username) == target,
        func.lower(channels_t.c.ref) == target,
        func.lower(channels_t.c.ref) == f"@{target}",
        func.lower(channels_t.c.ref) == given.strip().lower(),  # an invite link as configured
    ]
    if target.isdigit():
        conditions.append(channels_t.c.telegram_id == int(target))
    return or_(*conditions)


class MuteStore(StoreBase):
    """Creating, listing and undoing mutes."""

    async def mute(
        self,
        kind: str,
        target: str,
        hours: float | None,
        who: str,
        *,
        now: datetime | None = None,
    ) -> Mute:
        """Mute a channel or a rule for ``hours`` (None: until undone); return the mute.

        A channel must be one the database knows (by username, id or reference); it is
        stored as the daemon names it (the username, else the Telegram id).

        Raises:
            FeedbackError: unknown kind, empty target, unknown channel or bad hours.
        """
        moment = now or utcnow()
        name = normalize_target(kind, target)
        until = _until(hours, moment)
        async with self.engine.begin() as conn:
            if kind == "channel":
                name = await self._channel_target(conn, target)
            values = {"kind": kind, "target": name, "until": until, "created_at": moment}
            inserted = await conn.execute(
                mutes_t.insert().values(**values, who=who[:255]).returning(mutes_t.c.id)
            )
            made = Mute(int(inserted.scalar_one()), kind, name, until, moment, who[:255])
            held = await hold_back_waiting(conn, made.id, moment)
        return replace(made, held_back=held)

    async def _channel_target(self, conn: AsyncConnection, given: str) -> str:
        columns = (channels_t.c.username, channels_t.c.telegram_id)
        found = select(*columns).where(channel_named(given)).limit(1)
        row = (await conn.execute(found)).first()
        if row is None:
            known = sorted(f"@{n}" for n in await conn.scalars(select(channels_t.c.username)) if n)
            listed = ", ".join(known[:20]) or "none stored yet"
            raise FeedbackError(f"no channel {given!r} is monitored (known: {listed})")
        name = row.username or row.telegram_id
        if name is None:  # not resolved yet: named as given, unless that is an invite link
            if INVITE_LINK.search(given) is not None:
                raise FeedbackError(
                    f"channel {given!r} is not resolved yet and its invite link cannot name "
                    "it (it is a secret); mute it once `monitor channels` shows it active"
                )
            name = normalize_target("channel", given)
        return str(name).lower()

    async def active_mutes(self, now: datetime | None = None) -> list[Mute]:
        """Return the mutes in force at ``now`` (default: now), oldest first."""
        async with self.engine.connect() as conn:
            return await read_active(conn, now or utcnow())

    async def list_mutes(
        self, include_undone: bool = False, *, now: datetime | None = None
    ) -> list[Mute]:
        """Return the mutes newest first: those in force, or every one ever made.

        With ``include_undone`` the expired and undone ones are listed too (``Mute.state``
        tells them apart).
        """
        query = select(mutes_t).order_by(mutes_t.c.id.desc())
        if not include_undone:
            query = active_query(now or utcnow()).order_by(None).order_by(mutes_t.c.id.desc())
        async with self.engine.connect() as conn:
            return [_mute(row) for row in await conn.execute(query)]

    async def undo_mute(self, mute_id: int, *, now: datetime | None = None) -> Mute:
        """Undo a mute (its row stays, with ``undone_at``); undoing twice changes nothing.

        Raises:
            FeedbackError: there is no mute with this id.
        """
        moment = now or utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(mutes_t)
                .where(and_(mutes_t.c.id == mute_id, mutes_t.c.undone_at.is_(None)))
                .values(undone_at=moment)
            )
            row = (await conn.execute(select(mutes_t).where(mutes_t.c.id == mute_id))).first()
        if row is None:
            raise FeedbackError(f"no mute with id {mute_id}; `monitor mutes` lists them")
        return _mute(row)
