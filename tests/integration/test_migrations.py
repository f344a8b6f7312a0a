"""Alembic migrations: up and down on SQLite and PostgreSQL, and agreement with the models."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from monitor.errors import StorageError
from monitor.storage import migrate
from monitor.storage.engine import create_engine
from monitor.storage.tables import Base, compared_in_schema
from tests.helpers.cli import invoke

TABLES = {"channels", "posts", "matches", "alerts", "flood_waits", "feedback", "mutes"}


def _run_on(url: str, work: Any) -> Any:
    async def go() -> Any:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _tables(url: str) -> set[str]:
    return set(_run_on(url, lambda sync: inspect(sync).get_table_names()))


def test_upgrade_then_downgrade_round_trips(database_url: str) -> None:
    """An empty database goes to head with every table, and back to base with none."""
    assert migrate.current_revision(database_url) is None
    migrate.upgrade(database_url)
    assert migrate.current_revision(database_url) == migrate.head_revision()
    assert _tables(database_url) >= TABLES
    migrate.downgrade(database_url, "base")
    assert migrate.current_revision(database_url) is None
    assert _tables(database_url) & TABLES == set()


def test_a_first_migration_cut_short_leaves_nothing_half_done(database_url: str) -> None:
    """A migration that fails halfway commits none of its tables, so it can simply run again."""
    _run_on_committed(database_url, "create table matches (clash integer)")
    with pytest.raises(StorageError):
        migrate.upgrade(database_url)
    assert _tables(database_url) == {"matches"}  # no channels, posts, alembic_version
    _run_on_committed(database_url, "drop table matches")
    migrate.upgrade(database_url)
    assert _tables(database_url) >= TABLES


def _run_on_committed(url: str, statement: str) -> None:
    async def go() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_models_and_migrations_agree(database_url: str) -> None:
    """Autogenerate finds no difference between the migrated schema and the models."""
    migrate.upgrade(database_url)

    def diff(sync: Any) -> list[Any]:
        context = MigrationContext.configure(
            sync, opts={"compare_type": True, "include_object": compared_in_schema}
        )
        return list(compare_metadata(context, Base.metadata))

    assert _run_on(database_url, diff) == []


def test_db_commands_through_cli(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`monitor db current` and `db upgrade` report and move the revision."""
    monkeypatch.chdir(tmp_path)
    env = {"MONITOR_DATABASE_URL": database_url}
    before = invoke(["db", "current"], env=env)
    assert before.code == 0, before.stderr
    if database_url.startswith("sqlite"):
        # `db current` reads; it never creates the SQLite file it is asked about.
        assert before.stdout.strip().startswith("empty (no database at ")
        assert not (tmp_path / "monitor.db").exists()
    else:
        assert (
            before.stdout.strip()
            == f"empty (behind; head is {migrate.head_revision()}, run `monitor db upgrade`)"
        )
    upgraded = invoke(["db", "upgrade"], env=env)
    assert upgraded.code == 0, upgraded.stderr
    after = invoke(["db", "current"], env=env)
    assert after.stdout.strip() == f"{migrate.head_revision()} (up to date)"


def test_unreachable_database_is_one_line() -> None:
    """A database that does not answer gives one line and status 1, no traceback."""
    env = {"MONITOR_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    result = invoke(["db", "current"], env=env)
    assert result.code == 1
    assert result.stderr.startswith("database postgresql://postgres@127.0.0.1:1/none: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_feedback_migration_keeps_posts_both_ways(database_url: str) -> None:
    """0006 adds feedback and mutes beside stored posts, and its downgrade drops only them."""
    migrate.upgrade(database_url, "0005_storage_speed")
    _run_on_committed(
        database_url,
        "insert into channels (id, ref, status, joined, last_message_id, error_alerted,"
        " missed_by_live, failed_cycles, created_at)"
        " values (1, '@kept', 'active', false, 0, false, 0, 0, '2026-12-04 00:00:00')",
    )
    _run_on_committed(
        database_url,
        "insert into posts (id, channel_id, message_id, date, text, link, flagged, live,"
        " created_at) values (7, 1, 70, '2026-12-04 00:00:00', 'text', 'https://t.me/kept/70',"
        " true, false, '2026-12-04 00:00:00')",
    )
    migrate.upgrade(database_url)
    _run_on_committed(
        database_url,
        "insert into feedback (post_id, label, who, at) values (7, 'confirmed', 'cli',"
        " '2026-12-04 01:00:00')",
    )
    _run_on_committed(
        database_url,
        "insert into mutes (kind, target, who, created_at) values ('rule', 'r1', 'cli',"
        " '2026-12-04 01:00:00')",
    )
    migrate.downgrade(database_url, "0005_storage_speed")
    assert _tables(database_url) & {"feedback", "mutes"} == set()
    count = _run_on(database_url, lambda sync: sync.exec_driver_sql("select count(*) from posts"))
    assert count.scalar_one() == 1
    migrate.upgrade(database_url)
    assert _tables(database_url) >= {"feedback", "mutes"}


def test_a_schema_newer_than_the_code_is_refused(database_url: str) -> None:
    """A rolling upgrade: `monitor db upgrade` from a newer version ran first; this (older)
    code refuses to start on that schema, in one line, rather than write to it."""
    from monitor.daemon import prepare_database

    migrate.upgrade(database_url)

    async def from_the_future() -> None:
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "UPDATE alembic_version SET version_num = '0099_from_the_future'"
            )
        await engine.dispose()

    asyncio.run(from_the_future())
    with pytest.raises(StorageError, match="newer than this monitor knows") as raised:
        asyncio.run(prepare_database(database_url))
    assert "0099_from_the_future" in str(raised.value)
    assert "\n" not in str(raised.value)
