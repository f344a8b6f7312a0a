"""The ``Rule`` protocol and ``RuleSet``: every rule of a set behind one compiled matcher.

``RuleSet.evaluate`` normalises a post once, scans it once with the shared ``TermIndex``, and
asks only the rules whose trigger terms were found. Pure: no I/O, no clock, no globals that
change results (the per-word cache only saves time).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol

from monitor.models import Match
from monitor.rules.matcher import Evidence, TermIndex
from monitor.rules.normalize import normalize
from monitor.rules.terms import Term

if TYPE_CHECKING:
    from monitor.rules.scorer import Scorer


class Rule(Protocol):
    """A compiled rule: metadata, scope, and a pure decision over the evidence of a post."""

    kind: ClassVar[str]

    @property
    def id(self) -> str:
        """Unique id, as written in the rule file."""
        ...

    @property
    def category(self) -> str:
        """One of ``CATEGORIES``."""
        ...

    @property
    def description(self) -> str:
        """What the rule is for, for people."""
        ...

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages whose word forms the rule's terms match."""
        ...

    @property
    def score(self) -> float:
        """Severity in (0, 1]; the best match of a post decides its category."""
        ...

    @property
    def channels(self) -> frozenset[str]:
        """Channel usernames or ids the rule is limited to (empty: all)."""
        ...

    @property
    def tags(self) -> frozenset[str]:
        """Channel tags the rule is limited to (empty: all)."""
        ...

    @property
    def triggers(self) -> tuple[int, ...]:
        """Term ids of which at least one must match for the rule to fire."""
        ...

    def applies_to(self, channel: str | None, tags: Collection[str]) -> bool:
        """Tell whether the rule's scope covers the channel."""
        ...

    def match(self, evidence: Evidence) -> Match | None:
        """Return the match if the rule fires on the evidence of a post."""
        ...


class RuleSet:
    """An ordered tuple of rules compiled into one matcher.

    ``version`` is a stable hash of the rules' content (and of the scorer's weights), stored
    with matches so that a changed rule set can be told apart. ``groups`` are the named term
    lists of the files, which name the scorer's group features. With a ``scorer`` attached,
    the rules' matches are its evidence and it has the last word (see ``scorer.py``).
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        terms: Sequence[Term],
        version: str,
        groups: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.terms: tuple[Term, ...] = tuple(terms)
        self.version = version
        self.groups: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (groups or {}).items()}
        self.scorer: Scorer | None = None
        self._index = TermIndex(terms)
        self._by_trigger: dict[int, list[int]] = {}
        for position, rule in enumerate(self.rules):
            for term in dict.fromkeys(rule.triggers):
                self._by_trigger.setdefault(term, []).append(position)

    def __len__(self) -> int:
        return len(self.rules)

    def evaluate(
        self, text: str, *, channel: str | None = None, tags: Collection[str] = ()
    ) -> tuple[Match, ...]:
        """Return the matches of every rule that fires on ``text``, best score first.

        Args:
            text: the post text, as published.
            channel: the post's channel username (without @) or numeric id, for scoped rules.
            tags: the channel's configured tags, for rules scoped to tags.
        """
        evidence, matches = self.inspect(text, channel=channel, tags=tags)
        if self.scorer is None:
            return matches
        return self.scorer.decide(evidence, matches)

    def inspect(
        self, text: str, *, channel: str | None = None, tags: Collection[str] = ()
    ) -> tuple[Evidence, tuple[Match, ...]]:
        """Return the evidence of ``text`` and the matches of the rules alone, best first."""
        evidence = self._index.scan(normalize(text, lazy=not self._index.reads_text))
        candidates = sorted(
            {position for term in evidence.hits for position in self._by_trigger.get(term, ())}
        )
        found: list[tuple[int, Match]] = []
        for position in candidates:
            rule = self.rules[position]
            if not rule.applies_to(channel, tags):
                continue
            match = rule.match(evidence)
            if match is not None:
                found.append((position, match))
        found.sort(key=lambda item: (-item[1].score, item[0]))
        return evidence, tuple(match for _, match in found)
