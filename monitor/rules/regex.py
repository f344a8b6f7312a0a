"""The ``regex`` rule kind: one of ``patterns`` matches the normalised text, no ``not`` term does.

Patterns run over the casefolded, ё→е, homoglyph-repaired text with URLs and @mentions blanked
(see ``terms.compile_regex``); they cost one scan each per post, unlike word terms. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from monitor.rules.combinators import AnyOf, Condition
from monitor.rules.keyword import KeywordRule, finish_rule
from monitor.rules.schema import RuleFields, TermList
from monitor.rules.terms import TermTable


class RegexSpec(RuleFields):
    """A ``regex`` rule as written in a rule file."""

    kind: Literal["regex"]
    patterns: TermList


@dataclass(frozen=True, slots=True)
class RegexRule(KeywordRule):
    """A compiled ``regex`` rule; it matches like a keyword rule with one ``regex`` condition."""

    kind: ClassVar[str] = "regex"


def build_regex(spec: RegexSpec, table: TermTable) -> KeywordRule:
    """Compile a ``regex`` spec, parsing its patterns into ``table``.

    Raises:
        ValueError: a pattern does not compile or an exclusion is invalid.
    """
    try:
        ids = table.add_all([f"/{pattern}/" for pattern in spec.patterns], spec.languages)
    except ValueError as error:
        raise ValueError(f"patterns: {error}") from None
    conditions: list[Condition] = [AnyOf(ids)]
    return finish_rule(RegexRule, spec, table, conditions)
