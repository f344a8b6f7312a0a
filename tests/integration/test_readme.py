"""Every command the README shows runs here, or in the test named for it: the docs stay true."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.helpers.monitor_world import MonitorWorld

pytestmark = pytest.mark.telegram

README = Path(__file__).resolve().parents[2] / "README.md"

# Commands that need a terminal, run for minutes or start servers: the test that runs each.
COVERED_ELSEWHERE = {
    "demo": "tests/integration/test_demo.py::test_demo_shows_alerts_and_stores_them",
    "login": "tests/integration/test_login.py",
    "run": "tests/integration/test_daemon_process.py",
    "cluster": "tests/integration/test_cluster.py",
    "test-server": "tests/integration/test_test_server_seed.py",
    "web": "tests/integration/test_desk_cli.py",
}
# `monitor health` exits 1 when no daemon runs, which is what it should say here.
EXPECTED_CODES = {"health": 1}


def readme_commands() -> list[str]:
    """Return every `monitor ...` command in the README's shell blocks, in order."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                part = re.sub(r"\s+#.*$", "", part).strip()
                if part.startswith("monitor "):
                    commands.append(part)
    return commands


def readme_rule_file() -> str:
    """Return the example rule file the README shows."""
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return next(block for block in blocks if "[[rules]]" in block)


def test_readme_commands_are_all_known() -> None:
    """The README shows at least the main commands, and each one exists in the CLI."""
    commands = readme_commands()
    names = {shlex.split(command)[1] for command in commands}
    assert {"demo", "check-config", "login", "run", "flagged", "export", "rules"} <= names
    for name in names:
        assert invoke([name, "--help"]).code == 0, name
    for target in COVERED_ELSEWHERE.values():
        path = Path(__file__).resolve().parents[2] / target.split("::")[0]
        assert path.exists(), target


async def test_readme_commands_run(world: MonitorWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each README command runs against a real (local) setup with the documented result."""
    channel = world.server.add_channel(username="example_news", title="Example News")
    for index in range(30):
        await world.server.post(channel, f"Новости дня {index}")
    await world.server.post(channel, "Двое военнослужащих самовольно оставили часть, их ищут")
    extra = '[[alerts]]\nname = "newsroom"\nkind = "log"\n'
    world.write_config(["@example_news"], extra=extra)
    await world.login()
    await world.sweep()
    monkeypatch.chdir(world.folder)
    (world.folder / "my-rules.toml").write_text(readme_rule_file(), encoding="utf-8")
    lines = [
        {
            "id": "a",
            "text": "Дезертира задержали",
            "label": True,
            "lang": "ru",
            "category": "desertion",
        }
    ]
    (world.folder / "labelled.jsonl").write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    (world.folder / "posts.jsonl").write_text('{"id": 1, "text": "Сочи"}\n', encoding="utf-8")
    env = {"MONITOR_CONFIG": str(world.config_path), "MONITOR_TELEGRAM_API_HASH": "test"}
    ran = []
    for command in readme_commands():
        args = shlex.split(command)[1:]
        if args[0] in COVERED_ELSEWHERE:
            continue
        result = await asyncio.to_thread(invoke, args, env)
        assert result.code == EXPECTED_CODES.get(args[0], 0), (command, result.stderr)
        assert "Traceback" not in result.stderr, command
        ran.append(args[0])
    assert len(ran) >= 15
    assert (world.folder / "flagged.csv").exists()
    # `export --all` ran before `backfill`: the first sweep kept the newest 20 posts.
    assert (world.folder / "all.jsonl").read_text(encoding="utf-8").count("\n") == 20
    assert await world.scalar("select count(*) from posts") == 31  # backfill read the rest
