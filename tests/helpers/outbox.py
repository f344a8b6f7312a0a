"""Fill a real database's alert outbox the way the pipeline does (``store_batch``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.models import Channel, Classified, Post
from monitor.storage import migrate
from monitor.storage.outbox import Outbox, OutboxItem
from monitor.storage.repository import Repository
from tests.helpers.alerts import make_match, make_post

STORY = (
    "В Курской области военнослужащий мотострелковой бригады самовольно оставил часть (СОЧ) "
    "и был задержан военной полицией через три дня после побега из расположения."
)


def distinct_text(index: int) -> str:
    """Return a flagged text unlike any other index's (so stories do not merge)."""
    words = " ".join(f"слово{index}x{k}" for k in range(12))
    return f"Сообщение {index}: военнослужащий ушёл в СОЧ. {words}"


@dataclass
class Seeder:
    """Creates channels and flagged posts with alert rows through the real repository."""

    repository: Repository
    outbox: Outbox
    channels: dict[int, Channel]

    async def channel(self, telegram_id: int, username: str | None = None) -> Channel:
        """Return a resolved channel row for ``telegram_id`` (created on first use)."""
        if telegram_id not in self.channels:
            name = username or f"chan{telegram_id}"
            [row] = await self.repository.sync_channels([f"@{name}"])
            self.channels[telegram_id] = await self.repository.save_resolution(
                row.id,
                telegram_id=telegram_id,
                access_hash=telegram_id * 7,
                username=name,
                title=f"Channel {telegram_id}",
                joined=True,
            )
        return self.channels[telegram_id]

    async def flag(
        self,
        sinks: Sequence[str],
        *,
        text: str = STORY,
        telegram_id: int = 1001,
        message_id: int = 1,
        score: float = 0.9,
        forward_from: str | None = None,
        date: datetime | None = None,
    ) -> Post:
        """Store one flagged post with alert rows for ``sinks``, as the pipeline would."""
        channel = await self.channel(telegram_id)
        post = make_post(
            text,
            channel_id=telegram_id,
            message_id=message_id,
            username=channel.username,
            title=channel.title,
            forward_from=forward_from,
            date=date or datetime.now(UTC) - timedelta(minutes=1),
        )
        item = Classified(post, (make_match(text, score=score),), tuple(sinks), "ru", "test")
        await self.repository.store_batch(channel, [item], cursor=message_id, alert_cutoff=None)
        return post

    async def rows(
        self, states: Sequence[str] = ("pending", "failed", "sent", "merged", "digested")
    ) -> list[OutboxItem]:
        """Return every outbox row in ``states``, oldest first."""
        return await self.outbox.listing(states)


@asynccontextmanager
async def seeded(url: str) -> AsyncIterator[Seeder]:
    """Migrate the database at ``url`` and yield a seeder on it."""
    await asyncio.to_thread(migrate.upgrade, url)
    repository = Repository.open(url)
    try:
        yield Seeder(repository, Outbox(repository.engine), {})
    finally:
        await repository.close()
