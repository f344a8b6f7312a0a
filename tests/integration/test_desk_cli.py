"""`monitor web` as a user starts it: loopback by default, a token beyond it, never shown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers.cli import invoke

TOKEN = "desk-token-never-shown-0451"


def _config(folder: Path) -> Path:
    path = folder / "monitor.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{folder / "monitor.db"}"\n', encoding="utf-8")
    assert invoke(["db", "upgrade", "--config", str(path)]).code == 0
    return path


def test_beyond_loopback_without_token_refuses_in_one_line(tmp_path: Path) -> None:
    """`monitor web --listen 0.0.0.0:PORT` without a token exits 2 with one line naming the fix."""
    result = invoke(["web", "--config", str(_config(tmp_path)), "--listen", "0.0.0.0:0"])
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "web.listen" in lines[0]
    assert "MONITOR_WEB_TOKEN" in lines[0]


def test_with_a_token_it_serves_and_never_shows_the_token(tmp_path: Path) -> None:
    """With MONITOR_WEB_TOKEN every request needs the token, and nothing prints it.

    (On loopback here: the tests listen on 127.0.0.1 only; the token guard is the same.)
    """
    config = _config(tmp_path)
    env = {**os.environ, "MONITOR_WEB_TOKEN": TOKEN}
    command = [sys.executable, "-m", "monitor", "--log-format", "json", "--log-level", "debug"]
    process = subprocess.Popen(
        [*command, "web", "--config", str(config), "--listen", "127.0.0.1:0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        address = _announced(process)
        url = address.rstrip("/")
        refused = httpx.get(f"{url}/api/posts")
        allowed = httpx.get(f"{url}/api/posts", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert (refused.status_code, allowed.status_code) == (401, 200)
    assert process.returncode == 0
    assert TOKEN not in out + err


def _announced(process: subprocess.Popen[str]) -> str:
    """Read stderr until the desk says where it is (or the process ends)."""
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if "The desk is at" in line:
            return line.split("The desk is at", 1)[1].split()[0]
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"the desk never said where it is (exit {process.poll()})")
