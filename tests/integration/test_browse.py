"""`monitor flagged`, `export` and `stats` on what the daemon stored (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest

from tests.helpers.cli import invoke
from tests.helpers.monitor_world import MonitorWorld

pytestmark = pytest.mark.telegram

STORY = "Дезертира задержали на вокзале"
OTHER = "Погода на выходные: без осадков"
STORY_EN = "Police detained an AWOL deserter"


async def _stored_world(world: MonitorWorld) -> tuple[int, int]:
    first = world.server.add_channel(username="browse_a", title="Browse A")
    second = world.server.add_channel(username="browse_b", title="Browse B")
    story_id = await world.server.post(first, STORY)
    await world.server.post(first, OTHER)
    story_en_id = await world.server.post(second, STORY_EN)
    world.write_config(["@browse_a", "@browse_b"])
    await world.login()
    await world.sweep()
    return story_id, story_en_id


async def _cli(world: MonitorWorld, *args: str) -> str:
    # The CLI runs its own event loop, so it runs in a thread beside the test's loop.
    result = await asyncio.to_thread(invoke, [*args, "--config", str(world.config_path)])
    assert result.code == 0, result.stderr
    return result.stdout


async def test_flagged_json_lists_flagged_posts_newest_first(world: MonitorWorld) -> None:
    """`flagged --format json` gives each flagged post with link, category, terms and spans."""
    story_id, story_en_id = await _stored_world(world)
    rows = json.loads(await _cli(world, "flagged", "--format", "json"))
    assert [(r["channel"], r["message_id"]) for r in rows] == [
        ("browse_b", story_en_id),
        ("browse_a", story_id),
    ]
    first = rows[1]
    assert first["link"] == f"https://t.me/browse_a/{story_id}"
    assert first["category"] == "desertion"
    assert first["rules"] == ["test-desertion"]
    start, end = first["spans"][0]
    assert STORY[start:end].lower().startswith("дезертир")
    filtered = json.loads(
        await _cli(world, "flagged", "--format", "json", "--channel", "@browse_a")
    )
    assert [r["message_id"] for r in filtered] == [story_id]
    assert (
        json.loads(await _cli(world, "flagged", "--format", "json", "--category", "hazing")) == []
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        pytest.param(
            ("flagged", "--category", "deserter"),
            "unknown category 'deserter' (one of awol, desertion,",
            id="category-typo",
        ),
        pytest.param(
            ("export", "--category", "Desertion"), "unknown category 'Desertion'", id="export"
        ),
        pytest.param(
            ("flagged", "--channel", "@browse_c"),
            "--channel '@browse_c': no such channel (known: @browse_a, @browse_b)",
            id="channel-typo",
        ),
        pytest.param(
            ("flagged", "--rule", "test-desert"),
            "--rule 'test-desert': no stored post matched it (known: test-desertion)",
            id="rule-typo",
        ),
    ],
)
async def test_unknown_filter_values_are_errors(
    world: MonitorWorld, args: tuple[str, ...], said: str
) -> None:
    """A filter naming what does not exist exits 2 naming the valid values (it listed nothing)."""
    await _stored_world(world)
    result = await asyncio.to_thread(invoke, [*args, "--config", str(world.config_path)])
    assert result.code == 2
    assert said in result.stderr
    assert "Traceback" not in result.stderr


async def test_export_writes_csv_and_jsonl(world: MonitorWorld) -> None:
    """`export` writes flagged posts (or all with --all) as CSV and JSON lines, oldest first."""
    story_id, _ = await _stored_world(world)
    table = list(csv.DictReader(io.StringIO(await _cli(world, "export", "--format", "csv"))))
    assert [row["message_id"] for row in table] == [str(story_id), "1"]
    assert json.loads(table[0]["terms"]) == ["дезертир"]
    lines = (await _cli(world, "export", "--format", "jsonl", "--all")).splitlines()
    assert len(lines) == 3
    assert {json.loads(line)["flagged"] for line in lines} == {True, False}


async def test_stats_counts_posts_and_flags(world: MonitorWorld) -> None:
    """`stats --format json` counts posts and flags per channel and per category."""
    await _stored_world(world)
    rows = json.loads(await _cli(world, "stats", "--format", "json", "--since", "30d"))
    totals = {(r["channel"], r["category"]): (r["posts"], r["flagged"]) for r in rows}
    assert totals[("browse_a", None)] == (2, 1)
    assert totals[("browse_b", None)] == (1, 1)
    assert totals[("browse_a", "desertion")] == (1, 1)
