"""Text normalisation for matching: one pass that turns a post into comparable word tokens.

Steps: NFKC, casefold, ё→е, one apostrophe, soft hyphens and zero-width characters removed,
Latin/Cyrillic look-alike letters inside a word repaired, hashtags split into words, URLs and
@mentions skipped. Every token keeps its span in the *original* text, so alerts can highlight
what matched. This module is pure: no I/O, no knowledge of rules.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import accumulate, compress, pairwise, repeat

# Characters that are invisible inside words and are used to dodge keyword filters.
INVISIBLE = "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
INVISIBLE += "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\ufeff"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")
_DELETE_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))

# One-to-one replacements applied after casefolding; one-to-one keeps offsets aligned.
_APOSTROPHES = "\u2019\u02bc\u2018\u0060\u00b4\u02b9\u2032"
_APOSTROPHE_RE = re.compile(f"[{_APOSTROPHES}]")
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
_SKIP = (
    r"(?:https?://|www\.)\S+"
    r"|(?<![\w@])(?:[a-z0-9-]+\.)+(?:com|org|net|ru|ua|me|io|info|su|рф|by|kz)(?:/\S*)?"
    r"|@\w+"
)
_WORD = r"[^\W_]+(?:'[^\W_]+)*"
# The same alternation with only the word captured: findall gives "" for skipped spans.
_WORDS_RE = re.compile(f"(?:{_SKIP})|({_WORD})")
# Both captured, for ``split``: one scan gives every word and skipped span with its offsets.
_SPLIT_RE = re.compile(f"({_SKIP})|({_WORD})")
# One group for both: ``split`` gives only strings, whose lengths add up in C to the offsets.
_PIECES_RE = re.compile(f"((?:{_SKIP})|{_WORD})")
_WORD_RUN_RE = re.compile(r"[^\W_]+")
_CAMEL_RE = re.compile(r"(?<=[^\W\d_])(?=[^\W\d_])")

_SEGMENT_CACHE: dict[str, str] = {}
_SEGMENT_CACHE_LIMIT = 50_000


class NormalizedText:
    """A text prepared for matching.

    ``words[i]`` is the i-th token, normalised (look-alike letters are repaired by the matcher,
    once per distinct word). ``starts[i]``/``ends[i]`` give its span in the original text,
    ``positions[i]`` its start in ``text``: the normalised text with URLs and mentions blanked,
    built only when a regex term asks for it.
    """

    __slots__ = (
        "_origin_end",
        "_origin_start",
        "_text",
        "folded",
        "layout",
        "original",
        "words",
    )

    def __init__(
        self,
        original: str,
        folded: str,
        origin_start: list[int],
        origin_end: list[int],
        layout: _Layout,
    ) -> None:
        self.original = original
        self.folded = folded
        self._origin_start = origin_start
        self._origin_end = origin_end
        self.layout = layout
        self._text: str | None = None
        self.words: list[str] = layout.words

    @property
    def text(self) -> str:
        """The normalised text with URLs and @mentions blanked, aligned with ``positions``."""
        if self._text is None:
            self._text = _regex_text(self.folded, self.layout.skipped)
        return self._text

    @property
    def positions(self) -> list[int]:
        """Each token's start in ``text``."""
        return self.layout.positions

    @property
    def starts(self) -> list[int]:
        """Each token's start in the original text."""
        return [self.span(at, at)[0] for at in self.layout.positions]

    @property
    def ends(self) -> list[int]:
        """Each token's end in the original text."""
        ends = self.layout.ends
        return [self.span(at - 1, at)[1] for at in ends]

    def token_span(self, first: int, last: int) -> tuple[int, int]:
        """Return the original span of tokens ``first`` to ``last`` (inclusive)."""
        layout = self.layout
        return self.span(layout.positions[first], layout.ends[last])

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Return the original span of the normalised span ``[start, end)``."""
        if not self._origin_start:
            return start, end
        if start >= end:
            position = self._origin_start[start] if start < len(self._origin_start) else None
            at = len(self.original) if position is None else position
            return at, at
        return self._origin_start[start], self._origin_end[end - 1]

    def cased(self, index: int) -> str:
        """Return token ``index`` with its case kept (for case-sensitive exact terms)."""
        start, end = self.token_span(index, index)
        return fold_cased(self.original[start:end])


class _Layout:
    """Where the tokens of a normalised text are (offsets found on first use)."""

    __slots__ = ("_ends", "_folded", "_found", "_positions", "skipped", "words")

    def __init__(
        self,
        words: list[str],
        positions: list[int] | None = None,
        ends: list[int] | None = None,
        *,
        folded: str = "",
        found: list[str] | None = None,
        skipped: list[tuple[int, int]] | None = None,
    ) -> None:
        self.words = words
        self._positions = positions
        self._ends = ends
        self._folded = folded
        # Every word and skipped span in order ("" for a skipped one), when laid out lazily.
        self._found = found
        # The URLs and mentions in the folded text, when the scan that found the words saw them.
        self.skipped = skipped

    @property
    def positions(self) -> list[int]:
        """Each token's start in the folded text."""
        if self._positions is None:
            self._find_offsets()
        return self._positions  # type: ignore[return-value]  # set by _find_offsets

    @property
    def ends(self) -> list[int]:
        """Each token's end in the folded text."""
        if self._ends is None:
            self._find_offsets()
        return self._ends  # type: ignore[return-value]  # set by _find_offsets

    def _find_offsets(self) -> None:
        """Add up the lengths of the pieces between and of the tokens: every offset, in C.

        Which pieces are words the first scan told (``_found``); the skipped spans are left
        to be found if the regex text is ever built.
        """
        offsets = list(accumulate(map(len, _PIECES_RE.split(self._folded))))
        is_word = list(map(bool, self._found or ()))
        self._positions = list(compress(offsets[0::2], is_word))
        self._ends = list(compress(offsets[1::2], is_word))


def normalize(text: str, *, lazy: bool = False) -> NormalizedText:
    """Normalise ``text`` and split it into tokens whose spans point into ``text``.

    ``lazy`` finds only the words at first, their offsets when first asked for: cheaper
    when no rule fires and no regex term runs, dearer when one does (two scans, not one).
    """
    folded, origin_start, origin_end = _fold(text)
    # Look-alike letters are repaired per distinct word by the matcher (cached) and in the
    # regex text; the repair is one to one, so offsets found here stay right.
    layout = _lay_out(text, folded, origin_start, lazy)
    return NormalizedText(text, folded, origin_start, origin_end, layout)


def _lay_out(original: str, folded: str, origin_start: list[int], lazy: bool) -> _Layout:
    """Find the tokens and (unless ``lazy``) their offsets in the folded text."""
    if "#" in folded and not origin_start:
        return _lay_out_hashtags(original, folded)
    if lazy:  # findall builds the words in C; no Python object per token
        found = _WORDS_RE.findall(folded)
        return _Layout(list(filter(None, found)), folded=folded, found=found)
    return _split_layout(folded)


def _split_layout(folded: str) -> _Layout:
    """Find the words, their offsets and the skipped spans of ``folded`` in one scan.

    ``split`` scans the text in C and hands back the pieces between matches, the URLs and
    mentions skipped, and the words; adding up their lengths gives every offset. The scan is
    most of the cost: finding the words, then their offsets, then the skipped spans (for a
    rule's highlight, for regex terms) took three.
    """
    pieces = _SPLIT_RE.split(folded)
    offsets = list(accumulate([len(piece) if piece else 0 for piece in pieces]))
    found = pieces[2::3]
    is_word = [piece is not None for piece in found]
    starts, ends = offsets[0::3], offsets[2::3]
    skipped = [(s, e) for s, e, word in zip(starts, ends, is_word, strict=False) if not word]
    return _Layout(
        list(compress(found, is_word)),
        list(compress(starts, is_word)),
        list(compress(ends, is_word)),
        skipped=skipped,
    )


def _regex_text(folded: str, skipped: list[tuple[int, int]] | None = None) -> str:
    """The text regex terms see: look-alikes repaired, URLs and mentions blanked.

    ``skipped`` are the spans the tokeniser skipped in ``folded``, when known; they are used
    unless repairing look-alikes changed the text (a repaired word may now read as a domain).
    """
    if _MIXED_SCRIPT_RE.search(folded):
        folded, skipped = _WORD_RUN_RE.sub(_repair_run, folded), None
    if skipped is None:
        skipped = [m.span() for m in _WORDS_RE.finditer(folded) if m.start(1) < 0]
    return _blank(folded, skipped) if skipped else folded


def _lay_out_hashtags(original: str, folded: str) -> _Layout:
    """The layout when hashtags may need splitting at camel-case boundaries."""
    words: list[str] = []
    positions: list[int] = []
    ends: list[int] = []
    for match in _WORDS_RE.finditer(folded):
        start, word = match.start(1), match.group(1)
        if start < 0:
            continue
        pieces = [(word, start)]
        if start > 0 and folded[start - 1] == "#":
            pieces = _split_hashtag(original, word, start)
        for piece, at in pieces:
            words.append(piece)
            positions.append(at)
            ends.append(at + len(piece))
    return _Layout(words, positions, ends)


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
        # str.translate is slow on non-ASCII text: replace only what is there.
        if "ё" in folded:
            folded = folded.replace("ё", "е")
        if _APOSTROPHE_RE.search(folded):
            folded = folded.translate(_FOLD_1TO1)
        return folded, [], []
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
