"""Terms: the words, phrases, prefixes, exact acronyms and regexes a rule is written with.

Syntax of a term string in a rule file:

- ``дезертир``: a word; it matches every inflection (see ``stem.py``);
- ``самовольное оставление``: a phrase; each word inflected, in this order, adjacent;
- ``самовол*``: a prefix of a token (in a phrase too: ``покинул* расположени*``);
- ``=СОЧ``: an exact, case-sensitive whole token (acronyms), also inside phrases; written in
  lowercase (``=залишив``) it is one uninflected form in any case;
- ``из ~2 госпитал*``: a gap in a phrase, up to 2 words of any kind between its neighbours
  ("из госпиталя", "из окружного военного госпиталя"); ``~`` alone is ``~1``;
- ``(=двое|=трое) =военнослужащих``, ``из (гор|рай|)военкомат*``: alternatives, written once;
  the term stands for each spelling they make (at most ``MAX_SPELLINGS``);
- ``/ст\\.?\\s*337/``: a regular expression over the normalised (casefolded) text.

This module parses a term into units (one per token) and checks it; it does no matching.
Regexes see the casefolded, ё→е, homoglyph-repaired text with URLs and @mentions blanked, so
they are written in lowercase and never match inside a link.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from monitor.rules.normalize import fold_cased, normalize
from monitor.rules.pattern import Pattern, compile_pattern
from monitor.rules.stem import word_keys

MIN_PREFIX = 3
MAX_PATTERN = 500
MAX_GAP = 8
MAX_SPELLINGS = 64
_GAP_RE = re.compile(r"~(\d*)")
_ALTERNATIVES_RE = re.compile(r"\(([^()]*\|[^()]*)\)")


@dataclass(frozen=True, slots=True)
class WordUnit:
    """One token that matches every inflection of a word: its keys from ``word_keys``."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrefixUnit:
    """One token that starts with ``prefix`` (normalised)."""

    prefix: str


@dataclass(frozen=True, slots=True)
class ExactUnit:
    """One whole token, not inflected: ``folded`` is its casefolded form.

    ``cased`` is the form with capitals to compare case-sensitively (acronyms: ``=СОЧ`` does
    not match "соч."), or ``None`` when written in lowercase (``=залишив`` matches that one
    form in any case, but not "залишився").
    """

    cased: str | None
    folded: str


Unit = WordUnit | PrefixUnit | ExactUnit


@dataclass(frozen=True, slots=True)
class Term:
    """A parsed term: ``text`` as written and either token ``units`` or a compiled ``pattern``.

    ``gaps`` (empty when the phrase has none) holds, for each unit, how many words may stand
    between it and the unit before (``gaps[0]`` is 0).
    """

    text: str
    units: tuple[Unit, ...] = ()
    pattern: Pattern | None = None
    gaps: tuple[int, ...] = ()

    def segments(self) -> list[tuple[int, tuple[Unit, ...]]]:
        """Split a gapped phrase into runs of adjacent units, each with the gap before it."""
        runs: list[tuple[int, list[Unit]]] = []
        for unit, gap in zip(self.units, self.gaps, strict=True):
            if gap or not runs:
                runs.append((gap, []))
            runs[-1][1].append(unit)
        return [(gap, tuple(units)) for gap, units in runs]


def parse_term(text: str, languages: Collection[str]) -> Term:
    """Parse one term string.

    Args:
        text: the term as written in the rule file.
        languages: the rule's languages; they choose the word-form analysers.

    Raises:
        ValueError: the term is empty, a prefix is too short, or a regex does not compile.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty term")
    if len(stripped) >= 2 and stripped.startswith("/") and stripped.endswith("/"):
        return Term(text, pattern=compile_regex(stripped[1:-1]))
    units: list[Unit] = []
    gaps: list[int] = []
    gap = 0
    for piece in stripped.split():
        found = _GAP_RE.fullmatch(piece)
        if found:
            gap = _gap(text, found.group(1), after=bool(units), repeated=gap > 0)
            continue
        parsed = _parse_piece(piece, languages)
        gaps.extend([gap] + [0] * (len(parsed) - 1) if parsed else [])
        units.extend(parsed)
        gap = 0 if parsed else gap
    if not units:
        raise ValueError(f"term {text!r} has no letters or digits")
    if gap:
        raise ValueError(f"term {text!r} ends with a gap: a gap stands between two words")
    return Term(text, tuple(units), gaps=tuple(gaps) if any(gaps) else ())


def is_regex(text: str) -> bool:
    """Tell whether a term string is a regex (``/…/``)."""
    stripped = text.strip()
    return len(stripped) >= 2 and stripped.startswith("/") and stripped.endswith("/")


def spellings(text: str) -> list[str]:
    """Return the spellings of a term with alternatives (``(a|b) c`` → ``a c``, ``b c``).

    A term without alternatives, and a regex, is its own only spelling.

    Raises:
        ValueError: the alternatives make more than ``MAX_SPELLINGS`` spellings.
    """
    if is_regex(text) or "|" not in text:
        return [text]
    found = _ALTERNATIVES_RE.search(text)
    if found is None:
        raise ValueError(f"term {text!r}: '|' stands only inside (…) alternatives")
    head, tail = text[: found.start()], text[found.end() :]
    done: list[str] = []
    for choice in found.group(1).split("|"):
        done.extend(spellings(head + choice + tail))
        if len(done) > MAX_SPELLINGS:
            raise ValueError(f"term {text!r} makes more than {MAX_SPELLINGS} spellings")
    return list(dict.fromkeys(" ".join(spelling.split()) for spelling in done))


def _gap(text: str, count: str, *, after: bool, repeated: bool) -> int:
    """Check one ``~N`` piece of ``text`` and return N (``~`` alone is 1)."""
    if not after or repeated:
        raise ValueError(f"term {text!r}: a gap (~N) stands between two words")
    size = int(count) if count else 1
    if not 1 <= size <= MAX_GAP:
        raise ValueError(f"term {text!r}: a gap is ~1 to ~{MAX_GAP} words")
    return size


def _parse_piece(piece: str, languages: Collection[str]) -> list[Unit]:
    """Parse one whitespace-separated piece; it may hold several tokens (в/ч → в, ч)."""
    if piece.startswith("="):
        if piece.endswith("*"):
            raise ValueError(f"an exact term cannot be a prefix: {piece!r}")
        return _exact_units(piece[1:])
    prefix = piece.endswith("*")
    words = normalize(piece.rstrip("*")).words
    if "*" in piece.rstrip("*"):
        raise ValueError(f"'*' only ends a prefix: {piece!r}")
    units: list[Unit] = [WordUnit(word_keys(word, languages)) for word in words]
    if prefix and words:
        if len(words[-1]) < MIN_PREFIX:
            raise ValueError(f"prefix {piece!r} is shorter than {MIN_PREFIX} letters")
        units[-1] = PrefixUnit(words[-1])
    return units


def _exact_units(body: str) -> list[Unit]:
    """Parse the tokens of an exact piece (``=СОЧ``, ``=В/Ч``)."""
    normalized = normalize(body)
    units: list[Unit] = []
    for word, start, end in zip(normalized.words, normalized.starts, normalized.ends, strict=True):
        cased = fold_cased(body[start:end])
        units.append(ExactUnit(cased if cased != word else None, word))
    return units


def compile_regex(pattern: str) -> Pattern:
    """Compile a rule's pattern with IGNORECASE, to run in time linear in the post's length.

    Raises:
        ValueError: the pattern is empty, too long, matches the empty string, is invalid, or
            could backtrack without bound (see ``pattern.compile_pattern``).
    """
    if not pattern:
        raise ValueError("empty regex")
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"regex longer than {MAX_PATTERN} characters")
    compiled = compile_pattern(pattern, re.IGNORECASE)
    if re.compile(pattern, re.IGNORECASE).fullmatch(""):
        raise ValueError(f"regex {pattern!r} matches the empty string")
    return compiled


class TermTable:
    """The distinct terms of a rule set, parsed once, with named groups (``$name``) expanded."""

    def __init__(self, groups: dict[str, list[str]] | None = None) -> None:
        self.terms: list[Term] = []
        self.groups = groups or {}
        self._ids: dict[tuple[str, tuple[str, ...]], int] = {}

    def add_all(self, texts: Sequence[str], languages: Sequence[str]) -> tuple[int, ...]:
        """Parse terms (expanding ``$group`` references) and return their ids, in order.

        Raises:
            ValueError: a term is invalid, a group is unknown, or the list is empty.
        """
        ids = [self.add(text, languages) for text in self.expand(texts)]
        if not ids:
            raise ValueError("empty group")
        return tuple(dict.fromkeys(ids))

    def add(self, text: str, languages: Sequence[str]) -> int:
        """Parse one term (once per text and languages) and return its id."""
        key = (text, tuple(sorted(languages)))
        known = self._ids.get(key)
        if known is None:
            known = self._ids[key] = len(self.terms)
            self.terms.append(parse_term(text, languages))
        return known

    def expand(self, texts: Sequence[str], seen: tuple[str, ...] = ()) -> list[str]:
        """Replace ``$name`` entries by the terms of group ``name`` (groups may nest)."""
        expanded: list[str] = []
        for text in texts:
            if not text.startswith("$"):
                expanded.extend(spellings(text))
                continue
            name = text[1:]
            if name not in self.groups:
                raise ValueError(f"unknown group {text!r}")
            if name in seen:
                raise ValueError(f"group {text!r} includes itself")
            expanded.extend(self.expand(self.groups[name], (*seen, name)))
        return expanded
