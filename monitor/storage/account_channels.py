"""What each account knows of a channel: its own access hash, and whether it joined.

Telegram hands every account its own access hash for a channel, and membership is per
account. With several accounts sharing one database (``monitor.cluster``), the channels
table keeps the hash of whichever account resolved the channel last, so each account also
keeps its own here. ``AccountView`` is the repository as one account sees it: a channel
reads with that account's hash and membership; one that only another account resolved reads
as unresolved (so this account resolves it once, under its own budget, rather than failing
on a foreign hash); one nobody recorded (a database from before several accounts) keeps the
stored hash. Resolving and joining record both the shared columns and this account's row;
flood waits are recorded and restored under the account's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select

from monitor.models import Channel
from monitor.storage.channel_state import ChannelState
from monitor.storage.tables import AccountChannelRow, utcnow

account_channels_t = cast(Table, AccountChannelRow.__table__)


class AccountView(ChannelState):
    """Channel state seen by ``account`` (None: the single-account view, unchanged)."""

    account: str | None = None

    async def _known(self, channel_ids: Iterable[int]) -> dict[int, list[Any]]:
        """Return, by channel, every account's row about it."""
        ids = sorted(set(channel_ids))
        if not ids:
            return {}
        query = select(account_channels_t).where(account_channels_t.c.channel_id.in_(ids))
        found: dict[int, list[Any]] = {}
        async with self.engine.connect() as conn:
            for row in await conn.execute(query):
                found.setdefault(row.channel_id, []).append(row)
        return found

    def _seen(self, channel: Channel, rows: list[Any]) -> Channel:
        mine = next((row for row in rows if row.account == self.account), None)
        if mine is not None:
            access_hash = mine.access_hash if mine.access_hash is not None else channel.access_hash
            return replace(channel, access_hash=access_hash, joined=mine.joined)
        if rows:  # only other accounts resolved it: their hash is useless to this one
            return replace(channel, access_hash=None, joined=False)
        return channel

    async def _view(self, channels: list[Channel]) -> list[Channel]:
        if self.account is None:
            return channels
        known = await self._known(channel.id for channel in channels)
        return [self._seen(channel, known.get(channel.id, [])) for channel in channels]

    async def sync_channels(self, refs: Iterable[str]) -> list[Channel]:
        """``ChannelState.sync_channels``, seen by this account."""
        return await self._view(await super().sync_channels(refs))

    async def channels(self) -> list[Channel]:
        """``ChannelState.channels``, seen by this account."""
        return await self._view(await super().channels())

    async def channel(self, channel_id: int) -> Channel:
        """``ChannelState.channel``, seen by this account."""
        return (await self._view([await super().channel(channel_id)]))[0]

    async def save_resolution(self, channel_id: int, **values: Any) -> Channel:
        """Record a resolution in the channels table and as this account's own."""
        await self._record(channel_id, access_hash=values["access_hash"], joined=values["joined"])
        return await super().save_resolution(channel_id, **values)

    async def set_joined(self, channel_id: int, joined: bool = True) -> None:
        """Record that this account joined (or left) the channel."""
        await self._record(channel_id, joined=joined)
        await super().set_joined(channel_id, joined)

    async def reset_channel(self, channel_id: int) -> None:
        """Forget every account's hash as well: the channel is resolved again."""
        async with self.engine.begin() as conn:
            await conn.execute(
                account_channels_t.delete().where(account_channels_t.c.channel_id == channel_id)
            )
        await super().reset_channel(channel_id)

    # Flood waits are the account's: one account's wait must not pause another at its start.

    def _flood_key(self, method: str) -> str:
        return method if self.account is None else f"{self.account[:48]}/{method}"

    async def record_flood_wait(self, method: str, until: datetime, seconds: int) -> None:
        """``ChannelState.record_flood_wait``, under this account's name."""
        await super().record_flood_wait(self._flood_key(method), until, seconds)

    async def flood_waits(self, now: datetime | None = None) -> dict[str, datetime]:
        """This account's flood waits still in force, by method."""
        waits = await super().flood_waits(now)
        if self.account is not None:
            prefix = self._flood_key("")
            return {k.removeprefix(prefix): v for k, v in waits.items() if k.startswith(prefix)}
        found: dict[str, datetime] = {}  # no account named: respect every account's wait
        for key, until in waits.items():
            method = key.rpartition("/")[2]
            found[method] = max(until, found.get(method, until))
        return found

    async def _record(self, channel_id: int, **values: Any) -> None:
        if self.account is None:
            return
        row = {"account": self.account, "channel_id": channel_id, "updated_at": utcnow(), **values}
        statement = self._insert(account_channels_t).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["account", "channel_id"],
            set_={key: value for key, value in row.items() if key not in ("account", "channel_id")},
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)
