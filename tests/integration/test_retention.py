"""Retention: `monitor db prune` and the daemon's prune job, on SQLite and PostgreSQL.

Old posts lose their text and keep everything else: the row (dedup), the channel cursor, the
statistics, the flag and the matches. SQLite files created now shrink incrementally; older
files are told how to convert once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from monitor.models import Channel, Classified
from monitor.storage import migrate
from monitor.storage.outbox import Outbox
from monitor.storage.repository import Repository
from tests.helpers.alerts import make_match, make_post
from tests.helpers.cli import invoke
from tests.helpers.monitor_world import MonitorWorld, wait_until
from tests.helpers.outbox import Seeder, seeded

FLAGGED = "Военнослужащий самовольно оставил часть (СОЧ) под Курском, его ищут."
PLAIN = "Сводка погоды: в Курске завтра дождь и ветер."
NOW = dt.datetime.now(dt.UTC)
BEFORE = "0004_post_deletions"  # the revision before 0005_storage_speed


def _item(text: str, message_id: int, days_old: float, flagged: bool) -> Classified:
    post = make_post(
        text, channel_id=4001, message_id=message_id, date=NOW - dt.timedelta(days=days_old)
    )
    matches = (make_match(text),) if flagged else ()
    return Classified(post, matches, (), "ru", "test")


async def _store(seeder: Seeder, items: list[Classified]) -> Channel:
    channel = await seeder.channel(4001, "keep_ch")
    await seeder.repository.store_batch(channel, items, cursor=100, alert_cutoff=None)
    return channel


async def _texts(seeder: Seeder) -> dict[int, str]:
    stored = await seeder.repository.stored_posts()
    return {s.post.message_id: s.post.text for s in stored}


def _config(folder: Path, url: str, retention: str) -> Path:
    path = folder / "monitor.toml"
    path.write_text(f'[database]\nurl = "{url}"\n{retention}\n', encoding="utf-8")
    return path


def _cli(*args: str) -> str:
    result = invoke(list(args))
    assert result.code == 0, result.stderr
    return result.stdout


async def test_db_prune_empties_old_unflagged_texts_and_keeps_the_rest(
    database_url: str, tmp_path: Path
) -> None:
    """Old unflagged posts lose their text; rows, flags, stats, cursor and dedup stay."""
    async with seeded(database_url) as seeder:
        items = [
            _item(PLAIN + " 1", 1, 40, False),
            _item(PLAIN + " 2", 2, 35, False),
            _item(PLAIN + " 3", 3, 2, False),
            _item(FLAGGED, 4, 40, True),
        ]
        channel = await _store(seeder, items)
        config = _config(tmp_path, database_url, 'keep_unflagged = "30d"')
        stats_before = await asyncio.to_thread(
            _cli, "stats", "--since", "365d", "--format", "json", "--config", str(config)
        )

        out = await asyncio.to_thread(_cli, "db", "prune", "--config", str(config))

        assert out.startswith("pruned the text of 2 unflagged posts (keep_unflagged = 30d)")
        assert await _texts(seeder) == {1: "", 2: "", 3: PLAIN + " 3", 4: FLAGGED}
        stats_after = await asyncio.to_thread(
            _cli, "stats", "--since", "365d", "--format", "json", "--config", str(config)
        )
        assert json.loads(stats_after) == json.loads(stats_before)
        assert (await seeder.repository.channel(channel.id)).cursor == 100
        again_out = await asyncio.to_thread(_cli, "db", "prune", "--config", str(config))
        assert again_out.startswith("pruned the text of 0 unflagged posts")
        again = await seeder.repository.store_batch(
            channel, items[:1], cursor=None, alert_cutoff=None
        )
        assert again.new_message_ids == []  # a pruned post is still known: stored once


async def test_keep_flagged_prunes_old_flagged_posts_and_keeps_their_matches(
    database_url: str, tmp_path: Path
) -> None:
    """With keep_flagged, old flagged posts lose their text too; their matches stay."""
    async with seeded(database_url) as seeder:
        await _store(seeder, [_item(FLAGGED, 1, 400, True), _item(FLAGGED + " new", 2, 3, True)])
        config = _config(tmp_path, database_url, 'keep_flagged = "365d"')
        out = await asyncio.to_thread(_cli, "db", "prune", "--config", str(config))
        assert "and 1 flagged posts (keep_flagged = 365d)" in out
        stored = {s.post.message_id: s for s in await seeder.repository.stored_posts()}
        assert stored[1].post.text == ""
        assert stored[1].flagged
        assert [m.rule_id for m in stored[1].matches] == ["soch-ru"]
        assert stored[2].post.text == FLAGGED + " new"


async def test_prune_works_in_batches_of_the_size_asked(sqlite_url: str) -> None:
    """One batch prunes at most its limit, oldest first; the next batch goes on."""
    async with seeded(sqlite_url) as seeder:
        await _store(seeder, [_item(f"{PLAIN} {n}", n, 100 - n, False) for n in range(1, 8)])
        cutoff = NOW - dt.timedelta(days=30)
        assert await seeder.repository.prune_batch(cutoff, flagged=False, limit=3) == 3
        texts = await _texts(seeder)
        assert [n for n, text in sorted(texts.items()) if not text] == [1, 2, 3]
        assert await seeder.repository.prune_batch(cutoff, flagged=False, limit=3) == 3
        assert await seeder.repository.prune_batch(cutoff, flagged=False, limit=3) == 1
        assert await seeder.repository.prune_batch(cutoff, flagged=False, limit=3) == 0


async def test_a_new_sqlite_file_gives_pruned_space_back(tmp_path: Path) -> None:
    """A file created now vacuums incrementally: pruning long texts shrinks it."""
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    async with seeded(url) as seeder:
        assert await seeder.repository.vacuum_mode() == "incremental"
        long_text = PLAIN + " " + "длинный текст " * 400  # several pages per post
        await _store(seeder, [_item(f"{long_text}{n}", n, 60, False) for n in range(1, 200)])
    _checkpoint(tmp_path / "monitor.db")
    before = (tmp_path / "monitor.db").stat().st_size
    config = _config(tmp_path, url, 'keep_unflagged = "30d"')
    out = await asyncio.to_thread(_cli, "db", "prune", "--config", str(config))
    assert "note:" not in out, out
    assert " 0 free pages" not in out, out
    _checkpoint(tmp_path / "monitor.db")
    after = (tmp_path / "monitor.db").stat().st_size
    assert after < before / 2, (before, after)


async def test_an_older_sqlite_file_is_converted_by_prune_vacuum(tmp_path: Path) -> None:
    """A file from before incremental vacuum gets a note; `--vacuum` converts and compacts it."""
    path = tmp_path / "monitor.db"
    with sqlite3.connect(path) as old:  # what every earlier version created
        old.execute("PRAGMA auto_vacuum=NONE")
        old.execute("CREATE TABLE made_by_an_older_version (x INTEGER)")
    url = f"sqlite:///{path}"
    async with seeded(url) as seeder:
        assert await seeder.repository.vacuum_mode() == "none"
        await _store(seeder, [_item(PLAIN + " x" * 2000, n, 60, False) for n in range(1, 100)])
    config = _config(tmp_path, url, 'keep_unflagged = "30d"')
    out = await asyncio.to_thread(_cli, "db", "prune", "--config", str(config))
    assert "note: this SQLite file predates incremental vacuum" in out
    _checkpoint(path)
    before = path.stat().st_size
    out = await asyncio.to_thread(_cli, "db", "prune", "--vacuum", "--config", str(config))
    assert "auto_vacuum is now incremental" in out
    _checkpoint(path)
    assert path.stat().st_size < before / 2
    async with seeded(url) as seeder:
        assert await seeder.repository.vacuum_mode() == "incremental"


def _checkpoint(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.mark.parametrize("value", ["30 days", "0d", "-5d", "soon"])
def test_a_bad_duration_is_one_line_naming_file_key_and_fix(tmp_path: Path, value: str) -> None:
    """A retention that is not a duration: one line, the file, the key, the fix, status 2."""
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", f'keep_unflagged = "{value}"')
    result = invoke(["db", "prune", "--config", str(config)])
    assert result.code == 2
    assert result.stderr.strip() == (
        f"{config}: database.keep_unflagged: must be a duration like "
        f'"30d", "12h", "2w" or "forever" (got \'{value}\')'
    )


@pytest.mark.telegram
async def test_the_daemon_prunes_old_posts_on_its_own(
    world: MonitorWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With keep_unflagged set, the running daemon empties old unflagged posts' text."""
    monkeypatch.setattr("monitor.daemon.PRUNE_SECONDS", 1)  # every 10 minutes in service
    channel = world.server.add_channel(username="news_r", title="News R")
    old = NOW - dt.timedelta(days=40)
    await world.server.post(channel, PLAIN, date=old)
    await world.server.post(channel, "Дезертир объявлен в розыск", date=old)
    await world.server.post(channel, PLAIN + " сегодня")
    world.write_config(["@news_r"], interval=3600)
    url_line = f'url = "{world.database_url}"\n'
    config = world.config_path.read_text(encoding="utf-8")
    world.config_path.write_text(
        config.replace(url_line, url_line + 'keep_unflagged = "30d"\n'), encoding="utf-8"
    )
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select count(*) from posts where text = ''"), within=30)
    rows = await world.query("select message_id, flagged, text from posts order by message_id")
    assert [(r[0], bool(r[1]), r[2]) for r in rows] == [
        (1, False, ""),
        (2, True, "Дезертир объявлен в розыск"),
        (3, False, PLAIN + " сегодня"),
    ]
    assert await world.stop_daemon(daemon) == 0


async def test_migration_keeps_the_posts_of_a_database_with_data(database_url: str) -> None:
    """A database at the revision before holding posts upgrades with them, and prunes."""
    await asyncio.to_thread(migrate.upgrade, database_url, BEFORE)
    repository = Repository.open(database_url)
    try:
        seeder = Seeder(repository, Outbox(repository.engine), {})
        await _store(seeder, [_item(PLAIN, 1, 3, False), _item(FLAGGED, 2, 40, True)])
        await asyncio.to_thread(migrate.upgrade, database_url)
        assert await asyncio.to_thread(migrate.current_revision, database_url) == (
            migrate.head_revision()
        )
        assert [row.flagged for row in await repository.channel_overview()] == [1]
        assert await _texts(seeder) == {1: PLAIN, 2: FLAGGED}
        cutoff = NOW - dt.timedelta(days=1)
        assert await repository.prune_batch(cutoff, flagged=False) == 1
    finally:
        await repository.close()
