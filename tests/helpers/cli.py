"""Run the ``monitor`` command the way a user does: as a subprocess, or in-process via click."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli


@dataclass(frozen=True)
class Result:
    """What a finished command left: its exit code and its two streams."""

    code: int
    stdout: str
    stderr: str


def invoke(
    args: Sequence[str], env: Mapping[str, str] | None = None, input: str | None = None
) -> Result:
    """Run ``monitor ARGS`` in this process (fast; same code path as the console script)."""
    runner = CliRunner()
    try:
        outcome = runner.invoke(
            cli, list(args), env=dict(env or {}), input=input, catch_exceptions=False
        )
    finally:
        # configure_logging pointed the root logger at the runner's stream, now closed.
        logging.getLogger().handlers.clear()
    return Result(outcome.exit_code, outcome.stdout, outcome.stderr)


def run(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """Run ``python -m monitor ARGS`` as a subprocess, as a user's shell would."""
    environment = {**os.environ, **(env or {})}
    completed = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)
