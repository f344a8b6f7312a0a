"""Story identity: whether two flagged posts tell the same story.

Two posts are one story when

* they share a forward origin: both forward the same post, or one forwards the other
  (``Post.forward_from`` is ``"<channel_id>/<message_id>"``); or
* their texts are near-identical: the word 3-shingles of the normalised texts (case-folded,
  ``ё`` as ``е``, links, @mentions and punctuation dropped) have a Jaccard resemblance of at
  least ``resemblance`` (0.6), or the smaller set is at least ``containment`` (0.9) inside
  the larger one and holds enough shingles (15) for that to mean something: a repost that
  adds a "subscribe to ..." footer is still the same story. Texts too short to shingle
  (fewer than 5 shingles) must be identical once normalised.

``StoryIndex`` remembers the stories seen within a window (``delivery.dedup_window``) and
answers which earlier story a new post belongs to; the dispatcher merges that post's alert
into the earlier one as another source. Shingles are hashed with CRC-32, which is stable
across processes, so a signature may be stored and compared after a restart.

This module is pure: no I/O, no clock (times are seconds passed in), nothing from the edges.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from monitor.models import POST_READ_CHARS, Post

SHINGLE_WORDS = 3
MIN_SHINGLES = 5
MIN_CONTAINED = 15

_NOISE = re.compile(r"https?://\S+|(?:t\.me|telegram\.me)/\S+|@\w+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How alike two texts must be to count as one story."""

    resemblance: float = 0.6
    containment: float = 0.9


def words(text: str) -> list[str]:
    """Return the normalised words of ``text`` (case-folded, ``ё``→``е``, no links)."""
    text = _NOISE.sub(" ", text).casefold().replace("ё", "е")
    return _WORD.findall(text)


def shingles(text: str) -> frozenset[int]:
    """Return the CRC-32 hashes of the word 3-shingles of ``text``'s normalised words (of
    its first POST_READ_CHARS characters: a story is told at its head)."""
    tokens = words(text[:POST_READ_CHARS])
    if len(tokens) < SHINGLE_WORDS:
        return frozenset({zlib.crc32(" ".join(tokens).encode())}) if tokens else frozenset()
    return frozenset(
        zlib.crc32(" ".join(tokens[i : i + SHINGLE_WORDS]).encode())
        for i in range(len(tokens) - SHINGLE_WORDS + 1)
    )


def origins(post: Post) -> frozenset[str]:
    """Return the keys of the post itself and of what it forwards."""
    keys = {f"{post.channel_id}/{post.message_id}"}
    if post.forward_from:
        keys.add(post.forward_from)
    return frozenset(keys)


def alike(
    a: frozenset[int], b: frozenset[int], shared: int, thresholds: Thresholds = Thresholds()
) -> bool:
    """Return whether shingle sets ``a`` and ``b``, sharing ``shared`` hashes, are one text."""
    if not a or not b:
        return False
    smaller = min(len(a), len(b))
    if smaller < MIN_SHINGLES:
        return a == b
    if shared / (len(a) + len(b) - shared) >= thresholds.resemblance:
        return True
    return smaller >= MIN_CONTAINED and shared / smaller >= thresholds.containment


def same_story(a: Post, b: Post, thresholds: Thresholds = Thresholds()) -> bool:
    """Return whether posts ``a`` and ``b`` tell the same story."""
    if origins(a) & origins(b):
        return True
    sa, sb = shingles(a.text), shingles(b.text)
    return alike(sa, sb, len(sa & sb), thresholds)


@dataclass
class _Story:
    key: int
    seen: float
    origins: set[str]
    shingles: frozenset[int]


@dataclass
class StoryIndex:
    """The stories seen in the last ``window`` seconds, each under the caller's key.

    A story's window runs from when it was first seen; later sources do not extend it.
    """

    window: float
    thresholds: Thresholds = field(default_factory=Thresholds)
    _stories: dict[int, _Story] = field(default_factory=dict)
    _by_origin: dict[str, int] = field(default_factory=dict)
    _by_shingle: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def __len__(self) -> int:
        return len(self._stories)

    def __contains__(self, key: object) -> bool:
        return key in self._stories

    def find(self, post: Post, now: float) -> int | None:
        """Return the key of the live story ``post`` belongs to, if any.

        When several stories match (a post already recorded under its own key, say), the
        smallest key wins: keys grow with time, so that is the story told first.
        """
        self.prune(now)
        keys = {self._by_origin[o] for o in origins(post) if o in self._by_origin}
        keys |= self._find_text(shingles(post.text))
        return min(keys) if keys else None

    def _find_text(self, signature: frozenset[int]) -> set[int]:
        shared: Counter[int] = Counter()
        for shingle in signature:
            shared.update(self._by_shingle.get(shingle, ()))
        return {
            key
            for key, count in shared.items()
            if alike(signature, self._stories[key].shingles, count, self.thresholds)
        }

    def add(self, key: int, post: Post, now: float) -> None:
        """Record ``post`` under story ``key`` (a new story, or a new source of one)."""
        story = self._stories.get(key)
        if story is None:
            story = self._stories[key] = _Story(key, now, set(), shingles(post.text))
            for shingle in story.shingles:
                self._by_shingle[shingle].add(key)
        for origin in origins(post):
            story.origins.add(origin)
            self._by_origin.setdefault(origin, key)

    def prune(self, now: float) -> None:
        """Forget the stories first seen more than ``window`` seconds before ``now``."""
        expired = []
        for key, story in self._stories.items():  # insertion order is first-seen order
            if story.seen > now - self.window:
                break
            expired.append(key)
        for key in expired:
            story = self._stories.pop(key)
            for origin in story.origins:
                if self._by_origin.get(origin) == key:
                    del self._by_origin[origin]
            for shingle in story.shingles:
                self._by_shingle[shingle].discard(key)
                if not self._by_shingle[shingle]:
                    del self._by_shingle[shingle]
