"""Conditions that compose term hits: ``AnyOf``, ``AllOf``, ``NoneOf``, ``Near``, ``NotNear``.

A condition looks at the evidence of one post and returns the hits that satisfy it, or ``None``
when it fails. A rule fires when all its conditions hold. Pure and cheap: they only read the
hits the matcher already found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from monitor.rules.matcher import Evidence, TermHit

Found = list[tuple[int, TermHit]]  # (term id, hit) pairs


class Condition(Protocol):
    """One test over the evidence of a post."""

    @property
    def triggers(self) -> tuple[int, ...]:
        """Term ids that can make this condition hold (empty for exclusions)."""
        ...

    def evaluate(self, evidence: Evidence) -> Found | None:
        """Return the hits that satisfy the condition, or ``None`` when it fails."""
        ...


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one of the terms matched."""

    terms: tuple[int, ...]
    members: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", frozenset(self.terms))

    @property
    def triggers(self) -> tuple[int, ...]:
        """Every term of the group."""
        return self.terms

    def evaluate(self, evidence: Evidence) -> Found | None:
        """Return the hits of every matched term, or ``None`` when none matched."""
        hits = evidence.hits
        # A set intersection in C walks the smaller side: groups can hold hundreds of terms,
        # and the many rules a common word wakes up each test their groups against the post.
        matched = hits.keys() & self.members
        if not matched:
            return None
        return [(t, hit) for t in sorted(matched) for hit in hits[t]]


@dataclass(frozen=True, slots=True)
class AllOf:
    """Each group matched at least one of its terms."""

    groups: tuple[AnyOf, ...]

    @property
    def triggers(self) -> tuple[int, ...]:
        """The terms of the first group: no group, no match."""
        return self.groups[0].terms

    def evaluate(self, evidence: Evidence) -> Found | None:
        """Return the hits of every group, or ``None`` when a group found nothing."""
        found: Found = []
        for group in self.groups:
            hits = group.evaluate(evidence)
            if hits is None:
                return None
            found.extend(hits)
        return found


@dataclass(frozen=True, slots=True)
class NoneOf:
    """None of the terms of ``group`` matched (exclusions)."""

    group: AnyOf

    @property
    def triggers(self) -> tuple[int, ...]:
        """Nothing: an exclusion alone never makes a rule fire."""
        return ()

    def evaluate(self, evidence: Evidence) -> Found | None:
        """Return no hits when the post is clear, ``None`` when an excluded term matched."""
        if self.group.evaluate(evidence) is not None:
            return None
        return []


@dataclass(frozen=True, slots=True)
class Near:
    """A term of ``first`` and a term of ``second`` at most ``within`` words apart.

    Either order, unless ``ordered``: then ``first`` comes before ``second``. The two hits may
    not overlap, so one token never counts for both groups.
    """

    first: AnyOf
    second: AnyOf
    within: int
    ordered: bool = False

    @property
    def triggers(self) -> tuple[int, ...]:
        """The terms of the first group."""
        return self.first.terms

    def evaluate(self, evidence: Evidence) -> Found | None:
        """Return every pair of hits close enough, or ``None`` when there is none."""
        firsts = self.first.evaluate(evidence)
        seconds = self.second.evaluate(evidence) if firsts else None
        if not firsts or not seconds:
            return None
        found: Found = []
        for a in firsts:
            for b in seconds:
                if self._close(a[1], b[1]):
                    found.extend((a, b))
        return found or None

    def _close(self, a: TermHit, b: TermHit) -> bool:
        """Tell whether two hits are within range (and in order, when asked)."""
        after = b.first - a.last
        if self.ordered:
            return 1 <= after <= self.within
        before = a.first - b.last
        return 1 <= max(after, before) <= self.within


@dataclass(frozen=True, slots=True)
class NotNear:
    """An exclusion that holds unless ``near`` holds (a term only bad next to another)."""

    near: Near

    @property
    def triggers(self) -> tuple[int, ...]:
        """Nothing: an exclusion alone never makes a rule fire."""
        return ()

    def evaluate(self, evidence: Evidence) -> Found | None:
        """Return no hits when the pair is absent, ``None`` when it is there."""
        return None if self.near.evaluate(evidence) else []


def required_terms(
    conditions: Iterable[Condition],
) -> tuple[tuple[frozenset[int], ...], tuple[frozenset[int], ...]]:
    """Return the term sets of which one must hit (each) and those none of which may hit.

    A quick test that never decides otherwise than the conditions: a group with no hit fails
    ``AnyOf``, ``AllOf`` and ``Near``; a hit in a ``NoneOf`` group fails it. ``NotNear``
    depends on positions and is left to its own test.
    """
    required: list[frozenset[int]] = []
    excluded: list[frozenset[int]] = []
    for condition in conditions:
        if isinstance(condition, AnyOf):
            required.append(condition.members)
        elif isinstance(condition, AllOf):
            required.extend(group.members for group in condition.groups)
        elif isinstance(condition, Near):
            required.extend((condition.first.members, condition.second.members))
        elif isinstance(condition, NoneOf):
            excluded.append(condition.group.members)
    return tuple(required), tuple(excluded)
