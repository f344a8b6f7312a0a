"""The compiled matcher: every term of a rule set in one index, scanned once per post.

Each distinct unit (word form, prefix, exact token) gets an id. A token's unit ids are found by
hashing: its word keys in one dict, its prefixes (one slice per length in use) in another, its
folded form among the exact tokens. The result is cached per distinct token, so stemming runs
once per word ever seen, and the cost per post depends on the number of tokens, not of rules.
Phrases are chains of units indexed by their first two units. A phrase with gaps (``из ~2
госпитал*``) is looked for as its runs of adjacent units, hidden terms joined after the scan when
each run starts close enough after the one before. A term that several rules spell
alike is looked for once. Regex terms are the exception: each distinct one runs over the
normalised text, so their cost grows with their number.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.rules.normalize import NormalizedText, repair_homoglyphs
from monitor.rules.pattern import Pattern
from monitor.rules.stem import word_keys
from monitor.rules.terms import PrefixUnit, Term, Unit, WordUnit

_CACHE_LIMIT = 200_000
_NOTHING: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class TermHit:
    """Where a term matched: tokens ``first``..``last``.

    ``start``/``end`` is the span in the original text for regex hits; for token hits it is
    ``-1`` and computed only when a rule fires (``Evidence.span``), which is rare.
    """

    first: int
    last: int
    start: int = -1
    end: int = -1


@dataclass(frozen=True, slots=True)
class Evidence:
    """The hits of every term found in one post, by term id; what rules decide on."""

    hits: dict[int, list[TermHit]]
    terms: Sequence[Term]
    text: NormalizedText

    def get(self, term_id: int) -> list[TermHit]:
        """Return the hits of one term (empty when it did not match)."""
        return self.hits.get(term_id, [])

    def span(self, hit: TermHit) -> tuple[int, int]:
        """Return the span of a hit in the original text."""
        if hit.start >= 0:
            return hit.start, hit.end
        return self.text.token_span(hit.first, hit.last)


@dataclass(frozen=True, slots=True)
class _Gapped:
    """A phrase with gaps: its term id, and each run's hidden term id with the gap before it."""

    term_id: int
    runs: tuple[tuple[int, int], ...]

    def join(self, hits: dict[int, list[TermHit]]) -> list[TermHit]:
        """Return the hits of the whole phrase: each run after the last within its gap."""
        found: list[TermHit] = []
        if any(run not in hits for run, _ in self.runs[1:]):
            return found
        for start in hits.get(self.runs[0][0], ()):
            last: int | None = start.last
            for run, gap in self.runs[1:]:
                if last is not None:
                    last = _next_run(hits.get(run, ()), last, gap)
            if last is not None:
                found.append(TermHit(start.first, last))
        return found


def _next_run(hits: Sequence[TermHit], after: int, gap: int) -> int | None:
    """Return the end of the first hit starting 1 to ``gap + 1`` tokens after ``after``."""
    for hit in hits:
        if after < hit.first <= after + gap + 1:
            return hit.last
    return None


@dataclass(frozen=True, slots=True)
class _Chain:
    """A term made of units: its id and the unit ids after the first."""

    term_id: int
    rest: tuple[int, ...]


class TermIndex:
    """All terms of a rule set compiled into hash tables; ``scan`` finds them in a post."""

    def __init__(self, terms: Sequence[Term]) -> None:
        self.terms = tuple(terms)
        gapped, self._hidden = _split_gapped(self.terms)
        self._unit_ids: dict[Unit, int] = {}
        self._by_key: dict[str, set[int]] = {}
        self._by_prefix: dict[str, set[int]] = {}
        self._by_exact: dict[str, list[tuple[int, str]]] = {}
        self._by_form: dict[str, set[int]] = {}
        # One-unit terms by their unit; longer chains by their first two units, so a common
        # first word ("военный …") costs a lookup, not a walk over every phrase it starts.
        self._singles: dict[int, list[int]] = {}
        self._chains: dict[int, dict[int, list[_Chain]]] = {}
        self._regexes: list[tuple[int, Pattern]] = []
        # Rules share terms (a $group used by twenty rules): each distinct term is looked for
        # once, and its hits are handed to every term id that spells it.
        self._copies: dict[int, tuple[int, ...]] = {}
        self._cache: dict[str, frozenset[int]] = {}
        for term_id, ids, pattern in self._distinct_terms():
            if pattern is not None:
                self._regexes.append((term_id, pattern))
            elif len(ids) == 1:
                self._singles.setdefault(ids[0], []).append(term_id)
            else:
                chain = _Chain(term_id, ids[1:])
                self._chains.setdefault(ids[0], {}).setdefault(ids[1], []).append(chain)
        self._prefix_lengths = sorted({len(prefix) for prefix in self._by_prefix})
        self._exact_words = set(self._by_exact)
        self._exact_aliases: dict[str, str] = {}
        self._gapped = self._index_gapped(gapped)

    @property
    def reads_text(self) -> bool:
        """Tell whether every scan reads the whole normalised text (regex terms do), so the
        tokens' offsets are best found in the same pass as the tokens."""
        return bool(self._regexes)

    def _index_gapped(self, gapped: list[_Gapped]) -> dict[int, list[_Gapped]]:
        """Index phrases with gaps by their first run, as looked for (runs spelt alike share it).

        Only the phrases whose first run hit a post are joined; most posts have none of the
        few words they start with, and "из ~2 госпитал*" and "из ~2 больниц*" are looked at
        only when "из" is there.
        """
        looked_for = {copy: first for first, copies in self._copies.items() for copy in copies}
        index: dict[int, list[_Gapped]] = {}
        for phrase in gapped:
            first = phrase.runs[0][0]
            index.setdefault(looked_for.get(first, first), []).append(phrase)
        return index

    def _distinct_terms(self) -> list[tuple[int, tuple[int, ...], Pattern | None]]:
        """Register every term's units; return one (term id, unit ids, regex) per distinct term."""
        first_of: dict[tuple[tuple[int, ...], str | None], int] = {}
        copies: dict[int, list[int]] = {}
        distinct = []
        for term_id, term in enumerate(self.terms + self._hidden):
            if term.gaps or (not term.units and term.pattern is None):
                continue
            ids = tuple(self._unit_id(unit) for unit in term.units)
            pattern = term.pattern
            key = (ids, None if pattern is None else pattern.source)
            seen = first_of.setdefault(key, term_id)
            copies.setdefault(seen, []).append(term_id)
            if seen == term_id:
                distinct.append((term_id, ids, pattern))
        self._copies = {first: tuple(ids) for first, ids in copies.items() if len(ids) > 1}
        return distinct

    def scan(self, text: NormalizedText) -> Evidence:
        """Find every term in a normalised text."""
        hits = self._token_hits(self._units(text))
        for term_id, pattern in self._regexes:
            for start, end in pattern.spans(text.text):
                if end > start:
                    hits.setdefault(term_id, []).append(_regex_hit(text, start, end))
        if self._copies:
            for term_id in [t for t in hits if t in self._copies]:
                for copy in self._copies[term_id]:
                    hits[copy] = hits[term_id]
        if self._gapped:
            self._join_gapped(hits)
        return Evidence(hits, self.terms, text)

    def _join_gapped(self, hits: dict[int, list[TermHit]]) -> None:
        """Add the hits of phrases with gaps from their runs' hits, then drop the runs."""
        for first in self._gapped.keys() & hits.keys():
            for gapped in self._gapped[first]:
                found = gapped.join(hits)
                if found:
                    hits[gapped.term_id] = found
        public = len(self.terms)
        for hidden in [term_id for term_id in hits if term_id >= public]:
            del hits[hidden]

    def _token_hits(self, units: list[frozenset[int]]) -> dict[int, list[TermHit]]:
        """Return the hits of the word terms: one-word terms here, phrases in a call."""
        hits: dict[int, list[TermHit]] = {}
        singles, chains = self._singles, self._chains
        for first, ids in enumerate(units):
            for unit in ids:
                for term_id in singles.get(unit, ()):
                    hits.setdefault(term_id, []).append(TermHit(first, first))
                if unit in chains:  # most units start no phrase
                    self._chain_hits(unit, first, units, hits)
        return hits

    def _chain_hits(
        self, unit: int, first: int, units: list[frozenset[int]], hits: dict[int, list[TermHit]]
    ) -> None:
        """Add the hits of the chains that start with ``unit`` on token ``first``."""
        by_second = self._chains.get(unit)
        if not by_second or first + 1 >= len(units):
            return
        for second in units[first + 1]:
            for chain in by_second.get(second, ()):
                last = first + len(chain.rest)
                if last < len(units) and _follows(chain.rest, units, first + 1):
                    hits.setdefault(chain.term_id, []).append(TermHit(first, last))

    def _units(self, text: NormalizedText) -> list[frozenset[int]]:
        """Return the unit ids of every token: cached per word, exact tokens checked here."""
        words = text.words
        get = self._cache.get
        units = [get(word) for word in words]
        if None in units:
            units = [
                self._lookup(word) if ids is None else ids
                for ids, word in zip(units, words, strict=True)
            ]
        if self._by_exact and not self._exact_words.isdisjoint(words):
            for index, word in enumerate(words):
                candidates = self._by_exact.get(self._exact_aliases.get(word, word))
                if candidates:
                    cased = text.cased(index)
                    matched = {unit for unit, form in candidates if form == cased}
                    units[index] = units[index] | matched  # type: ignore[operator]
        return units  # type: ignore[return-value]  # no None left

    def _unit_id(self, unit: Unit) -> int:
        """Register a unit in the tables (once) and return its id."""
        known = self._unit_ids.get(unit)
        if known is not None:
            return known
        unit_id = self._unit_ids[unit] = len(self._unit_ids)
        if isinstance(unit, WordUnit):
            for key in unit.keys:
                self._by_key.setdefault(key, set()).add(unit_id)
        elif isinstance(unit, PrefixUnit):
            self._by_prefix.setdefault(unit.prefix, set()).add(unit_id)
        elif unit.cased is None:
            self._by_form.setdefault(unit.folded, set()).add(unit_id)
        else:
            self._by_exact.setdefault(unit.folded, []).append((unit_id, unit.cased))
        return unit_id

    def _lookup(self, word: str) -> frozenset[int]:
        """Compute and cache the word-form, prefix and form units a word matches."""
        raw, word = word, repair_homoglyphs(word)
        if raw != word and word in self._by_exact:  # CОЧ with a Latin C is still СОЧ
            self._exact_aliases[raw] = word
            self._exact_words.add(raw)
        ids: set[int] = set()
        for key in word_keys(word):
            ids.update(self._by_key.get(key, ()))
        for size in self._prefix_lengths:
            if size > len(word):
                break
            ids.update(self._by_prefix.get(word[:size], ()))
        ids.update(self._by_form.get(word, ()))
        entry = frozenset(ids) if ids else _NOTHING
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[raw] = entry
        return entry


def _split_gapped(terms: tuple[Term, ...]) -> tuple[list[_Gapped], tuple[Term, ...]]:
    """Give each run of a gapped phrase a hidden term id (after ``terms``); return both."""
    gapped: list[_Gapped] = []
    hidden: list[Term] = []
    for term_id, term in enumerate(terms):
        if not term.gaps:
            continue
        runs = []
        for gap, units in term.segments():
            runs.append((len(terms) + len(hidden), gap))
            hidden.append(Term(f"{term.text} [{len(runs)}]", units))
        gapped.append(_Gapped(term_id, tuple(runs)))
    return gapped, tuple(hidden)


def _follows(rest: tuple[int, ...], units: list[frozenset[int]], start: int) -> bool:
    """Tell whether the units ``rest`` appear on the tokens from ``start`` on, in order."""
    return all(unit in units[start + offset] for offset, unit in enumerate(rest))


def _regex_hit(text: NormalizedText, start: int, end: int) -> TermHit:
    """Turn a regex match on the normalised text into a hit with tokens and original span."""
    first = max(bisect_right(text.positions, start) - 1, 0)
    last = max(bisect_right(text.positions, end - 1) - 1, first)
    span_start, span_end = text.span(start, end)
    return TermHit(first, last, span_start, span_end)
