"""Which flagged posts alert, as the README's "Real setup" step 5 says: those published within
``alert_max_age``, however they arrive (a new channel's first posts, the sweep after a restart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers.monitor_world import MonitorWorld

pytestmark = pytest.mark.telegram

STORY = "Дезертир задержан военной полицией"


async def test_only_posts_within_alert_max_age_alert(world: MonitorWorld) -> None:
    """A new channel's stories of the last hour alert, older ones are flagged silently; so are
    posts the daemon meets after a restart."""
    channel = world.server.add_channel(username="age_news", title="Age")
    now = datetime.now(UTC)
    old = await world.server.post(channel, f"{STORY} (old)", date=now - timedelta(hours=2))
    recent = await world.server.post(channel, f"{STORY} (recent)", date=now - timedelta(minutes=10))
    world.write_config(["@age_news"], alert_max_age=3600, live=False)
    await world.login()
    assert await world.sweep() == 0  # the channel is new: its last 20 posts are read
    flagged = "select p.message_id from posts p where p.flagged order by p.message_id"
    alerted = (
        "select p.message_id from alerts a join posts p on p.id = a.post_id order by p.message_id"
    )
    assert [row[0] for row in await world.query(flagged)] == [old, recent]
    assert [row[0] for row in await world.query(alerted)] == [recent]
    # While the daemon is down: one story just now, one dated before alert_max_age.
    late = await world.server.post(channel, f"{STORY} (late)", date=now - timedelta(hours=3))
    fresh = await world.server.post(channel, f"{STORY} (fresh)")
    assert await world.sweep() == 0
    assert [row[0] for row in await world.query(flagged)] == [old, recent, late, fresh]
    assert [row[0] for row in await world.query(alerted)] == [recent, fresh]
