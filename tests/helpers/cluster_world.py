"""Several accounts and ``monitor run`` instances over one PostgreSQL, for cluster tests.

``ClusterWorld`` wraps a ``MonitorWorld`` whose test server has one user per account. Each
account logs in with the project's own login code into its own session (``--session``), and
each instance is a real ``monitor run --session NAME`` process. A ``Poster`` publishes to the
channels continuously (a third of the posts flagged, each with a text of its own so that no
two alerts are one story) and remembers what it published; the checks compare that with
the database and with what the webhook receiver got.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from monitor.cli.context import use_session
from monitor.telegram.login import interactive_login
from monitor.testing.state import ChannelRecord
from tests.helpers.http_server import RecordingServer
from tests.helpers.monitor_world import MonitorWorld
from tests.helpers.processes import Spawned, spawn, stop

FLAGGED = "Дезертир задержан {tag}"
PLAIN = "Обычные новости города {tag}"


def phone(index: int) -> str:
    """The test phone number of account ``index`` (0 is the world's own account)."""
    return f"+9996600{index + 1:04d}"


@dataclass
class Poster:
    """Publishes posts round-robin to channels; every third is flagged."""

    world: MonitorWorld
    channels: list[ChannelRecord]
    published: set[tuple[str, int]] = field(default_factory=set)
    flagged: set[tuple[str, int]] = field(default_factory=set)
    count: int = 0

    async def post(self) -> None:
        """Publish one post to the next channel."""
        channel = self.channels[self.count % len(self.channels)]
        tag = f"c{channel.username}n{self.count}"
        flag = self.count % 3 == 0
        text = (FLAGGED if flag else PLAIN).format(tag=tag)
        message_id = await self.world.server.post(channel, text)
        key = (str(channel.username), int(message_id))
        self.published.add(key)
        if flag:
            self.flagged.add(key)
        self.count += 1

    async def run(self, stop: asyncio.Event, every: float) -> None:
        """Post every ``every`` seconds until ``stop``."""
        while not stop.is_set():
            await self.post()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


@dataclass
class ClusterWorld:
    """A world with several accounts, their instances and a webhook receiver."""

    world: MonitorWorld
    receiver: RecordingServer
    accounts: list[str]
    processes: dict[str, Spawned] = field(default_factory=dict)

    def write_config(
        self, refs: list[str], lease: int, cluster_extra: str = "", **scheduler: Any
    ) -> None:
        """Write the one config every instance shares: channels, webhook, short leases."""
        hook = f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{self.receiver.url}/hook"\n'
        cluster = f"[cluster]\nlease_seconds = {lease}\n{cluster_extra}"
        self.world.write_config(refs, extra=hook + cluster, **scheduler)

    async def login_all(self) -> None:
        """Add a test user per account and log each into its own session file."""
        for index, account in enumerate(self.accounts):
            if index:
                self.world.server.add_user(phone=phone(index), first_name=account)
            telegram = use_session(self.world.config(), account).telegram
            assert telegram is not None
            await interactive_login(
                telegram,
                as_string=False,
                phone=phone(index),
                code=lambda: self.world.server.login_code,
                password=lambda: "",
            )

    def start(self, account: str) -> Spawned:
        """Start ``monitor run --session ACCOUNT``."""
        process = spawn(self.world, "run", "--session", account)
        self.processes[account] = process
        return process

    def kill(self, account: str) -> None:
        """``kill -9`` the instance of ``account``."""
        process = self.processes.pop(account)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        """Stop every instance still running, whatever happened."""
        for process in self.processes.values():
            stop(process)
        self.processes.clear()

    async def held(self) -> dict[str, int]:
        """Channels held now (unexpired leases), by account."""
        rows = await self.world.query(
            "select i.account, count(*) from channel_leases l join instances i"
            " on i.id = l.holder_id where l.expires_at > timezone('UTC', now())"
            " group by i.account"
        )
        return {row[0]: int(row[1]) for row in rows}

    async def stored(self) -> Counter[tuple[str, int]]:
        """Stored posts as (channel username, message id), with how often each is stored."""
        rows = await self.world.query(
            "select c.username, p.message_id from posts p join channels c on c.id = p.channel_id"
        )
        return Counter((str(row[0]), int(row[1])) for row in rows)

    def deliveries(self) -> tuple[Counter[str], set[tuple[str, int]]]:
        """Webhook alerts received: count per idempotency key, and the posts they alerted."""
        keys: Counter[str] = Counter()
        alerted: set[tuple[str, int]] = set()
        for request in list(self.receiver.requests):
            if request.headers.get("X-Monitor-Event") != "alert":
                continue
            keys[request.headers["X-Monitor-Delivery"]] += 1
            post = json.loads(request.body)["post"]
            alerted.add((str(post["channel_username"]), int(post["message_id"])))
        return keys, alerted
