"""Database engines: the URL a user writes turned into an async engine with the right driver.

Users write ``sqlite:///monitor.db`` or ``postgresql://user@host/db``; the service runs on
aiosqlite and asyncpg. SQLite gets WAL, foreign keys and a busy timeout so the daemon and the
CLI can share one file. Only ``monitor.storage`` and ``migrations/`` use this module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from monitor.errors import ConfigError

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> URL:
    """Return ``url`` with the async driver the service uses for its dialect.

    Raises:
        ConfigError: the URL cannot be parsed or names an unsupported database.
    """
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    except ArgumentError:
        raise ConfigError(f"database.url: cannot parse {url!r}; see config.example.toml") from None
    dialect = parsed.get_backend_name()
    if dialect not in ASYNC_DRIVERS:
        raise ConfigError(
            f"database.url: unsupported database {dialect!r}; use sqlite or postgresql"
        )
    return parsed.set(drivername=ASYNC_DRIVERS[dialect])


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Takes effect only in a new, empty file (before its first table); an older file keeps
    # its mode until `monitor db prune --vacuum` rebuilds it.
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url`` (any user-written sqlite or postgresql URL)."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(target, echo=echo, pool_pre_ping=True, pool_size=5)


def create_migration_engine(url: str) -> AsyncEngine:
    """The engine migrations run on: on SQLite, schema changes commit whole or not at all.

    The sqlite3 driver under aiosqlite opens a transaction only before INSERT, UPDATE and
    DELETE, so each CREATE TABLE committed on its own: a process killed during the first
    migration left tables without a revision, and every later start failed on "table
    already exists". Here the driver's transaction handling is off and BEGIN is ours.
    """
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _driver_transactions_off)
        event.listen(engine.sync_engine, "begin", _begin)
    return engine


def _driver_transactions_off(dbapi_connection: Any, _: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Return the session maker every repository call uses."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    """Tell whether ``engine`` talks to PostgreSQL (some statements differ)."""
    return engine.dialect.name == "postgresql"
