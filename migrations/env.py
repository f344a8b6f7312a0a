"""Alembic environment: one script for SQLite and PostgreSQL, run through the async engine.

The URL comes from the caller (``monitor db upgrade`` passes the configured one in
``config.attributes["url"]``), else from ``MONITOR_DATABASE_URL``, else from alembic.ini.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from monitor.storage.engine import async_url, create_migration_engine
from monitor.storage.tables import Base, UTCDateTime, compared_in_schema

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("MONITOR_DATABASE_URL")
    return str(url or config.get_main_option("sqlalchemy.url"))


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our UTCDateTime as a plain DateTime so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
        include_object=compared_in_schema,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``--sql``)."""
    context.configure(
        url=async_url(_url()).render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


#: A transaction-level advisory lock: instances starting together on an empty PostgreSQL
#: database (or ``monitor db upgrade`` run twice) migrate one after the other; the second
#: then finds the schema at head and does nothing.
MIGRATION_LOCK_KEY = 0x6D6F6E69746F726D


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"))
        context.run_migrations()


async def _run_async() -> None:
    engine = create_migration_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Run against the database, through the same async engine the service uses."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
