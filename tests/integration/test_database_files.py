"""The database as a file and a server: read-only commands never create one, a missing or
unreachable database is one line with status 2, and SQLite files are created 0600.
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.storage import migrate
from monitor.storage.engine import create_engine
from tests.helpers.cli import invoke

READ_ONLY = [
    pytest.param(["flagged"], id="flagged"),
    pytest.param(["channels"], id="channels"),
    pytest.param(["stats"], id="stats"),
    pytest.param(["alerts"], id="alerts"),
    pytest.param(["export", "--format", "jsonl"], id="export"),
    pytest.param(["alerts", "drop", "1"], id="alerts-drop"),
    pytest.param(["channels", "reset", "@example_news"], id="channels-reset"),
]


@pytest.mark.parametrize("command", READ_ONLY)
def test_without_config_or_database_is_one_line_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """No monitor.toml and no monitor.db: one line, status 2, and no empty database left."""
    monkeypatch.chdir(tmp_path)
    result = invoke(command)
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"no database at {tmp_path.resolve() / 'monitor.db'}; run `monitor db upgrade` (or "
        "`monitor run`) first, or point --config at the config whose [database] url holds "
        "your data"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", READ_ONLY)
def test_unreachable_postgres_is_one_line(tmp_path: Path, command: list[str]) -> None:
    """A PostgreSQL server that does not answer: one line naming it (password masked)."""
    path = tmp_path / "monitor.toml"
    path.write_text('[database]\nurl = "postgresql://monitor:s3cr3t@127.0.0.1:1/monitor"\n')
    result = invoke([*command[:1], "--config", str(path), *command[1:]])
    assert result.code == 2
    assert result.stderr.splitlines() == [
        "database postgresql://monitor:***@127.0.0.1:1/monitor: cannot connect (Connect call "
        "failed ('127.0.0.1', 1)); start the server or fix database.url"
    ]


def test_database_without_schema_says_upgrade(tmp_path: Path) -> None:
    """An empty SQLite file (no tables) tells the user to run `monitor db upgrade`."""
    (tmp_path / "monitor.db").touch()
    path = tmp_path / "monitor.toml"
    path.write_text("")
    result = invoke(["flagged", "--config", str(path)])
    assert result.code == 2
    assert result.stderr.strip().endswith("; run `monitor db upgrade`")
    assert "no such table" in result.stderr


def test_database_at_an_older_schema_says_upgrade(tmp_path: Path, database_url: str) -> None:
    """A database a revision behind the code (no posts.deleted_at yet): run `db upgrade`."""
    from monitor.storage import migrate

    migrate.upgrade(database_url, "0003_delivery_ids_missed_by_live")
    path = tmp_path / "monitor.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n')
    result = invoke(["flagged", "--config", str(path)])
    assert result.code == 2
    [line] = result.stderr.splitlines()
    assert "is at an older schema" in line
    assert "deleted_at" in line
    assert line.endswith("; run `monitor db upgrade`")


def file_modes(folder: Path) -> dict[str, int]:
    """Return the permission bits of every file in ``folder``, by name."""
    return {file.name: stat.S_IMODE(file.stat().st_mode) for file in folder.iterdir()}


async def test_sqlite_database_and_wal_files_are_private(tmp_path: Path) -> None:
    """A new database and its -wal and -shm files are created 0600 (whatever the umask)."""
    path = tmp_path / "monitor.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as connection:
            await connection.execute(text("SELECT x FROM t"))
            assert file_modes(tmp_path) == {
                "monitor.db": 0o600,
                "monitor.db-shm": 0o600,
                "monitor.db-wal": 0o600,
            }
    finally:
        await engine.dispose()


def test_db_upgrade_creates_a_private_file(tmp_path: Path) -> None:
    """`monitor db upgrade` through the CLI leaves a 0600 database."""
    path = tmp_path / "monitor.toml"
    path.write_text("")
    result = invoke(["db", "upgrade", "--config", str(path)])
    assert result.code == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "monitor.db").stat().st_mode) == 0o600


def test_db_current_does_not_create_the_database(tmp_path: Path) -> None:
    """`monitor db current` on a missing SQLite file says so and leaves no file behind."""
    path = tmp_path / "monitor.toml"
    path.write_text("")
    result = invoke(["db", "current", "--config", str(path)])
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"empty (no database at {tmp_path.resolve() / 'monitor.db'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["monitor.toml"]


async def test_first_connection_waits_for_a_reader_instead_of_failing(tmp_path: Path) -> None:
    """A reader holding the file while the daemon first opens it (switching it to WAL) makes
    the daemon wait its full busy timeout, not fail with "database is locked" after the
    driver's 5 s default (seen in CI as a daemon that did not start)."""
    path = tmp_path / "monitor.db"
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("CREATE TABLE t (x)")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchall()  # a read lock, held
    engine = create_engine(f"sqlite:///{path}")
    loop = asyncio.get_running_loop()
    loop.call_later(6.0, reader.rollback)  # beyond the sqlite3 module's own 5 s default
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
    finally:
        await engine.dispose()
        reader.close()
    assert mode == "wal"


def test_a_new_file_is_born_in_wal_mode(tmp_path: Path) -> None:
    """The file exists in WAL mode (header bytes 18-19 are 2) before any connection opens it,
    so no two first connections race to switch it."""
    path = tmp_path / "monitor.db"
    create_engine(f"sqlite:///{path}")
    header = path.read_bytes()[:100]
    assert header.startswith(b"SQLite format 3\x00")
    assert (header[18], header[19]) == (2, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["monitor.db"]  # no draft left


async def _poll_until(url: str, done: asyncio.Event) -> list[str]:
    """Read the channels table over and over, as the demo's alert watcher and `monitor
    channels` do, until ``done``; return every error other than the missing table."""
    errors: list[str] = []
    while not done.is_set():
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT count(*) FROM channels"))
        except Exception as error:  # collected and asserted on below
            if "no such table" not in str(error):
                errors.append(str(error).splitlines()[0])
        finally:
            await engine.dispose()
        await asyncio.sleep(0)
    return errors


async def test_first_migration_with_readers_polling_never_fails_locked(tmp_path: Path) -> None:
    """The daemon's first migration of a new file while readers poll it succeeds every time
    (in CI, one start in a few dozen failed at once with "database is locked")."""
    for attempt in range(15):
        url = f"sqlite:///{tmp_path / f'monitor-{attempt}.db'}"
        done = asyncio.Event()
        poller = asyncio.create_task(_poll_until(url, done))
        try:
            await asyncio.to_thread(migrate.upgrade, url)
        finally:
            done.set()
        assert await poller == []
        assert await asyncio.to_thread(migrate.current_revision, url) == migrate.head_revision()
