"""The pipeline's own logic with hand-written fakes: albums, pages, broken posts, live counts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.models import POST_READ_CHARS, Channel, Classified, Hit, Match, Post
from monitor.pipeline import Classifier, Stages, fold_albums, run_cycle
from monitor.rules import load_ruleset

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNEL = Channel(
    id=1, ref="@a", telegram_id=100, access_hash=5, username="a", cursor=10, walked=True
)


def post(message_id: int, text: str = "x", grouped_id: int | None = None, age: float = 60) -> Post:
    return Post(100, message_id, NOW - timedelta(seconds=age), text, grouped_id=grouped_id)


class FakeRules:
    """Flags posts containing "flag"; raises on "boom" (a post that breaks the rules)."""

    version = "fake"

    def evaluate(
        self, text: str, *, channel: str | None = None, tags: Collection[str] = ()
    ) -> tuple[Match, ...]:
        if "boom" in text:
            raise ValueError("broken post")
        if "flag" in text:
            return (Match("r", "desertion", 0.9, (Hit("flag", 0, 4),)),)
        return ()


@dataclass
class FakeSource:
    """Serves fixed pages, oldest first, like TelegramSource.fetch_after."""

    posts: list[Post]
    calls: list[int] = field(default_factory=list)

    async def fetch_after(
        self, channel: Channel, after_id: int, limit: int = 100
    ) -> tuple[list[Post], int]:
        self.calls.append(after_id)
        page = [p for p in self.posts if p.message_id > after_id][:limit]
        return page, max((p.message_id for p in page), default=after_id)

    async def fetch_before(self, channel: Channel, before_id: int, limit: int = 100) -> list[Post]:
        return []


@dataclass
class Result:
    new_message_ids: list[int]
    flagged_message_ids: list[int]
    alerts_created: int = 0
    edited: int = 0
    post_errors: dict[int, str] = field(default_factory=dict)
    muted_message_ids: list[int] = field(default_factory=list)


@dataclass
class FakeStore:
    """Records batches; every post is new once."""

    seen: set[int] = field(default_factory=set)
    batches: list[tuple[list[Classified], int | None]] = field(default_factory=list)

    async def store_batch(
        self,
        channel: Channel,
        items: Sequence[Classified],
        *,
        cursor: int | None,
        alert_cutoff: Any,
        **_: Any,
    ) -> Result:
        self.batches.append((list(items), cursor))
        new = [i.post.message_id for i in items if i.post.message_id not in self.seen]
        self.seen.update(new)
        flagged = [i.post.message_id for i in items if i.flagged and i.post.message_id in new]
        return Result(new, flagged)


def stages(source: FakeSource, store: FakeStore, **kw: Any) -> Stages:
    return Stages(
        source=source, classifier=Classifier(FakeRules()), store=store, clock=lambda: NOW, **kw
    )


def test_fold_albums_joins_captions_under_the_first_id() -> None:
    """An album's messages become one post with the first id and every caption."""
    folded = fold_albums([post(3, "", 9), post(2, "flag caption", 9), post(4, "alone")])
    assert [(p.message_id, p.text, p.album_ids) for p in folded] == [
        (2, "flag caption", (2, 3)),
        (4, "alone", ()),
    ]


async def test_sweep_pages_until_caught_up_and_moves_cursor() -> None:
    """250 new posts are read in pages of 100 after the cursor, each page stored with its cursor."""
    source = FakeSource([post(i) for i in range(1, 261)])
    store = FakeStore(seen=set(range(1, 11)))
    report = await run_cycle(CHANNEL, stages(source, store))
    assert source.calls == [0, 100, 200]
    assert [cursor for _, cursor in store.batches] == [100, 200, 260]
    assert (report.new, report.cursor) == (250, 260)


async def test_open_album_at_page_end_waits_for_next_page() -> None:
    """An album cut by the page boundary is stored whole, with the next page."""
    posts = [post(i) for i in range(1, 99)] + [
        post(99, "flag", 5),
        post(100, "", 5),
        post(101, "", 5),
    ]
    source = FakeSource(posts)
    store = FakeStore()
    await run_cycle(
        Channel(id=1, ref="@a", telegram_id=100, access_hash=5, cursor=1, walked=True),
        stages(source, store, overlap=0),
    )
    albums = [item.post for batch, _ in store.batches for item in batch if item.post.grouped_id]
    assert [(a.message_id, a.album_ids) for a in albums] == [(99, (99, 100, 101))]
    assert store.batches[0][1] == 98


async def test_broken_post_is_skipped_and_the_channel_goes_on() -> None:
    """A post that breaks the rules is logged and skipped; the others are stored."""
    source = FakeSource([post(11, "flag"), post(12, "boom"), post(13)])
    store = FakeStore(seen=set(range(1, 11)))
    report = await run_cycle(CHANNEL, stages(source, store, overlap=0))
    assert report.broken == 1
    assert [i.post.message_id for i in store.batches[0][0]] == [11, 13]
    assert report.cursor == 13


async def test_missed_by_live_counts_only_posts_live_should_have_seen() -> None:
    """Posts after live mode began and older than the grace count as missed; others do not."""
    source = FakeSource([post(11, age=3600), post(12, age=30), post(13, age=1)])
    store = FakeStore(seen=set(range(1, 11)))
    since = NOW - timedelta(minutes=10)
    report = await run_cycle(CHANNEL, stages(source, store, live_since={1: since}, overlap=0))
    assert report.missed_by_live == 1


def test_rules_read_only_the_head_of_a_huge_post() -> None:
    """A story within the first POST_READ_CHARS is found (spans into the full text); one
    beyond them is not read, so a hostile 120,000-character post costs a bounded scan."""
    classifier = Classifier(load_ruleset([], default_pack=True))
    story = "Двое военнослужащих самовольно оставили воинскую часть."
    filler = "Погода в регионе. " * (POST_READ_CHARS // 10)
    head = classifier.classify(post(1, story + " " + filler))
    assert head.matches
    assert all(hit.end <= len(story) for m in head.matches for hit in m.hits)
    tail = classifier.classify(post(2, filler + " " + story))
    assert tail.matches == ()
