"""Fixtures shared by every test: databases (SQLite files, fresh PostgreSQL databases)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.helpers.monitor_world import MonitorWorld, make_world
from tests.helpers.postgres import create_database, drop_database, server_available

POSTGRES_URL = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's own folder."""
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    if not server_available(POSTGRES_URL):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} does not answer (CI needs it)")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} does not answer")
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    url = create_database(POSTGRES_URL, name)
    yield url
    drop_database(POSTGRES_URL, name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each database the service supports: a SQLite file and a fresh PostgreSQL database."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[MonitorWorld]:
    """A running local Telegram server, a monitoring account and a config folder."""
    created = await make_world(tmp_path, database_url)
    yield created
    for task in created.tasks:
        task.cancel()
    for task in created.tasks:
        with contextlib.suppress(BaseException):
            await task
    await created.server.stop()


@pytest.fixture
def dev_set() -> Path:
    """The shared labelled dev set, or a skip when ../shared is not beside the clone."""
    path = SHARED_DIR / "eval" / "dev.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is absent (it sits beside the clone in CI only)")
    return path
