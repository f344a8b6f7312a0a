"""Story identity: forwards of one post and near-identical reposts are one story."""

from __future__ import annotations

import pytest

from monitor.alerts.stories import StoryIndex, same_story, shingles, words
from tests.helpers.alerts import make_post

STORY = (
    "В Курской области военнослужащий мотострелковой бригады самовольно оставил часть "
    "и был задержан военной полицией через три дня после побега из расположения."
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param(
            make_post(STORY, channel_id=1, forward_from="9/5"),
            make_post("другой текст совсем", channel_id=2, forward_from="9/5"),
            True,
            id="same-forward-origin",
        ),
        pytest.param(
            make_post("коротко", channel_id=9, message_id=5),
            make_post(STORY, channel_id=2, forward_from="9/5"),
            True,
            id="forward-of-the-original",
        ),
        pytest.param(
            make_post(STORY, channel_id=1),
            make_post(STORY, channel_id=2),
            True,
            id="identical-text",
        ),
        pytest.param(
            make_post(STORY, channel_id=1),
            make_post(STORY.upper().replace("Ё", "Е") + " https://t.me/x/1 @source", channel_id=2),
            True,
            id="case-links-mentions-ignored",
        ),
        pytest.param(
            make_post(STORY, channel_id=1),
            make_post(
                STORY
                + "\n\nПодписывайтесь на наш канал, чтобы первыми узнавать все новости фронта!",
                channel_id=2,
            ),
            True,
            id="footer-added",
        ),
        pytest.param(
            make_post(STORY, channel_id=1),
            make_post(STORY.replace("три дня", "неделю"), channel_id=2),
            True,
            id="one-detail-edited",
        ),
        pytest.param(
            make_post(STORY, channel_id=1),
            make_post(
                "В Белгородской области задержан контрактник, который ушёл из части с оружием "
                "и скрывался у родственников две недели.",
                channel_id=2,
            ),
            False,
            id="different-story-same-topic",
        ),
        pytest.param(
            make_post("СОЧ", channel_id=1),
            make_post("СОЧ", channel_id=2),
            True,
            id="short-identical",
        ),
        pytest.param(
            make_post("СОЧ в части", channel_id=1),
            make_post("СОЧ в роте", channel_id=2),
            False,
            id="short-different",
        ),
        pytest.param(
            make_post("", channel_id=1),
            make_post("", channel_id=2),
            False,
            id="empty-texts-are-not-a-story",
        ),
    ],
)
def test_same_story_table(a: object, b: object, expected: bool) -> None:
    """Forward origins or near-identical text make one story; the rest stay apart."""
    assert same_story(a, b) is expected  # type: ignore[arg-type]
    assert same_story(b, a) is expected  # type: ignore[arg-type]


def test_words_normalise() -> None:
    """Normalisation folds case, ё, links, mentions and punctuation away."""
    assert words("Ёжик, СОЧ! https://t.me/a/1 @chan 5") == ["ежик", "соч", "5"]


def test_shingles_are_stable_across_processes() -> None:
    """Shingle hashes are CRC-32, so they do not change with PYTHONHASHSEED."""
    assert shingles("один два три") == frozenset({1184566782})


def test_index_merges_five_forwards_into_one_story() -> None:
    """Five channels forwarding one story resolve to the first one's key."""
    index = StoryIndex(window=3600)
    posts = [make_post(STORY, channel_id=100 + i, forward_from="9/5") for i in range(5)]
    index.add(1, posts[0], now=0.0)
    for post in posts[1:]:
        assert index.find(post, now=10.0) == 1
        index.add(1, post, now=10.0)
    assert len(index) == 1


def test_index_matches_reposts_by_text() -> None:
    """A repost without forward information is found by its text."""
    index = StoryIndex(window=3600)
    index.add(1, make_post(STORY, channel_id=1), now=0.0)
    index.add(
        2,
        make_post("Совсем другая новость о дедовщине в учебной части под Омском.", channel_id=3),
        now=0.0,
    )
    assert index.find(make_post(STORY + " Подробности у нас.", channel_id=2), now=5.0) == 1


def test_index_forgets_stories_after_the_window() -> None:
    """A story is merged only within the window from when it was first seen."""
    index = StoryIndex(window=100)
    index.add(1, make_post(STORY, channel_id=1), now=0.0)
    assert index.find(make_post(STORY, channel_id=2), now=99.0) == 1
    assert index.find(make_post(STORY, channel_id=2), now=100.0) is None
    assert len(index) == 0


def test_index_does_not_merge_unrelated_posts() -> None:
    """Unrelated posts get no story key."""
    index = StoryIndex(window=3600)
    index.add(1, make_post(STORY, channel_id=1), now=0.0)
    assert (
        index.find(
            make_post("Учения прошли штатно, нарушений не выявлено никаких.", channel_id=2), now=1.0
        )
        is None
    )
