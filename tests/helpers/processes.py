"""Run ``monitor`` commands against a ``MonitorWorld`` while its test server keeps serving.

The local Telegram server lives on the test's event loop, so a command must never block that
loop: in-process commands run in a worker thread (with their own ``asyncio.run``), and
subprocesses are waited for by polling with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.cli import Result, invoke
from tests.helpers.monitor_world import MonitorWorld


async def monitor(
    world: MonitorWorld, *args: str, input: str | None = None, columns: int = 200
) -> Result:
    """Run ``monitor ARGS`` in-process (in a thread) with the world's config."""
    env = {"MONITOR_CONFIG": str(world.config_path), "COLUMNS": str(columns)}
    return await asyncio.to_thread(invoke, list(args), env, input)


class Spawned(subprocess.Popen[str]):
    """A ``monitor`` subprocess whose output goes to files (a pipe nobody reads would fill)."""

    stdout_path: Path
    stderr_path: Path

    def output(self) -> Result:
        """Return the exit code (-1 while running) and what the process printed so far."""
        return Result(
            -1 if self.returncode is None else self.returncode,
            self.stdout_path.read_text(encoding="utf-8", errors="replace"),
            self.stderr_path.read_text(encoding="utf-8", errors="replace"),
        )


def spawn(
    world: MonitorWorld, *args: str, config: Path | None = None, stdin: bool = False
) -> Spawned:
    """Start ``python -m monitor ARGS`` in its own session (no terminal), as cron would."""
    env = {**os.environ, "MONITOR_CONFIG": str(config or world.config_path)}
    index = len(list(world.folder.glob("process-*.out")))
    stdout_path = world.folder / f"process-{index}.out"
    stderr_path = world.folder / f"process-{index}.err"
    with stdout_path.open("w") as out, stderr_path.open("w") as err:
        process = Spawned(
            [sys.executable, "-m", "monitor", "--log-format", "json", *args],
            cwd=world.folder,
            env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
    process.stdout_path, process.stderr_path = stdout_path, stderr_path
    return process


async def finish(process: Spawned, within: float = 15.0, input: str | None = None) -> Result:
    """Wait for ``process`` to exit (feeding ``input``); kill it and fail after ``within`` s."""
    try:
        await asyncio.to_thread(process.communicate, input, within)
    except subprocess.TimeoutExpired:
        stop(process)
        tail = process.output().stderr[-2000:]
        raise AssertionError(f"monitor did not exit within {within} s; stderr: {tail}") from None
    return process.output()


async def exits_within(process: subprocess.Popen[str], within: float) -> float:
    """Wait until ``process`` exits; return how long it took (fail after ``within`` s)."""
    started = time.monotonic()
    while process.poll() is None:
        if time.monotonic() - started > within:
            raise AssertionError(f"process {process.pid} still running after {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def stop(process: subprocess.Popen[str]) -> None:
    """Kill ``process`` if it still runs and reap it (for ``finally`` blocks)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError):
        process.communicate(timeout=10)
