"""Which channels an instance claims and lets go: private memberships and resolve budgets.

The lease keeper runs against a real PostgreSQL database; each instance is a ``LeaseKeeper``
with its own account, a clock of its own and a resolve budget set by the test. Telegram is not
needed: what an account joined or resolved is what the daemon records in ``account_channels``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from monitor.cluster.identity import Identity
from monitor.cluster.keeper import LeaseKeeper
from monitor.config import ClusterSettings
from monitor.storage.leases import Leases
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository

pytestmark = pytest.mark.postgres

LEASE = 30


@dataclass
class Fleet:
    """A migrated database with channels ``pub0``… (public) and ``priv0``… (private)."""

    repository: Repository
    ids: dict[str, int]

    async def sql(self, statement: str, **values: object) -> None:
        async with self.repository.engine.begin() as conn:
            await conn.execute(text(statement), values)

    async def knows(self, account: str, name: str, *, joined: bool = False) -> None:
        """Record that ``account`` resolved (and maybe joined) channel ``name``."""
        await self.sql(
            "insert into account_channels (account, channel_id, access_hash, joined, updated_at)"
            " values (:account, :channel, 1, :joined, timezone('UTC', now()))",
            account=account,
            channel=self.ids[name],
            joined=joined,
        )

    async def expire_all(self, seconds_ago: float) -> None:
        """Every lease held before and ended ``seconds_ago`` (its holder died)."""
        await self.sql(
            "insert into channel_leases (channel_id, expires_at) select id,"
            " timezone('UTC', now()) - make_interval(secs => :ago) from channels",
            ago=seconds_ago,
        )

    async def register(self, keeper: LeaseKeeper, resolves_ready: float) -> None:
        """Make ``keeper``'s instance live, holding nothing, with its resolves published."""
        keeper.instance = await keeper.leases.register(keeper.identity.account, "test", 2, "t")
        keeper.wanted = sorted(self.ids.values())
        await keeper.leases.renew(keeper.instance, LEASE, resolves_ready=resolves_ready)

    def keeper(self, account: str, resolves: float = float("inf")) -> LeaseKeeper:
        settings = ClusterSettings(lease_seconds=LEASE, capacity=500, rebalance_step=5)
        identity = Identity(account=account, host="test", pid=1, version="test")
        return LeaseKeeper(
            Leases(self.repository.engine), settings, identity, resolves=lambda: resolves
        )

    def named(self, channel_ids: set[int]) -> set[str]:
        return {name for name, channel_id in self.ids.items() if channel_id in channel_ids}


@pytest.fixture
async def fleet(postgres_url: str) -> AsyncIterator[Fleet]:
    await asyncio.to_thread(upgrade, postgres_url)
    repository = Repository.open(postgres_url)
    names = [f"pub{i}" for i in range(4)] + [f"priv{i}" for i in range(2)]
    channels = await repository.sync_channels([f"@{name}" for name in names])
    created = Fleet(repository, {c.ref.lstrip("@"): c.id for c in channels})
    for name, channel_id in created.ids.items():
        username = name if name.startswith("pub") else None
        await created.sql(
            "update channels set username = :username, access_hash = 7,"
            " telegram_id = 1000 + :id where id = :id",
            username=username,
            id=channel_id,
        )
    try:
        yield created
    finally:
        await repository.close()


async def test_a_member_keeps_its_private_channels_when_another_instance_comes(
    fleet: Fleet,
) -> None:
    """Alice joined both private channels and holds everything; when Bob comes, Alice lets
    only public channels go, and Bob's claims never take a private channel she let lapse."""
    for name in ("priv0", "priv1"):
        await fleet.knows("alice", name, joined=True)
    alice = fleet.keeper("alice")
    await alice.start(list(fleet.ids.values()))
    assert fleet.named(alice.held) == set(fleet.ids)

    bob = fleet.keeper("bob")
    await bob.start(list(fleet.ids.values()))
    for _ in range(3):  # a few renewals: Alice above her share lets some go, Bob claims them
        await alice.tick()
        await bob.tick()
    assert {"priv0", "priv1"} <= fleet.named(alice.held)
    assert fleet.named(bob.held) <= {"pub0", "pub1", "pub2", "pub3"}
    assert len(bob.held) == 3, "the fair share: 6 channels over 2 instances"

    # A private channel whose lease ended (Alice stalled) goes to its member first: Bob
    # takes it only once it stayed unclaimed for half a lease (the spare claim).
    await fleet.sql(
        "update channel_leases set holder_id = null, expires_at = timezone('UTC', now())"
        " where channel_id = :id",
        id=fleet.ids["priv0"],
    )
    alice.held.discard(fleet.ids["priv0"])
    await bob.tick()
    assert "priv0" not in fleet.named(bob.held)
    await alice.tick()
    assert "priv0" in fleet.named(alice.held)


async def test_a_channel_not_resolved_yet_is_taken_over_at_once(fleet: Fleet) -> None:
    """A channel nobody resolved yet has no username, like a private one, but no member to
    wait for: when its holder dies, Bob's fair claim takes it with the public channels."""
    await fleet.sql(
        "update channels set telegram_id = null, access_hash = null where id = :id",
        id=fleet.ids["priv0"],
    )
    await fleet.expire_all(seconds_ago=1)
    bob = fleet.keeper("bob")
    await bob.start(list(fleet.ids.values()))
    assert fleet.named(bob.held) == {"pub0", "pub1", "pub2", "pub3", "priv0"}


async def test_channels_that_need_a_resolve_go_to_the_account_with_budget(fleet: Fleet) -> None:
    """An instance died a moment ago. Bob has no resolves left and Carol has: Bob takes only
    what his account can read without a resolve, Carol the public channels that need one;
    the private ones wait for a member or for half a lease."""
    await fleet.sql("update channels set access_hash = null")
    await fleet.expire_all(seconds_ago=1)
    for name in ("pub0", "pub1"):
        await fleet.knows("bob", name)
    carol = fleet.keeper("carol", resolves=10)
    await fleet.register(carol, resolves_ready=10)

    bob = fleet.keeper("bob", resolves=0)
    await bob.start(list(fleet.ids.values()))
    assert fleet.named(bob.held) == {"pub0", "pub1"}, "only what Bob can read now"
    await carol.tick()
    assert fleet.named(carol.held) == {"pub2", "pub3"}


async def test_with_no_budget_anywhere_the_channels_are_still_claimed(fleet: Fleet) -> None:
    """Nobody can resolve now: the instance claims its share anyway (the channels wait on its
    budget rather than go unwatched), and private channels it never joined once they have
    stayed unclaimed for half a lease."""
    await fleet.sql("update channels set access_hash = null")
    await fleet.expire_all(seconds_ago=LEASE)
    bob = fleet.keeper("bob", resolves=0)
    await bob.start(list(fleet.ids.values()))
    assert fleet.named(bob.held) == set(fleet.ids)


async def test_the_desk_health_page_shows_the_instances_and_what_nobody_holds(
    fleet: Fleet,
) -> None:
    """On PostgreSQL the desk's channels page lists each instance (account, state, channels
    held) and the enabled channels no instance holds, as ``monitor cluster`` does."""
    import httpx

    from monitor.web.app import ClusterScope, build_app

    alice = fleet.keeper("alice")
    await alice.start([fleet.ids["pub0"], fleet.ids["pub1"]])
    refs = tuple(f"@{name}" for name in fleet.ids)
    app = build_app(fleet.repository.engine, None, cluster=ClusterScope(refs, LEASE))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page = await client.get("/channels")
    assert page.status_code == 200
    instances = page.text.split('id="instances"')[1].split("</table>")[0]
    assert "<td><bdi>alice</bdi></td>" in instances
    assert "<td>live</td>" in instances
    assert "<td>2</td>" in instances
    unheld = page.text.split('id="unheld"')[1].split("</p>")[0]
    assert "Held by no instance (4)" in unheld
    assert "priv0" in unheld
    assert "pub0" not in unheld
