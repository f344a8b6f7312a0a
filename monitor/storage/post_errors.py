"""Posts that could not be stored: told apart from a database in trouble, recorded, counted.

When a batch fails, ``post_batches`` stores its posts one by one; a post that still fails,
with a database that otherwise answers, is this post's own problem: it is recorded here (by
channel and message id, with the error) and the channel's cursor moves past it. An error that
says the database itself is unreachable or busy is never blamed on a post: the cycle fails
and the cursor stays. SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.models import storable_text
from monitor.storage.rows import StoreBase
from monitor.storage.tables import PostErrorRow, utcnow

post_errors_t = cast(Table, PostErrorRow.__table__)

ERROR_MAX = 300
# ProgrammingError: the code and the schema disagree (a missing column): no post's fault.
_TROUBLE = (
    OperationalError,
    ProgrammingError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
    OSError,
    TimeoutError,
)


def database_trouble(error: BaseException) -> bool:
    """Tell whether ``error`` is the database's (unreachable, busy, dropped), not a post's."""
    if isinstance(error, _TROUBLE):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def describe_error(error: BaseException) -> str:
    """Return the first line of the driver's message (no SQL, no parameters), storable."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    return storable_text(lines[0][:ERROR_MAX])


async def record_post_errors(
    conn: AsyncConnection, insert: Any, channel_id: int, errors: Mapping[int, str]
) -> None:
    """Record (or refresh) each failed post's error, by message id."""
    if not errors:
        return
    rows = [
        {"channel_id": channel_id, "message_id": mid, "error": text, "created_at": utcnow()}
        for mid, text in errors.items()
    ]
    statement = insert(post_errors_t)
    statement = statement.on_conflict_do_update(
        index_elements=["channel_id", "message_id"], set_={"error": statement.excluded.error}
    )
    await conn.execute(statement, rows)


class PostErrors(StoreBase):
    """Reads of the recorded post errors."""

    async def post_error_counts(self) -> dict[int, int]:
        """Return how many posts of each channel could not be stored (by channel row id)."""
        query = select(post_errors_t.c.channel_id, func.count()).group_by(
            post_errors_t.c.channel_id
        )
        async with self.engine.connect() as conn:
            return {row[0]: int(row[1]) for row in await conn.execute(query)}

    async def post_errors(self, channel_id: int) -> dict[int, str]:
        """Return one channel's failed posts: message id to error, oldest message first."""
        query = (
            select(post_errors_t.c.message_id, post_errors_t.c.error)
            .where(post_errors_t.c.channel_id == channel_id)
            .order_by(post_errors_t.c.message_id)
        )
        async with self.engine.connect() as conn:
            return {int(row[0]): str(row[1]) for row in await conn.execute(query)}
