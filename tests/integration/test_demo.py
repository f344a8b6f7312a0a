"""`monitor demo`: the README's first command, end to end, as a subprocess."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from monitor.demo import load_feed
from monitor.storage.engine import create_engine
from tests.helpers.cli import run

pytestmark = [pytest.mark.telegram, pytest.mark.slow]


async def _count(url: str, sql: str) -> int:
    from sqlalchemy import text

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()


def test_demo_shows_alerts_and_stores_them(tmp_path: Path) -> None:
    """`monitor demo --duration 20` prints alert panels that match the rows in its database."""
    result = run(["demo", "--duration", "20", "--every", "1"], cwd=tmp_path, timeout=90)
    assert result.code == 0, result.stderr
    printed = re.findall(r"https://t\.me/(demo_\w+)/(\d+)", result.stdout)
    assert len(printed) >= 5
    summary = re.search(r"(\d+) posts published, (\d+) alerts delivered", result.stdout)
    assert summary is not None
    assert int(summary.group(2)) == len(printed)
    url = f"sqlite:///{tmp_path / 'monitor-demo' / 'monitor.db'}"
    sent = asyncio.run(_count(url, "select count(*) from alerts where state = 'sent'"))
    assert sent == len(printed)
    flagged = asyncio.run(_count(url, "select count(*) from posts where flagged"))
    assert flagged == len(printed)
    stored = asyncio.run(_count(url, "select count(*) from posts"))
    assert stored == int(summary.group(1))
    assert result.stderr == ""  # the log (and Telethon's greeting) goes to monitor.log
    assert re.search(r"The desk: open http://127\.0\.0\.1:\d+/", result.stdout)
    log = (tmp_path / "monitor-demo" / "monitor.log").read_text(encoding="utf-8")
    assert "poll_budget_exceeded" not in log  # the demo's config fits the request budget


def test_demo_serves_the_desk(tmp_path: Path) -> None:
    """While `monitor demo` runs, the desk it announces lists the demo's flagged stories."""
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--every", "1", "--web", "127.0.0.1:0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = _desk_address(process)
        deadline = time.monotonic() + 60
        posts: list[object] = []
        while not posts and time.monotonic() < deadline:
            posts = httpx.get(f"{address}api/posts", timeout=10).json()
            time.sleep(0.2)  # polling a condition with a deadline
        page = httpx.get(address, timeout=10).text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert posts, "the desk listed no flagged post within 60 s"
    assert "<mark>" in page


def _desk_address(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"The desk: open (http://\S+/)", line)
        if found:
            return found.group(1)
    raise AssertionError(f"the demo never announced its desk (exit {process.poll()})")


def test_demo_feed_mixes_stories_and_look_alikes() -> None:
    """The demo content has stories and ordinary news, and none of it is copied from the dev set."""
    from monitor.rules import load_ruleset

    feed = load_feed()
    texts = [post["text"] for post in (*feed.backlog, *feed.feed)]
    flagged = [text for text in texts if load_ruleset().evaluate(text)]
    assert 5 <= len(flagged) < len(texts)
    dev = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "dev.jsonl"
    if dev.exists():
        corpus = dev.read_text(encoding="utf-8")
        assert [text for text in texts if text[:60] in corpus] == []
