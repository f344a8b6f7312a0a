"""The ``keyword`` rule kind: terms in ``any``, ``anywhere``, ``near``, ``not``, ``regex``.

All conditions present must hold: one term of ``any``, one term of each ``anywhere`` group,
each ``near`` pair, one ``regex`` pattern, no ``not`` term and no ``not_near`` pair.

Each condition has a scope. ``near`` and ``not_near`` are **local**: their two terms stand at
most ``within`` words apart (an act and its place: "сбежал из госпиталя"). ``any``,
``anywhere``, ``regex`` and ``not`` are **post-wide**: a term anywhere in the post counts, so who
the story is about can be said in one sentence and what he did in the next. ``all`` is the
older name of ``anywhere``. Pure: a rule only reads the evidence the shared matcher found.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from pydantic import Field

from monitor.models import Hit, Match
from monitor.rules.combinators import (
    AllOf,
    AnyOf,
    Condition,
    Found,
    Near,
    NoneOf,
    NotNear,
    required_terms,
)
from monitor.rules.matcher import Evidence
from monitor.rules.schema import NearSpec, RuleFields, TermList
from monitor.rules.terms import TermTable


class KeywordSpec(RuleFields):
    """A ``keyword`` rule as written in a rule file (``kind`` may be left out)."""

    kind: Literal["keyword"] = "keyword"
    any: TermList | None = None
    all: list[TermList] | None = Field(default=None, min_length=1)
    anywhere: list[TermList] | None = Field(default=None, min_length=1)
    near: list[NearSpec] | None = Field(default=None, min_length=1)
    regex: TermList | None = None


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """A compiled rule: metadata, scope and conditions over term ids."""

    kind: ClassVar[str] = "keyword"

    id: str
    category: str
    description: str
    languages: tuple[str, ...]
    score: float
    channels: frozenset[str]
    tags: frozenset[str]
    conditions: tuple[Condition, ...]
    # Term sets of which one must hit (each) and none may: a set test per condition rejects
    # most woken rules before any hit list is built (same result as the conditions' own).
    _required: tuple[frozenset[int], ...] = field(init=False, repr=False, compare=False)
    _excluded: tuple[frozenset[int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        required, excluded = required_terms(self.conditions)
        object.__setattr__(self, "_required", required)
        object.__setattr__(self, "_excluded", excluded)

    @property
    def triggers(self) -> tuple[int, ...]:
        """Term ids that can make this rule fire; the rule set checks it only when one hits.

        Every required set must hit for the rule to fire, so any one of them can wake it: the
        smallest is taken (fewest terms, so usually the rarest), and fewer rules are asked.
        """
        if not self._required:  # every kind has a positive condition; kept for safety
            return tuple(term for condition in self.conditions for term in condition.triggers)
        sizes = [len(terms) for terms in self._required]
        return tuple(sorted(self._required[sizes.index(min(sizes))]))

    def applies_to(self, channel: str | None, tags: Collection[str]) -> bool:
        """Tell whether the rule's scope covers a channel (listed, or sharing a tag)."""
        if not self.channels and not self.tags:
            return True
        if channel is not None and channel.lstrip("@").casefold() in self.channels:
            return True
        return not self.tags.isdisjoint(tag.casefold() for tag in tags)

    def match(self, evidence: Evidence) -> Match | None:
        """Return the match when every condition holds on the evidence, else ``None``."""
        hit = evidence.hits.keys()
        for terms in self._required:
            if hit.isdisjoint(terms):
                return None
        for terms in self._excluded:
            if not hit.isdisjoint(terms):
                return None
        found: Found = []
        for condition in self.conditions:
            hits = condition.evaluate(evidence)
            if hits is None:
                return None
            found.extend(hits)
        return Match(self.id, self.category, self.score, _hits(found, evidence))


def _hits(found: Found, evidence: Evidence) -> tuple[Hit, ...]:
    """Turn (term id, hit) pairs into ``Hit``s sorted by position, one per span.

    Several terms can match the same words (втік, втекли and втекла share a form); the first
    term listed in the rule names the span.
    """
    by_span: dict[tuple[int, int], str] = {}
    for term, hit in sorted(found, key=lambda pair: pair[0]):
        by_span.setdefault(evidence.span(hit), evidence.terms[term].text)
    return tuple(Hit(term, start, end) for (start, end), term in sorted(by_span.items()))


def build_keyword(spec: KeywordSpec, table: TermTable) -> KeywordRule:
    """Compile a ``keyword`` spec, parsing its terms into ``table``.

    Raises:
        ValueError: a term or group is invalid, or the rule has no positive condition;
            the message names the field.
    """
    languages = tuple(spec.languages)
    conditions: list[Condition] = []
    if spec.any is not None:
        conditions.append(AnyOf(_terms(table, spec.any, languages, "any")))
    for name, post_wide in (("all", spec.all), ("anywhere", spec.anywhere)):
        if post_wide is not None:
            groups = [_terms(table, g, languages, f"{name}[{i}]") for i, g in enumerate(post_wide)]
            conditions.append(AllOf(tuple(AnyOf(group) for group in groups)))
    for index, near in enumerate(spec.near or ()):
        conditions.append(_near(table, near, languages, f"near[{index}]"))
    if spec.regex is not None:
        conditions.append(AnyOf(_regexes(table, spec.regex, languages)))
    return finish_rule(KeywordRule, spec, table, conditions)


def finish_rule(
    cls: type[KeywordRule], spec: RuleFields, table: TermTable, conditions: list[Condition]
) -> KeywordRule:
    """Add the exclusions and metadata shared by every kind and build the rule."""
    if not conditions:
        raise ValueError("no condition: give any, anywhere, near or regex")
    languages = tuple(spec.languages)
    if spec.not_ is not None:
        conditions.append(NoneOf(AnyOf(_terms(table, spec.not_, languages, "not"))))
    for index, near in enumerate(spec.not_near or ()):
        conditions.append(NotNear(_near(table, near, languages, f"not_near[{index}]")))
    return cls(
        id=spec.id,
        category=spec.category,
        description=spec.description,
        languages=tuple(spec.languages),
        score=spec.score,
        channels=frozenset(channel.lstrip("@").casefold() for channel in spec.channels),
        tags=frozenset(tag.casefold() for tag in spec.tags),
        conditions=tuple(conditions),
    )


def _terms(
    table: TermTable, texts: list[str], languages: tuple[str, ...], field: str
) -> tuple[int, ...]:
    """Parse a term list, prefixing any problem with the field it came from."""
    try:
        return table.add_all(texts, languages)
    except ValueError as error:
        raise ValueError(f"{field}: {error}") from None


def _regexes(table: TermTable, patterns: list[str], languages: tuple[str, ...]) -> tuple[int, ...]:
    """Parse the ``regex`` list: bare patterns, written without slashes."""
    return _terms(table, [f"/{pattern}/" for pattern in patterns], languages, "regex")


def _near(table: TermTable, near: NearSpec, languages: tuple[str, ...], field: str) -> Near:
    """Compile one ``near`` pair."""
    first = AnyOf(_terms(table, near.a, languages, f"{field}.a"))
    second = AnyOf(_terms(table, near.b, languages, f"{field}.b"))
    return Near(first, second, near.within, near.ordered)
