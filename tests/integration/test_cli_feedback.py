"""`monitor feedback`, `mute`, `mutes`, `unmute`, `rules eval --feedback`, `rules train
--feedback` and the feedback column of `export`, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.models import Classified
from tests.helpers.alerts import make_match, make_post
from tests.helpers.cli import Result, invoke
from tests.helpers.outbox import Seeder, seeded

STORY = "Военнослужащий самовольно оставил часть (СОЧ) под Курском, его ищут."
MISSED = "Солдат сбежал из части под Белгородом, его ищет военная полиция."
PLAIN = "Сводка погоды: в Курске завтра дождь и ветер."


@pytest.fixture
async def seeder(database_url: str) -> AsyncIterator[Seeder]:
    """A migrated database holding a flagged story, a missed one and a plain post."""
    async with seeded(database_url) as made:
        channel = await made.channel(1001, "news_ch")
        items = [
            Classified(make_post(STORY, message_id=1), (make_match(STORY),), (), "ru", "t"),
            Classified(make_post(MISSED, message_id=2), (), (), "ru", "t"),
            Classified(make_post(PLAIN, message_id=3), (), (), "ru", "t"),
        ]
        await made.repository.store_batch(channel, items, cursor=3, alert_cutoff=None)
        yield made


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    """A config file naming the test's database (and the shipped rule pack)."""
    path = tmp_path / "monitor.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    return path


async def _cli(config: Path, *args: str) -> Result:
    # The CLI runs its own event loop, so it runs in a thread beside the test's loop.
    return await asyncio.to_thread(invoke, [*args, "--config", str(config)])


async def _ok(config: Path, *args: str) -> str:
    result = await _cli(config, *args)
    assert result.code == 0, result.stderr
    return result.stdout


async def test_feedback_by_id_or_link_shows_in_export(seeder: Seeder, config: Path) -> None:
    """Posts judged by id and by link carry their current label in the export."""
    rows = json.loads(await _ok(config, "flagged", "--format", "json"))
    assert [row["feedback"] for row in rows] == [None]
    said = await _ok(config, "feedback", str(rows[0]["id"]), "confirmed")
    assert said.startswith(f"post {rows[0]['id']}: confirmed, by cli at ")
    await _ok(config, "feedback", "https://t.me/news_ch/2", "missed", "--category", "escape")
    await _ok(config, "feedback", "@news_ch/1", "false_positive", "--who", "ann")
    lines = (await _ok(config, "export", "--all", "--format", "jsonl")).splitlines()
    labels = {json.loads(line)["message_id"]: json.loads(line)["feedback"] for line in lines}
    assert labels == {1: "false_positive", 2: "missed", 3: None}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        pytest.param(("9999", "confirmed"), "no stored post with id 9999", id="no-post"),
        pytest.param(("@news_ch/77", "confirmed"), "post '@news_ch/77' is not stored", id="link"),
        pytest.param(("1", "missed"), "a missed story needs its category", id="no-category"),
        pytest.param(
            ("1", "missed", "--category", "desert"), "unknown category 'desert'", id="category"
        ),
        pytest.param(("yesterday", "confirmed"), "give the id", id="not-a-post"),
    ],
)
async def test_bad_feedback_is_one_line_and_status_2(
    seeder: Seeder, config: Path, args: tuple[str, ...], said: str
) -> None:
    """A post that is not stored or a bad category exits 2 with the fix, no traceback."""
    result = await _cli(config, "feedback", *args)
    assert (result.code, result.stderr.count("\n")) == (2, 1), result.stderr
    assert said in result.stderr


async def test_mute_list_and_unmute(seeder: Seeder, config: Path) -> None:
    """A channel and a rule are muted, listed, one undone; typos are refused."""
    first = await _ok(config, "mute", "channel", "@News_Ch", "--hours", "24")
    assert first.startswith("mute 1: channel news_ch until ")
    assert "(active)" in first
    await _ok(config, "mute", "rule", "scorer")
    listed = json.loads(await _ok(config, "mutes", "--format", "json"))
    assert [(m["id"], m["kind"], m["target"]) for m in listed] == [
        (2, "rule", "scorer"),
        (1, "channel", "news_ch"),
    ]
    assert "(undone)" in await _ok(config, "unmute", "2")
    assert [m["id"] for m in json.loads(await _ok(config, "mutes", "--format", "json"))] == [1]
    assert "2  rule scorer until undone (undone)" in await _ok(config, "mutes", "--all")
    typo = await _cli(config, "mute", "channel", "@news_cg")
    assert (typo.code, typo.stderr) == (
        2,
        "no channel '@news_cg' is monitored (known: @news_ch)\n",
    )
    rule = await _cli(config, "mute", "rule", "no-such-rule")
    assert rule.code == 2
    assert "no rule 'no-such-rule' in the rules in effect" in rule.stderr
    assert (await _cli(config, "unmute", "42")).stderr == (
        "no mute with id 42; `monitor mutes` lists them\n"
    )


async def test_rules_eval_scores_the_judged_posts(seeder: Seeder, config: Path) -> None:
    """`rules eval --feedback` counts a judged false positive and a judged missed story."""
    empty = await _cli(config, "rules", "eval", "--feedback")
    assert (empty.code, "no stored feedback yet" in empty.stderr) == (2, True)
    await _ok(config, "feedback", "@news_ch/3", "false_positive")
    await _ok(config, "feedback", "@news_ch/2", "missed", "--category", "desertion")
    out = await _ok(config, "rules", "eval", "--feedback", "--no-scorer")
    assert out.startswith("scoring 2 labelled posts\n")
    assert "(TP " in out
    assert "post:" in out  # the judged posts are named by their ids
    usage = await _cli(config, "rules", "eval")
    assert usage.code == 2
    assert "give a FILE of labelled posts, or --feedback, or both" in usage.stderr


@pytest.mark.slow
async def test_rules_train_takes_the_judged_posts(
    seeder: Seeder, config: Path, tmp_path: Path
) -> None:
    """`rules train --feedback` fits on the shipped corpus plus the judged posts."""
    await _ok(config, "feedback", "@news_ch/2", "missed", "--category", "desertion")
    await _ok(config, "feedback", "@news_ch/3", "false_positive")
    out = tmp_path / "weights.json"
    said = await _ok(config, "rules", "train", "--feedback", "--folds", "2", "--out", str(out))
    assert " and 2 judged in the database; cross-validated:" in said.splitlines()[0]
    assert json.loads(out.read_text(encoding="utf-8"))["features"]
