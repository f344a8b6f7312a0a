"""A monitored world for daemon tests: the local Telegram server, a logged-in account, a config.

``MonitorWorld`` starts the MTProto test server, registers the monitoring account, writes a
``monitor.toml`` pointing at the server and logs in through the project's own login code, so
what runs afterwards is exactly what a user runs.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from monitor.config import Config, load_config
from monitor.daemon import Daemon
from monitor.storage.engine import create_engine
from monitor.telegram.login import interactive_login
from monitor.testing.server import ServerSettings, TelegramTestServer

PHONE = "+99966000001"
RULES = """
[[rules]]
id = "test-desertion"
category = "desertion"
score = 0.8
any = ["дезертир", "deserter", "AWOL"]
"""


async def wait_until(
    check: Callable[[], Awaitable[Any]], within: float = 15.0, interval: float = 0.05
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except Exception as error:  # e.g. the daemon has not created the tables yet
            last = error
        else:
            if last:
                return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within} s (last value: {last!r})")


@dataclass
class MonitorWorld:
    """The server, the account and the config of one test."""

    server: TelegramTestServer
    settings: ServerSettings
    folder: Path
    database_url: str
    config_path: Path = field(init=False)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.config_path = self.folder / "monitor.toml"
        self.settings.write_public_key(self.folder / "server-key.pem")
        (self.folder / "rules.toml").write_text(RULES, encoding="utf-8")

    def write_config(self, channels: list[str], extra: str = "", **scheduler: Any) -> Config:
        """Write monitor.toml for ``channels`` and return it loaded."""
        lines = [self.settings.config_toml(self.folder / "server-key.pem")]
        lines.append(f'[database]\nurl = "{self.database_url}"\n')
        lines.append('[rules]\ndefault_pack = false\nfiles = ["rules.toml"]\n')
        settings = {"interval": 5, "jitter": 0, "backfill": 20, **scheduler}
        lines.append("[scheduler]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in settings.items()))
        lines.append('[metrics]\nheartbeat_file = "monitor.heartbeat"\n')
        lines += [f'[[channels]]\nref = "{ref}"\n' for ref in channels]
        lines.append('[[alerts]]\nkind = "log"\n')
        lines.append(extra)
        self.config_path.write_text("\n".join(lines), encoding="utf-8")
        return self.config()

    def config(self) -> Config:
        """Load the current monitor.toml."""
        return load_config(self.config_path, environ={})

    async def login(self) -> None:
        """Log the monitoring account in with the project's login code."""
        telegram = self.config().telegram
        assert telegram is not None
        await interactive_login(
            telegram,
            as_string=False,
            phone=PHONE,
            code=lambda: self.server.login_code,
            password=lambda: "",
        )

    def start_daemon(self) -> Daemon:
        """Run ``monitor run`` in this process, in the background; stop it with ``stop``."""
        daemon = Daemon(self.config(), handle_signals=False)
        self.tasks.append(asyncio.create_task(daemon.run()))
        return daemon

    async def stop_daemon(self, daemon: Daemon) -> int:
        """Ask a daemon started here to stop and return its exit code."""
        daemon.stop_event.set()
        task = self.tasks.pop()
        return int(await asyncio.wait_for(task, timeout=15))

    async def sweep(self) -> int:
        """Run ``monitor run --once`` in this process."""
        return await Daemon(self.config(), once=True, handle_signals=False).run()

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """Start ``python -m monitor ARGS`` with this world's config, as a user would."""
        env = {**os.environ, "MONITOR_CONFIG": str(self.config_path)}
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--log-format", "json", *args],
            cwd=self.folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    async def query(self, sql: str) -> list[Any]:
        """Run a read-only SQL query against the world's database."""
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                return list(await conn.execute(text(sql)))
        finally:
            await engine.dispose()

    async def scalar(self, sql: str) -> Any:
        """Return the first column of the first row of ``sql``."""
        rows = await self.query(sql)
        return rows[0][0] if rows else None


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


async def make_world(folder: Path, database_url: str) -> MonitorWorld:
    """Start a server with the monitoring account and return the world around it."""
    server = TelegramTestServer()
    settings = await server.start()
    server.add_user(phone=PHONE, first_name="Monitor")
    return MonitorWorld(server, settings, folder, database_url)
