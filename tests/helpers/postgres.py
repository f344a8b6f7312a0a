"""Create and drop throw-away PostgreSQL databases for tests, through asyncpg."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url


def _dsn(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def _execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_dsn(url), timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def server_available(url: str) -> bool:
    """Tell whether the PostgreSQL server at ``url`` accepts a connection."""
    try:
        asyncio.run(_execute(url, "SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server at ``url``; return its URL."""
    asyncio.run(_execute(url, f'CREATE DATABASE "{name}"'))
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    """Drop database ``name``, closing any connection a test left open."""
    asyncio.run(_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def refuse_connections(url: str, name: str, refuse: bool) -> None:
    """Make database ``name`` refuse (and drop) every connection, or accept them again."""
    await _execute(url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(not refuse).lower()}')
    if refuse:
        await _execute(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{name}' AND pid <> pg_backend_pid()",
        )
