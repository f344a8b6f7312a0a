"""Database engines: the URL a user writes turned into an async engine with the right driver.

Users write ``sqlite:///monitor.db`` or ``postgresql://user@host/db``; the service runs on
aiosqlite and asyncpg. SQLite gets WAL, foreign keys and a busy timeout so the daemon and the
CLI can share one file. Only ``monitor.storage`` and ``migrations/`` use this module.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from monitor.config_types import mask_url
from monitor.errors import ConfigError, DatabaseUnavailableError

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}

#: What a database that is down, locked or restarting raises: the daemon logs one line and
#: retries; anything else is a bug and keeps its traceback.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError)


def error_line(error: BaseException) -> str:
    """Return the first line of a database error (the driver's own message), for one log line."""
    text = str(getattr(error, "orig", None) or error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    return first[:300]


def async_url(url: str) -> URL:
    """Return ``url`` with the async driver the service uses for its dialect.

    Raises:
        ConfigError: the URL cannot be parsed or names an unsupported database.
    """
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    except ArgumentError:
        raise ConfigError(
            f"database.url: cannot parse {mask_url(url)!r}; see config.example.toml"
        ) from None
    dialect = parsed.get_backend_name()
    if dialect not in ASYNC_DRIVERS:
        raise ConfigError(
            f"database.url: unsupported database {dialect!r}; use sqlite or postgresql"
        )
    return parsed.set(drivername=ASYNC_DRIVERS[dialect])


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # First: switching an older file to WAL needs a moment alone with it, and a reader that
    # holds it then (`monitor flagged`) must make this wait, not fail "database is locked".
    cursor.execute("PRAGMA busy_timeout=30000")
    # New files are born with both (see _create_private); an older file keeps its vacuum
    # mode until `monitor db prune --vacuum` rebuilds it.
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite URL (None for other databases and in-memory ones)."""
    target = async_url(url)
    database = target.database
    if target.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database)


def _create_private(path: Path) -> None:
    """Create a new SQLite file 0600: it holds what the monitor read and where it alerts.

    The file is made whole beside its final name (WAL mode and incremental vacuum already in
    its header) and linked into place, so no connection ever sees it half made: two that
    opened an empty file together both tried to switch it to WAL and one of them failed
    "database is locked" at once, whatever the busy timeout. SQLite gives its ``-wal`` and
    ``-shm`` files the database file's mode, so they follow.
    """
    if not path.parent.is_dir() or path.exists():
        return
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(handle)  # mkstemp makes it 0600
    draft = Path(name)
    try:
        _write_header(draft)
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def _write_header(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA auto_vacuum=INCREMENTAL")  # before the first page is written
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url`` (any user-written sqlite or postgresql URL).

    A SQLite file that does not exist yet is created, with mode 0600.
    """
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            _create_private(path)
        engine = create_async_engine(target, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(target, echo=echo, pool_pre_ping=True, pool_size=5)


@contextlib.asynccontextmanager
async def existing_database(url: str, *, echo: bool = False) -> AsyncIterator[AsyncEngine]:
    """Yield an engine on a database that must already exist, for commands that only read.

    Such commands never create a database (a missing SQLite file stays missing), and every
    way the database can be unusable (no file, no server, no schema) is one line.

    Raises:
        DatabaseUnavailableError: the database is missing, unreachable or has no schema.
    """
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseUnavailableError(
            f"no database at {path}; run `monitor db upgrade` (or `monitor run`) first, or "
            "point --config at the config whose [database] url holds your data"
        )
    engine = create_engine(url, echo=echo)
    try:
        yield engine
    except (OSError, SQLAlchemyError) as error:
        raise DatabaseUnavailableError(describe_failure(url, error)) from None
    finally:
        await engine.dispose()


def describe_failure(url: str, error: BaseException) -> str:
    """Say in one line why the database at ``url`` failed, with the fix."""
    where = f"database {mask_url(url)}"
    if isinstance(error, OSError):
        reason = error.strerror or str(error)
        return f"{where}: cannot connect ({reason}); start the server or fix database.url"
    detail = str(error.orig if isinstance(error, DBAPIError) else error).splitlines()[0]
    if "no such table" in detail or ("does not exist" in detail and "relation" in detail):
        return f"{where} has no monitor schema ({detail}); run `monitor db upgrade`"
    if "no such column" in detail or ("does not exist" in detail and "column" in detail):
        return f"{where} is at an older schema ({detail}); run `monitor db upgrade`"
    return f"{where}: {detail}; check database.url and that the server accepts connections"


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
    # IMMEDIATE: the write lock is taken (waiting out the busy timeout) before the first read.
    # A plain BEGIN reads the revision first, and a reader that cannot turn writer because
    # another connection wrote meanwhile fails "database is locked" without waiting.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Return the session maker every repository call uses."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    """Tell whether ``engine`` talks to PostgreSQL (some statements differ)."""
    return engine.dialect.name == "postgresql"
