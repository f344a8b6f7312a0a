"""The pure core imports no edge library: checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

EDGES = ("telethon", "sqlalchemy", "httpx", "aiohttp", "requests", "apprise", "asyncpg")


@pytest.mark.parametrize(
    "module", ["monitor.rules", "monitor.models", "monitor.rules.language", "monitor.cluster.plan"]
)
def test_pure_module_imports_no_edge_library(module: str) -> None:
    """Importing the module loads none of the I/O libraries."""
    code = (
        f"import sys, {module}\n"
        f"loaded = sorted(m for m in {EDGES!r} if m in sys.modules)\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
