"""Every query the daemon makes, behind one object: channel state and post batches.

The one write that matters is ``store_batch`` (in ``post_batches``): new posts, their matches,
their alert outbox rows and the channel's cursor go in one transaction, idempotent on
(channel, message id), so a crash at any point loses nothing and stores nothing twice. Callers
get and give plain values from ``monitor.models``; SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

from monitor.storage.account_channels import AccountView
from monitor.storage.channel_state import ChannelOverview
from monitor.storage.deletions import DeletionResult, Deletions
from monitor.storage.engine import create_engine
from monitor.storage.post_batches import BatchResult
from monitor.storage.post_errors import PostErrors
from monitor.storage.rescans import RescanResult, Rescans
from monitor.storage.retention import Retention
from monitor.storage.rows import StoredPost

__all__ = [
    "BatchResult",
    "ChannelOverview",
    "DeletionResult",
    "Repository",
    "RescanResult",
    "StoredPost",
]


class Repository(AccountView, Rescans, PostErrors, Deletions, Retention):
    """The service's database, reached through one async engine."""

    @classmethod
    def open(cls, url: str, *, echo: bool = False) -> Repository:
        """Create a repository for a user-written database URL."""
        return cls(create_engine(url, echo=echo))

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
