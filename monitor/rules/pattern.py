"""User regexes in bounded time: Python's syntax and meaning, run by RE2 (linear time).

A rule's pattern is parsed by Python's own parser, so it means what ``re`` says (Unicode
``\\w \\d \\s \\b`` over the normalised text), and is rewritten for RE2, which never backtracks:
``(а+)+$`` costs one pass over a post like any other pattern. RE2 knows only ASCII ``\\w``
and ``\\b``, so character classes are written out as Unicode ranges, and a ``\\b`` (``\\B``,
Python's ``$``) at either end of the pattern becomes one consumed neighbour character that is
cut off the match again (``\\bсзч\\b``, the usual case). What RE2 cannot run (look-around,
back-references, atomic groups, a ``\\b`` inside the pattern) runs on Python's ``re`` only
when it cannot backtrack without bound: no unbounded repeat and at most ``MAX_PATHS`` ways
through the pattern; anything else is refused at load. Pure: no I/O.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import re2

_sre: Any = importlib.import_module("re._parser")  # Python's parser; no stubs, stable since 3.11
_c: Any = importlib.import_module("re._constants")

MAX_PATHS = 256
_MAX_COUNT = 1000  # RE2's limit on {n,m}
_TOP = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
Ranges = tuple[tuple[int, int], ...]


class UnsupportedError(Exception):
    """A construct RE2 cannot run with Python's meaning; the message names it."""


class Pattern(Protocol):
    """A compiled user regex: its source and the spans of its non-overlapping matches."""

    @property
    def source(self) -> str:
        """The pattern as written."""
        ...

    @property
    def engine(self) -> str:
        """``re2`` or ``re``."""
        ...

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Yield ``(start, end)`` of each match in ``text``, left to right."""
        ...


@dataclass(frozen=True, slots=True)
class LinearPattern:
    """A pattern run by RE2; ``leads``/``trails`` are groups of consumed neighbour characters."""

    source: str
    program: Any
    leads: tuple[int, ...] = ()
    trails: tuple[int, ...] = ()
    engine: str = "re2"

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Yield the matches' spans (in characters), each starting where the last ended."""
        data = text.encode("utf-8", "replace")  # a lone surrogate becomes one '?': same offsets
        offsets = _Offsets(data)
        pos = 0
        while pos <= len(data):
            found = self._search(data, pos)
            if found is None:
                return
            start, end = found
            if end > start:
                yield offsets.chars(start), offsets.chars(end)
            pos = end if end > pos else _next_char(data, pos)

    def _search(self, data: bytes, pos: int) -> tuple[int, int] | None:
        """Find the first match whose real span starts at ``pos`` or later (byte offsets)."""
        back = _previous_char(data, pos) if self.leads and pos else pos
        for at in dict.fromkeys((back, pos)):
            match = self.program.search(data, at)
            if match is None:
                return None
            start, end = match.span()
            start = next((match.end(g) for g in self.leads if match.start(g) >= 0), start)
            end = next((match.start(g) for g in self.trails if match.start(g) >= 0), end)
            if start >= pos:
                return start, end
        return None


@dataclass(frozen=True, slots=True)
class BoundedPattern:
    """A pattern RE2 cannot run, run by Python's ``re``: it has no unbounded repeat."""

    source: str
    program: re.Pattern[str]
    engine: str = "re"

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Yield the matches' spans."""
        return (found.span() for found in self.program.finditer(text))


class _Offsets:
    """Byte offsets of increasing matches turned into character offsets in one pass."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.byte, self.char = 0, 0

    def chars(self, byte: int) -> int:
        if byte < self.byte:
            self.byte, self.char = 0, 0
        self.char += len(self.data[self.byte : byte].decode("utf-8"))
        self.byte = byte
        return self.char


def _next_char(data: bytes, pos: int) -> int:
    pos += 1
    while pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos += 1
    return pos


def _previous_char(data: bytes, pos: int) -> int:
    pos -= 1
    while pos > 0 and data[pos] & 0xC0 == 0x80:
        pos -= 1
    return pos


def compile_pattern(source: str, flags: int = re.IGNORECASE) -> Pattern:
    """Compile a rule's regex for RE2, or for ``re`` when it is bounded.

    Raises:
        ValueError: the pattern is invalid, or RE2 cannot run it and it can backtrack without
            bound; the message says why and how to fix it.
    """
    try:
        re.compile(source, flags)
        parsed = _sre.parse(source, flags)
    except re.error as error:
        raise ValueError(f"bad regex {source!r}: {error}") from None
    try:
        return _linear(source, parsed)
    except UnsupportedError as error:
        reason = str(error)
    paths = _paths(parsed.data)
    if paths is None or paths > MAX_PATHS:
        raise ValueError(
            f"regex {source!r} can backtrack without bound: it uses {reason}, which the "
            "linear-time engine (RE2) cannot run, and Python's engine runs it only when every "
            "repeat is bounded; fix: remove that construct or bound the repeats "
            "(e.g. {0,20} instead of * or +)"
        )
    return BoundedPattern(source, re.compile(source, flags))


def _linear(source: str, parsed: Any) -> LinearPattern:
    """Rewrite a parsed pattern for RE2 and compile it."""
    writer = _Writer(parsed.state.flags)
    body = writer.edges(parsed.data, lead=True, trail=True)
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 32 << 20  # Unicode classes cost more states than ASCII ones
    try:
        program = re2.compile(writer.prefix() + body, options)
    except re2.error as error:
        raise UnsupportedError(f"a construct RE2 refuses ({error})") from None
    return LinearPattern(source, program, tuple(writer.leads), tuple(writer.trails))


@dataclass
class _Writer:
    """Writes RE2 syntax for Python's parse tree; numbers the capturing groups it adds."""

    flags: int
    leads: list[int] = field(default_factory=list)
    trails: list[int] = field(default_factory=list)
    groups: int = 0

    def prefix(self) -> str:
        letters = [c for f, c in ((re.I, "i"), (re.M, "m"), (re.S, "s")) if self.flags & f]
        return f"(?{''.join(letters)})" if letters else ""

    @property
    def ascii(self) -> bool:
        return bool(self.flags & re.ASCII)

    def edges(self, items: Sequence[Any], *, lead: bool, trail: bool) -> str:
        """Write a sequence whose start (``lead``) or end (``trail``) is the match's edge."""
        if len(items) == 1 and items[0][0] is _c.BRANCH:
            branches = items[0][1][1]
            return (
                "(?:" + "|".join(self.edges(b.data, lead=lead, trail=trail) for b in branches) + ")"
            )
        if len(items) == 1 and items[0][0] is _c.SUBPATTERN:
            _, add, remove, inner = items[0][1]
            return self._scoped(add, remove, lambda: self.edges(inner.data, lead=lead, trail=trail))
        items = list(items)
        head = self._lead(items) if lead and items and _is_edge_assertion(items[0]) else ""
        tail_item = (
            items.pop()
            if trail and items and _is_edge_assertion(items[-1], end=not self.flags & re.M)
            else None
        )
        body = self.sequence(items)
        tail = self._trail(tail_item, items) if tail_item is not None else ""
        return head + body + tail

    def _lead(self, items: list[Any]) -> str:
        """Write a leading ``\\b``/``\\B`` as a consumed previous character (or the start)."""
        _, code = items.pop(0)
        kind = _edge_kind(items, first=True, ascii=self.ascii)
        if kind is None:
            raise UnsupportedError("a \\b or \\B next to what may or may not be a word character")
        previous_word = (kind == "word") != (code is _c.AT_BOUNDARY)
        self.groups += 1
        self.leads.append(self.groups)
        word = _category("word", self.ascii)
        return f"({_class(word)})" if previous_word else f"(?:\\A|({_class(_complement(word))}))"

    def _trail(self, item: Any, items: list[Any]) -> str:
        """Write a trailing ``\\b``/``\\B``/``$`` as a consumed next character (or the end)."""
        code = item[1]
        self.groups += 1
        self.trails.append(self.groups)
        if code is _c.AT_END:
            return "(?:(\\n)?\\z)"
        kind = _edge_kind(items, first=False, ascii=self.ascii)
        if kind is None:
            raise UnsupportedError("a \\b or \\B next to what may or may not be a word character")
        next_word = (kind == "word") != (code is _c.AT_BOUNDARY)
        word = _category("word", self.ascii)
        return f"({_class(word)})" if next_word else f"(?:\\z|({_class(_complement(word))}))"

    def _scoped(self, add: int, remove: int, write: Any) -> str:
        """Write a group with scoped flags (``(?i:...)``), tracking ``re.ASCII``."""
        saved = self.flags
        self.flags = (self.flags | add) & ~remove
        try:
            inner = write()
        finally:
            self.flags = saved
        on = "".join(c for f, c in ((re.I, "i"), (re.M, "m"), (re.S, "s")) if add & f)
        off = "".join(c for f, c in ((re.I, "i"), (re.M, "m"), (re.S, "s")) if remove & f)
        return f"(?{on}{'-' + off if off else ''}:{inner})"

    def sequence(self, items: Sequence[Any]) -> str:
        return "".join(self.node(op, av) for op, av in items)

    def node(self, op: Any, av: Any) -> str:
        """Write one node of the parse tree."""
        if op is _c.LITERAL:
            return _class(((av, av),)) if av > 0x7F or not chr(av).isalnum() else chr(av)
        if op is _c.NOT_LITERAL:
            return _class(((av, av),), negate=True)
        if op is _c.ANY:
            return "."
        if op is _c.IN:
            return self.class_text(av)
        if op is _c.BRANCH:
            return "(?:" + "|".join(self.sequence(b.data) for b in av[1]) + ")"
        if op is _c.SUBPATTERN:
            return self._scoped(av[1], av[2], lambda: self.sequence(av[3].data))
        if op is _c.MAX_REPEAT or op is _c.MIN_REPEAT:
            return self._repeat(op, *av)
        if op is _c.AT:
            return self._at(av)
        raise UnsupportedError(_UNSUPPORTED.get(str(op), str(op).lower()))

    def _repeat(self, op: Any, low: int, high: int, item: Any) -> str:
        if low > _MAX_COUNT or (high is not _c.MAXREPEAT and high > _MAX_COUNT):
            raise UnsupportedError(f"a repeat count above {_MAX_COUNT}")
        count = f"{{{low},}}" if high is _c.MAXREPEAT else f"{{{low},{high}}}"
        lazy = "?" if op is _c.MIN_REPEAT else ""
        return f"(?:{self.sequence(item.data)}){count}{lazy}"

    def _at(self, code: Any) -> str:
        if code is _c.AT_BEGINNING:
            return "^"
        if code is _c.AT_BEGINNING_STRING:
            return "\\A"
        if code is _c.AT_END_STRING:
            return "\\z"
        if code is _c.AT_END and self.flags & re.M:
            return "$"
        raise UnsupportedError("a \\b, \\B or $ inside the pattern (not at either end)")

    def charset(self, items: Sequence[Any]) -> Ranges:
        """The code points a ``[...]`` (or ``\\w``…) item list matches."""
        ranges, negate = self._positive(items)
        return _complement(ranges) if negate else ranges

    def class_text(self, items: Sequence[Any]) -> str:
        """Write a class; a negated one stays ``[^…]`` so that RE2 folds case before negating.

        (``(?i)[^а]`` must not match "а"; the complement written out would contain "А".)
        """
        ranges, negate = self._positive(items)
        return _class(ranges, negate=negate)

    def _positive(self, items: Sequence[Any]) -> tuple[Ranges, bool]:
        """The code points listed in a class, and whether the class is negated."""
        ranges: list[tuple[int, int]] = []
        negate = False
        for op, av in items:
            if op is _c.NEGATE:
                negate = True
            elif op is _c.LITERAL:
                ranges.append((av, av))
            elif op is _c.RANGE:
                ranges.append(av)
            elif op is _c.CATEGORY:
                name, inverted = _CATEGORIES[str(av)]
                found = _category(name, self.ascii)  # case-closed, and so is its complement
                ranges.extend(_complement(found) if inverted else found)
            else:  # pragma: no cover - the parser puts nothing else in a class
                raise UnsupportedError(str(op).lower())
        return _merge(ranges), negate


_UNSUPPORTED = {
    "ASSERT": "look-around ((?=…), (?<=…))",
    "ASSERT_NOT": "negative look-around ((?!…), (?<!…))",
    "GROUPREF": "a back-reference (\\1)",
    "GROUPREF_EXISTS": "a conditional group ((?(1)…))",
    "ATOMIC_GROUP": "an atomic group ((?>…))",
    "POSSESSIVE_REPEAT": "a possessive repeat (*+, ++)",
}
_CATEGORIES = {
    "CATEGORY_WORD": ("word", False),
    "CATEGORY_NOT_WORD": ("word", True),
    "CATEGORY_DIGIT": ("digit", False),
    "CATEGORY_NOT_DIGIT": ("digit", True),
    "CATEGORY_SPACE": ("space", False),
    "CATEGORY_NOT_SPACE": ("space", True),
}


def _is_edge_assertion(item: Any, *, end: bool = False) -> bool:
    """Tell whether ``item`` is ``\\b``/``\\B`` (or, with ``end``, a single-line ``$``)."""
    op, av = item
    codes = (_c.AT_BOUNDARY, _c.AT_NON_BOUNDARY, *((_c.AT_END,) if end else ()))
    return op is _c.AT and av in codes


def _edge_kind(items: Sequence[Any], *, first: bool, ascii: bool) -> str | None:
    """Tell whether the first (last) character of ``items`` is always a word character."""
    kinds, nullable = _ends(items, first=first, ascii=ascii)
    if nullable or kinds is None or len(kinds) != 1:
        return None
    return next(iter(kinds))


def _ends(items: Sequence[Any], *, first: bool, ascii: bool) -> tuple[set[str] | None, bool]:
    """The kinds (word, other) the first (last) character may have; ``None``: unknown."""
    kinds: set[str] = set()
    for op, av in items if first else reversed(items):
        found, nullable = _item_ends(op, av, first=first, ascii=ascii)
        if found is None:
            return None, False
        kinds |= found
        if not nullable:
            return kinds, False
    return kinds, True


def _item_ends(op: Any, av: Any, *, first: bool, ascii: bool) -> tuple[set[str] | None, bool]:
    if op is _c.LITERAL or op is _c.IN:
        charset = ((av, av),) if op is _c.LITERAL else _Writer(re.A if ascii else 0).charset(av)
        word = _category("word", ascii)
        if _subset(charset, word):
            return {"word"}, False
        return ({"other"}, False) if not _overlaps(charset, word) else (None, False)
    if op is _c.SUBPATTERN:
        return _ends(av[3].data, first=first, ascii=ascii)
    if op is _c.BRANCH:
        results = [_ends(b.data, first=first, ascii=ascii) for b in av[1]]
        if any(kinds is None for kinds, _ in results):
            return None, False
        union = set().union(*(kinds for kinds, _ in results if kinds is not None))
        return union, any(nullable for _, nullable in results)
    if op is _c.MAX_REPEAT or op is _c.MIN_REPEAT:
        kinds, nullable = _ends(av[2].data, first=first, ascii=ascii)
        return kinds, nullable or av[0] == 0
    return None, False


def _paths(items: Sequence[Any]) -> int | None:
    """Count the ways through a pattern (capped past ``MAX_PATHS``); ``None``: unbounded."""
    total = 1
    for op, av in items:
        ways = _item_paths(op, av)
        if ways is None:
            return None
        total = min(total * ways, MAX_PATHS + 1)
    return total


def _item_paths(op: Any, av: Any) -> int | None:
    if op in (_c.SUBPATTERN, _c.ASSERT, _c.ASSERT_NOT):
        return _paths(av[-1].data)
    if op is _c.ATOMIC_GROUP:
        return _paths(av.data)
    if op is _c.BRANCH:
        counts = [_paths(b.data) for b in av[1]]
        return None if None in counts else min(sum(c for c in counts if c), MAX_PATHS + 1)
    if op is _c.GROUPREF_EXISTS:
        counts = [_paths(p.data) if p is not None else 1 for p in av[1:]]
        return None if None in counts else sum(c for c in counts if c)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        low, high, item = av
        inner = _paths(item.data)
        if high is _c.MAXREPEAT or inner is None:
            return None
        return _repeat_paths(inner, low, high)
    return 1


def _repeat_paths(inner: int, low: int, high: int) -> int:
    """Ways through ``x{low,high}`` when ``x`` has ``inner`` ways (capped past ``MAX_PATHS``)."""
    if inner == 1:
        return min(high - low + 1, MAX_PATHS + 1)
    total = 0
    for count in range(low, high + 1):
        total += inner**count
        if total > MAX_PATHS:
            return MAX_PATHS + 1
    return total


@cache
def _category(name: str, ascii: bool) -> Ranges:
    """Every code point Python's ``\\w``, ``\\d`` or ``\\s`` matches, as ranges."""
    letter = {"word": "w", "digit": "d", "space": "s"}[name]
    pattern = re.compile(f"\\{letter}+", re.ASCII if ascii else 0)
    return _merge([(ord(m.group()[0]), ord(m.group()[-1])) for m in pattern.finditer(_every())])


@cache
def _every() -> str:
    """Every code point but the surrogates, in order."""
    low, high = _SURROGATES
    return "".join(map(chr, (*range(low), *range(high + 1, _TOP + 1))))


def _merge(ranges: Sequence[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def _complement(ranges: Ranges) -> Ranges:
    gaps: list[tuple[int, int]] = []
    at = 0
    for low, high in ranges:
        if low > at:
            gaps.append((at, low - 1))
        at = max(at, high + 1)
    if at <= _TOP:
        gaps.append((at, _TOP))
    return tuple(gaps)


def _subset(inner: Ranges, outer: Ranges) -> bool:
    return all(any(lo <= low and high <= hi for lo, hi in outer) for low, high in inner)


def _overlaps(first: Ranges, second: Ranges) -> bool:
    return any(low <= hi and lo <= high for low, high in first for lo, hi in second)


def _class(ranges: Ranges, *, negate: bool = False) -> str:
    """Write ranges as an RE2 class (surrogates left out: UTF-8 text has none)."""
    parts = []
    for low, high in ranges:
        for lo, hi in _without_surrogates(low, high):
            parts.append(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
    if not parts:  # nothing listed: [] never matches, [^] matches anything
        return "[\\x00-\\x{10FFFF}]" if negate else "[^\\x00-\\x{10FFFF}]"
    return ("[^" if negate else "[") + "".join(parts) + "]"


def _without_surrogates(low: int, high: int) -> list[tuple[int, int]]:
    first, last = _SURROGATES
    pieces = [(low, min(high, first - 1)), (max(low, last + 1), high)]
    return [(lo, hi) for lo, hi in pieces if lo <= hi]
