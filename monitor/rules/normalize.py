"""Text normalisation for matching: one pass that turns a post into comparable word tokens.

Steps: NFKC, casefold, ё→е, one apostrophe, soft hyphens and zero-width characters removed,
Latin/Cyrillic look-alike letters inside a word repaired, hashtags split into words, URLs and
@mentions skipped. Every token keeps its span in the *original* text, so alerts can highlight
what matched. This module is pure: no I/O, no knowledge of rules.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from itertools import pairwise, repeat

# Characters that are invisible inside words and are used to dodge keyword filters.
INVISIBLE = "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
INVISIBLE += "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\ufeff"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")
_DELETE_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))

# One-to-one replacements applied after casefolding; one-to-one keeps offsets aligned.
_APOSTROPHES = "\u2019\u02bc\u2018\u0060\u00b4\u02b9\u2032"
_FOLD_1TO1 = str.maketrans({"ё": "е", **dict.fromkeys(_APOSTROPHES, "'")})
_CASED_1TO1 = str.maketrans({"ё": "е", "Ё": "Е", **dict.fromkeys(_APOSTROPHES, "'")})

# Look-alike letters, lowercase (matching runs on casefolded text) and cased (for exact terms).
_LATIN_LOOKS = "aceopxykmhbti"
_CYRILLIC_LOOKS = "асеорхукмнвті"
_LATIN_LOOKS_UPPER = "ACEOPXYKMHBTI"
_CYRILLIC_LOOKS_UPPER = "АСЕОРХУКМНВТІ"
_TO_CYRILLIC = str.maketrans(
    _LATIN_LOOKS + _LATIN_LOOKS_UPPER, _CYRILLIC_LOOKS + _CYRILLIC_LOOKS_UPPER
)
_TO_LATIN = str.maketrans(
    _CYRILLIC_LOOKS + _CYRILLIC_LOOKS_UPPER, _LATIN_LOOKS + _LATIN_LOOKS_UPPER
)
_MIXED_SCRIPT_RE = re.compile(r"[a-z][а-яіїєґ]|[а-яіїєґ][a-z]")
_CYRILLIC_STRONG = re.compile(r"[а-яіїєґ]")
_LATIN_STRONG = re.compile(r"[a-z]")

# Combining marks stay with their base letter so that е + U+0308 composes to ё (then е).
_SEGMENT_RE = re.compile(
    "(?s).[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]*"
)
_COMBINING_RE = re.compile("[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff]")

# A word is a run of letters and digits (not "_", so #дезертиры_россии splits), apostrophes
# allowed inside (Ukrainian зв'язок). URLs, bare domains, e-mails and @mentions come first in the
# alternation so their words are consumed and never become tokens.
_TOKEN_RE = re.compile(
    r"(?P<skip>(?:https?://|www\.)\S+"
    r"|(?<![\w@])(?:[a-z0-9-]+\.)+(?:com|org|net|ru|ua|me|io|info|su|рф|by|kz)(?:/\S*)?"
    r"|@\w+)"
    r"|(?P<word>[^\W_]+(?:'[^\W_]+)*)"
)
_WORD_RUN_RE = re.compile(r"[^\W_]+")
_CAMEL_RE = re.compile(r"(?<=[^\W\d_])(?=[^\W\d_])")

_SEGMENT_CACHE: dict[str, str] = {}
_SEGMENT_CACHE_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A text prepared for matching.

    ``words[i]`` is the i-th token, normalised; ``starts[i]``/``ends[i]`` its span in the
    original text; ``positions[i]`` its start in ``text`` (the normalised text, used by regex
    terms). ``origin_start``/``origin_end`` map a normalised offset back to the original, or are
    empty when the two texts are aligned one to one.
    """

    original: str
    text: str
    words: list[str]
    starts: list[int]
    ends: list[int]
    positions: list[int]
    origin_start: list[int] = field(default_factory=list)
    origin_end: list[int] = field(default_factory=list)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Return the original span of the normalised span ``[start, end)``."""
        if not self.origin_start:
            return start, end
        if start >= end:
            position = self.origin_start[start] if start < len(self.origin_start) else None
            at = len(self.original) if position is None else position
            return at, at
        return self.origin_start[start], self.origin_end[end - 1]

    def cased(self, index: int) -> str:
        """Return token ``index`` with its case kept (for case-sensitive exact terms)."""
        return fold_cased(self.original[self.starts[index] : self.ends[index]])


def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` and split it into tokens whose spans point into ``text``."""
    folded, origin_start, origin_end = _fold(text)
    if _MIXED_SCRIPT_RE.search(folded):
        folded = _WORD_RUN_RE.sub(_repair_run, folded)
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    positions: list[int] = []
    skipped: list[tuple[int, int]] = []
    for found in _TOKEN_RE.finditer(folded):
        if found.lastgroup != "word":
            skipped.append(found.span())
            continue
        start = found.start()
        word = found.group()
        if start > 0 and folded[start - 1] == "#" and not origin_start:
            pieces = _split_hashtag(text, word, start)
        else:
            pieces = [(word, start)]
        for piece, at in pieces:
            span_start, span_end = _span(at, at + len(piece), origin_start, origin_end)
            words.append(piece)
            starts.append(span_start)
            ends.append(span_end)
            positions.append(at)
    if skipped:
        folded = _blank(folded, skipped)
    return NormalizedText(text, folded, words, starts, ends, positions, origin_start, origin_end)


def fold_word(text: str) -> str:
    """Return ``text`` normalised as a single word would be (casefolded, repaired)."""
    folded, _, _ = _fold(text)
    return repair_homoglyphs(folded)


def fold_cased(text: str) -> str:
    """Return ``text`` normalised but with its case kept: NFKC, ё→е, invisibles out, repaired."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_DELETE_INVISIBLE)
    text = text.translate(_CASED_1TO1)
    lowered = text.lower()
    if _MIXED_SCRIPT_RE.search(lowered):
        return text.translate(_repair_table(lowered))
    return text


def repair_homoglyphs(word: str) -> str:
    """Rewrite look-alike letters of a mixed-script casefolded word into its main script."""
    if not _MIXED_SCRIPT_RE.search(word):
        return word
    return word.translate(_repair_table(word))


def _repair_run(found: re.Match[str]) -> str:
    """Repair one word run of the folded text (a ``re.sub`` callback)."""
    return repair_homoglyphs(found.group())


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace the skipped spans (URLs, mentions) by spaces, keeping offsets."""
    pieces: list[str] = []
    previous = 0
    for start, end in spans:
        pieces.append(text[previous:start])
        pieces.append(" " * (end - start))
        previous = end
    pieces.append(text[previous:])
    return "".join(pieces)


def _repair_table(word: str) -> dict[int, int]:
    """Choose the script a mixed word is really written in; empty when truly mixed."""
    cyrillic_strong = _CYRILLIC_STRONG.search(word.translate(_TO_LATIN)) is not None
    latin_strong = _LATIN_STRONG.search(word.translate(_TO_CYRILLIC)) is not None
    if cyrillic_strong and not latin_strong:
        return _TO_CYRILLIC
    if latin_strong and not cyrillic_strong:
        return _TO_LATIN
    if cyrillic_strong:  # both scripts have letters with no look-alike: leave it alone
        return {}
    cyrillic = sum(1 for char in word if "а" <= char <= "я" or char in "іїєґ")
    return _TO_CYRILLIC if cyrillic * 2 >= len(word) else _TO_LATIN


def _fold(text: str) -> tuple[str, list[int], list[int]]:
    """Casefold and NFKC ``text``; return it with offset maps (empty when aligned 1:1)."""
    if text.isascii():
        return text.lower(), [], []
    folded = text.casefold()
    if (
        len(folded) == len(text)
        and unicodedata.is_normalized("NFKC", text)
        and not _INVISIBLE_RE.search(text)
    ):
        return folded.translate(_FOLD_1TO1), [], []
    return _fold_with_offsets(text)


def _fold_with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """Fold segment by segment where lengths change, keeping where each output char came from."""
    segments = _SEGMENT_RE.findall(text) if _COMBINING_RE.search(text) else list(text)
    origin_start: list[int] = []
    origin_end: list[int] = []
    pieces: list[str] = []
    position = 0
    for segment in segments:
        piece = _SEGMENT_CACHE.get(segment)
        if piece is None:
            piece = _fold_segment(segment)
        size = len(piece)
        if size:
            pieces.append(piece)
            origin_start.extend(repeat(position, size))
            origin_end.extend(repeat(position + len(segment), size))
        position += len(segment)
    return "".join(pieces), origin_start, origin_end


def _fold_segment(segment: str) -> str:
    """Fold one character with its combining marks; cache it, since texts repeat characters."""
    piece = unicodedata.normalize("NFKC", segment).casefold()
    piece = unicodedata.normalize("NFC", piece).translate(_FOLD_1TO1)
    piece = piece.translate(_DELETE_INVISIBLE)
    if len(_SEGMENT_CACHE) >= _SEGMENT_CACHE_LIMIT:
        _SEGMENT_CACHE.clear()
    _SEGMENT_CACHE[segment] = piece
    return piece


def _span(start: int, end: int, origin_start: list[int], origin_end: list[int]) -> tuple[int, int]:
    """Map a normalised token span to the original text."""
    if not origin_start:
        return start, end
    return origin_start[start], origin_end[end - 1]


def _split_hashtag(original: str, word: str, start: int) -> list[tuple[str, int]]:
    """Split a camel-case hashtag (#ДезертирыРоссии) at lower→upper changes of the original."""
    source = original[start : start + len(word)]
    cuts = [
        found.start()
        for found in _CAMEL_RE.finditer(source)
        if source[found.start() - 1].islower() and source[found.start()].isupper()
    ]
    if not cuts:
        return [(word, start)]
    bounds = [0, *cuts, len(word)]
    return [(word[a:b], start + a) for a, b in pairwise(bounds)]
