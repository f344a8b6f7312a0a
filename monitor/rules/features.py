"""Features of a post for the learned scorer: the rules' evidence and the post's words.

Two kinds, both named by strings so that a weights file reads as what it means:

- **evidence** (from the matcher, post-wide): ``rule:<id>`` for every rule that fired, with
  ``fired`` and ``fired:<category>`` shared by all rules (so a rule that no training post made
  fire is still trusted as much as rules are on the whole),
  ``term:<text>`` for every term found anywhere, ``group:<name>`` for every pack group with a
  term found anywhere, and ``pair:<a>&<b>`` for two groups found in the same post, in any
  sentences (a serviceman named once, the act told two sentences later);
- **lexical** (per distinct word): ``word:<key>`` for its Snowball / Ukrainian keys and
  ``chars:<4-gram>`` for the character 4-grams of the padded word, which survive misspellings
  (дизертир shares most of its 4-grams with дезертир).

A post's lexical vector is the sum of its distinct words' vectors divided by the square root
of their number, so that a word's share does not depend on the post it is in, and a linear
model's lexical score is a sum of per-word scores that can be cached. Pure.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from monitor.models import Match
from monitor.rules.matcher import Evidence
from monitor.rules.stem import word_keys
from monitor.rules.terms import spellings

NGRAM = 4
# Groups hit by one post rarely exceed a dozen; a cap keeps the pair count bounded on
# hostile posts that list every word of the pack.
MAX_PAIR_GROUPS = 16


Spans = tuple[tuple[int, int], ...]
Source = Spans | int | Match
# A term's feature name and its groups with their feature names (cached per term id).
TermNames = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class PostFeatures:
    """The features of one post: evidence names with the hits behind them, and its words.

    ``evidence`` maps a feature name to what carries it: a rule's match, or the id of the
    term whose hits do (spans are found only when a flag is explained), or no spans (group
    pairs). ``words`` are the post's distinct normalised words with the token index of
    their first occurrence.
    """

    evidence: dict[str, Source]
    words: dict[str, int]

    @property
    def lexical_scale(self) -> float:
        """The factor every word's vector is multiplied by: 1/sqrt(number of distinct words)."""
        return float(1.0 / max(len(self.words), 1) ** 0.5)


def word_features(word: str) -> tuple[str, ...]:
    """Return the lexical feature names of one normalised word."""
    names = [f"word:{key}" for key in word_keys(word)]
    if len(word) >= 3 and not word.isdigit():
        padded = f"<{word}>"
        names.extend(f"chars:{padded[i : i + NGRAM]}" for i in range(len(padded) - NGRAM + 1))
    return tuple(dict.fromkeys(names))


def term_groups(groups: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Map each term text to the names of the groups that list it (nested groups expanded)."""
    found: dict[str, list[str]] = {}
    for name in groups:
        for text in _expand(groups, name, ()):
            names = found.setdefault(text, [])
            if name not in names:
                names.append(name)
    return {text: tuple(names) for text, names in found.items()}


def _expand(groups: Mapping[str, Sequence[str]], name: str, seen: tuple[str, ...]) -> list[str]:
    """Return the terms of a group with ``$name`` references replaced (cycles cut)."""
    texts: list[str] = []
    for text in groups[name]:
        inner = text[1:]
        if text.startswith("$") and inner in groups and inner not in seen:
            texts.extend(_expand(groups, inner, (*seen, name)))
        elif not text.startswith("$"):
            texts.extend(_spellings(text))
    return texts


def _spellings(text: str) -> list[str]:
    """The spellings of a group's term; a bad term (refused at load) stands for itself."""
    try:
        return spellings(text)
    except ValueError:
        return [text]


def spans_of(source: Source, evidence: Evidence) -> Spans:
    """Return the spans (at most three) that carry a feature, for highlighting."""
    if isinstance(source, int):
        return tuple(evidence.span(hit) for hit in evidence.get(source)[:3])
    if isinstance(source, Match):
        return source.spans
    return source


def pair_names(
    groups_of: Mapping[str, tuple[str, ...]], features: Container[str]
) -> dict[tuple[str, str], str]:
    """Map each (group, group) whose ``pair:`` feature is in ``features`` to that name."""
    groups = sorted({group for names in groups_of.values() for group in names})
    found = {}
    for first, second in combinations(groups, 2):
        name = f"pair:{first}&{second}"
        if name in features:
            found[(first, second)] = name
    return found


def post_features(
    evidence: Evidence,
    matches: Iterable[Match],
    groups_of: Mapping[str, tuple[str, ...]],
    names: dict[int, TermNames] | None = None,
    pairs: Mapping[tuple[str, str], str] | None = None,
) -> PostFeatures:
    """Collect the evidence and lexical features of one scanned post.

    ``names`` caches each term id's feature names (its ``term:`` and ``group:`` names) across
    posts of one rule set; a fresh dict (the default) is always correct. ``pairs``, when
    given, limits group pairs to those it names (a scorer needs only the weighted ones).
    """
    cache = {} if names is None else names
    named: dict[str, Source] = {}
    for match in matches:
        named["rule:" + match.rule_id] = match
        named.setdefault("fired", match)
        named.setdefault("fired:" + match.category, match)
    groups: dict[str, None] = {}
    for term_id in evidence.hits:
        known = cache.get(term_id)
        if known is None:
            text = evidence.terms[term_id].text
            in_groups = tuple((group, "group:" + group) for group in groups_of.get(text, ()))
            known = cache[term_id] = ("term:" + text, in_groups)
        key, term_groups_ = known
        if key not in named:
            named[key] = term_id
            for group, group_key in term_groups_:
                groups[group] = None
                named.setdefault(group_key, term_id)
    found = combinations(sorted(groups)[:MAX_PAIR_GROUPS], 2)
    if pairs is None:
        named.update((f"pair:{first}&{second}", ()) for first, second in found)
    else:
        named.update((name, ()) for name in map(pairs.get, found) if name is not None)
    tokens = evidence.text.words
    # Each distinct word with its first position: built backwards, so the first one stays.
    words = dict(zip(reversed(tokens), range(len(tokens) - 1, -1, -1), strict=True))
    return PostFeatures(named, words)
