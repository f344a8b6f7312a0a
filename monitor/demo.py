"""``monitor demo``: the whole service, offline, in one command and without a phone number.

Starts the local MTProto test server seeded with invented channels (ru, uk, en), logs a demo
account in through the normal login code, runs the real daemon against it with a SQLite
database in a demo folder, keeps publishing posts on a timer, and prints each alert the daemon
delivers. Nothing here is a shortcut: the same Telethon client, rules, storage and dispatcher
run as in production; only the Telegram server is local.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from monitor.config import Config, SchedulerSettings, load_config
from monitor.logs import configure_logging

DEMO_PHONE = "+99966000042"
BACKLOG_AGE = timedelta(minutes=10)


@dataclass(frozen=True)
class DemoFeed:
    """The demo's channels, the posts they start with, and the posts published later."""

    channels: list[dict[str, str]]
    backlog: list[dict[str, str]]
    feed: list[dict[str, str]]


def load_feed() -> DemoFeed:
    """Read the invented demo content shipped with the package."""
    text = resources.files("monitor").joinpath("demo_feed.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return DemoFeed(data["channels"], data["backlog"], data["feed"])


def demo_config_text(server_toml: str, channels: list[str]) -> str:
    """Return the demo's monitor.toml: the local server, SQLite, the default rules, a log sink."""
    refs = "".join(f'[[channels]]\nref = "@{name}"\n\n' for name in channels)
    # Poll as often as the account's history budget allows, and no more: asking for more
    # would only stretch the intervals and log a warning about it. Live updates bring new
    # posts at once anyway; the poll is the safety net. The demo's server starts afresh every
    # time, so there is nothing to re-read (edits, deletions) and no budget to spend on it.
    budget = SchedulerSettings.model_fields["history_requests_per_minute"].default
    interval = max(5, math.ceil(60 * len(channels) / budget))
    return (
        "# Written by `monitor demo`: the local test server stands in for Telegram.\n"
        f"{server_toml}\n"
        '[database]\nurl = "sqlite:///monitor.db"\n\n'
        f"[scheduler]\ninterval = {interval}\njitter = 1\nbackfill = 20\nrecheck_window = 0\n\n"
        '[metrics]\nheartbeat_file = "monitor.heartbeat"\n\n'
        f"{refs}"
        '[[alerts]]\nname = "demo"\nkind = "log"\n'
    )


@dataclass
class Demo:
    """One demo run: server, daemon, publisher and the alert display."""

    folder: Path
    duration: float | None
    every: float
    show: Callable[[Any], None]
    log_stream: TextIO
    published: int = 0
    web: str | None = None
    on_desk: Callable[[str], None] = lambda _address: None

    async def run(self) -> dict[str, int]:
        """Run until ``duration`` passes or Ctrl-C; return what happened."""
        from monitor.daemon import Daemon, prepare_database
        from monitor.testing.server import TelegramTestServer

        feed = load_feed()
        server = TelegramTestServer()
        settings = await server.start("127.0.0.1", 0)
        try:
            channels = await self._seed(server, feed)
            config = self._write_config(settings, [c["username"] for c in feed.channels])
            await self._login(config, server)
            # The schema first: the desk starts beside the daemon and must not read a database
            # the daemon has yet to create (its first page answered 500 on a loaded machine).
            await prepare_database(config.database.url)
            daemon = Daemon(config, handle_signals=False)
            return await self._supervise(daemon, server, channels, feed)
        finally:
            await server.stop()

    async def _seed(self, server: Any, feed: DemoFeed) -> dict[str, Any]:
        server.add_user(phone=DEMO_PHONE, first_name="Demo", username="demo_analyst")
        channels = {
            c["username"]: server.add_channel(username=c["username"], title=c["title"])
            for c in feed.channels
        }
        posted = datetime.now(UTC) - BACKLOG_AGE
        for index, post in enumerate(feed.backlog):
            date = posted + timedelta(minutes=index)
            await server.post(channels[post["channel"]], post["text"], date=date)
        return channels

    def _write_config(self, settings: Any, channels: list[str]) -> Config:
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in ("monitor.db", "monitor.db-wal", "monitor.db-shm", "monitor.session"):
            (self.folder / stale).unlink(missing_ok=True)
        key = settings.write_public_key(self.folder / "test-server-key.pem")
        path = self.folder / "monitor.toml"
        path.write_text(demo_config_text(settings.config_toml(key), channels), encoding="utf-8")
        return load_config(path)

    async def _login(self, config: Config, server: Any) -> None:
        from monitor.telegram.login import interactive_login

        assert config.telegram is not None  # noqa: S101  demo_config_text always writes it
        # Telethon prints a greeting, which the login sends to stderr: into the demo's log.
        with (
            contextlib.redirect_stdout(self.log_stream),
            contextlib.redirect_stderr(self.log_stream),
        ):
            await interactive_login(
                config.telegram,
                as_string=False,
                phone=DEMO_PHONE,
                code=lambda: server.login_code,
                password=lambda: "",
            )

    async def _supervise(
        self, daemon: Any, server: Any, channels: dict[str, Any], feed: DemoFeed
    ) -> dict[str, int]:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        run = asyncio.create_task(daemon.run())
        publisher = asyncio.create_task(self._publish(server, channels, feed, stop))
        watcher = asyncio.create_task(self._watch_alerts(daemon.config, stop))
        desk = asyncio.create_task(self._serve_desk(daemon.config, stop))
        try:
            await asyncio.wait(
                [run, asyncio.create_task(stop.wait())],
                timeout=self.duration,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stop.set()
            daemon.stop_event.set()
            await asyncio.gather(publisher, return_exceptions=True)
            await asyncio.wait_for(run, timeout=15)
            await asyncio.gather(desk, return_exceptions=True)
            shown = await watcher
        return {"published": len(feed.backlog) + self.published, "alerts": shown}

    async def _serve_desk(self, config: Config, stop: asyncio.Event) -> None:
        """Serve the analyst's desk on ``web`` (another free port when that one is taken)."""
        from monitor.errors import ConfigError
        from monitor.web.server import DeskServer

        if self.web is None:
            return
        server = DeskServer(config, self.web)
        task = asyncio.create_task(server.serve(stop))
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if not server.ready.is_set() and isinstance(task.exception(), ConfigError):
            server = DeskServer(config, f"{self.web.rpartition(':')[0]}:0")
            task = asyncio.create_task(server.serve(stop))
            await server.ready.wait()
        self.on_desk(server.address)
        await task

    async def _publish(
        self, server: Any, channels: dict[str, Any], feed: DemoFeed, stop: asyncio.Event
    ) -> None:
        for post in feed.feed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            if stop.is_set():
                return
            await server.post(channels[post["channel"]], post["text"])
            self.published += 1

    async def _watch_alerts(self, config: Config, stop: asyncio.Event) -> int:
        from monitor.storage.browse import Browser
        from monitor.storage.engine import create_engine

        shown, last = 0, 0
        engine = create_engine(config.database.url)
        try:
            while True:
                with contextlib.suppress(Exception):  # the daemon may not have made tables yet
                    for alert in await Browser(engine).delivered(last):
                        self.show(alert)
                        shown, last = shown + 1, alert.alert_id
                if stop.is_set():
                    return shown
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
        finally:
            await engine.dispose()


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)


def run_demo(
    folder: Path,
    duration: float | None,
    every: float,
    show: Callable[[Any], None],
    web: str | None = None,
    on_desk: Callable[[str], None] = lambda _address: None,
) -> dict[str, int]:
    """Run the demo; daemon logs go to ``folder/monitor.log`` so the terminal shows alerts.

    With ``web`` (``HOST:PORT``) the desk is served too and ``on_desk`` gets its address.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "monitor.log").open("w", encoding="utf-8") as log_stream:
        configure_logging("info", "json", stream=log_stream)
        demo = Demo(folder, duration, every, show, log_stream, web=web, on_desk=on_desk)
        return asyncio.run(demo.run())
