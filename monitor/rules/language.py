"""A cheap language guess for alerts: Russian, Ukrainian, English or other.

Counts letters only one of the two Cyrillic languages uses (ы э ъ / і ї є ґ) and a few frequent
function words. Good enough to label a news post; it decides nothing about matching. Pure.
"""

from __future__ import annotations

import re

_CYRILLIC = re.compile(r"[а-яёіїєґ]")
_LATIN = re.compile(r"[a-z]")
_RUSSIAN_LETTERS = re.compile(r"[ыэъё]")
_UKRAINIAN_LETTERS = re.compile(r"[іїєґ]")
_WORD = re.compile(r"[^\W\d_]+")


def _vocabulary(words: str) -> frozenset[str]:
    """Return the set of space-separated words (keeps the lists below readable)."""
    return frozenset(words.split())


_RUSSIAN_WORDS = _vocabulary("что это как или был была были который которые его их из")
_UKRAINIAN_WORDS = _vocabulary("що це як або був була були який які його їх та від з")
_ENGLISH_WORDS = _vocabulary(
    "the of and to in a is was for on that with by at from as has have are were"
)
_MIN_LETTERS = 3


def detect_language(text: str) -> str:
    """Return 'ru', 'uk', 'en' or 'other' for ``text``."""
    lowered = text.casefold()
    cyrillic = len(_CYRILLIC.findall(lowered))
    latin = len(_LATIN.findall(lowered))
    if max(cyrillic, latin) < _MIN_LETTERS:
        return "other"
    words = _WORD.findall(lowered)
    if cyrillic >= latin:
        russian = len(_RUSSIAN_LETTERS.findall(lowered)) + _count(words, _RUSSIAN_WORDS)
        ukrainian = len(_UKRAINIAN_LETTERS.findall(lowered)) + _count(words, _UKRAINIAN_WORDS)
        return "uk" if ukrainian > russian else "ru"
    if _count(words, _ENGLISH_WORDS) or len(words) <= 3:
        return "en"
    return "other"


def _count(words: list[str], vocabulary: frozenset[str]) -> int:
    """Count the words found in a vocabulary."""
    return sum(1 for word in words if word in vocabulary)
