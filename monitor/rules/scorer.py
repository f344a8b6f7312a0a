"""The learned scorer: logistic models over the features of ``features.py``.

``Weights`` are what ``monitor rules train`` fits and writes (a JSON file; the default pack's
ship as package data). Each feature has one weight per output: ``story`` (is this a story an
analyst wants, whatever its kind) and one per category (which kind). A post's category is the
most probable kind; it is flagged when P(story) reaches that category's threshold. Deciding
the flag with one model fitted on every positive is steadier than six small ones, and the
per-category thresholds keep each kind's precision where the training posts put it.
``Scorer.judge`` scores one scanned post; ``Scorer.decide`` turns the verdict and the rules'
matches into the post's final matches:

- a flag by the scorer becomes a ``Match`` with rule id ``scorer``, the probability as its
  score and the spans of the features that pushed it up (rules, terms, words) as its hits;
- a rule the weights were fitted with ("covered") is evidence: its match is shown with a
  flag of the scorer and dropped without one (the scorer outweighed it);
- a rule the weights do not know (written after the last training) fires as it always did.

Inference is pure Python: the evidence features are a few dict lookups, and each distinct word's
weights are summed once and cached, so a post costs one lookup per word. Pure apart from the
cache; reading the file is ``load_weights``'s job.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.models import Hit, Match
from monitor.rules.features import (
    PostFeatures,
    Source,
    TermNames,
    pair_names,
    post_features,
    spans_of,
    word_features,
)
from monitor.rules.matcher import Evidence

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "military_discipline.json"
FORMAT = 1
SCORER_ID = "scorer"
_CACHE_LIMIT = 200_000
_SHOWN = 6

Vector = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Weights:
    """A fitted model: per output (``story``, then each category) a bias and feature weights;
    per category a threshold on P(story)."""

    categories: tuple[str, ...]
    bias: Vector
    thresholds: Vector
    features: dict[str, Vector]
    covered_rules: frozenset[str] = frozenset()
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the file form (rounded: three decimals are far below the model's noise)."""
        return {
            "format": FORMAT,
            "categories": list(self.categories),
            "bias": [round(value, 3) for value in self.bias],
            "thresholds": [round(value, 3) for value in self.thresholds],
            "covered_rules": sorted(self.covered_rules),
            "info": self.info,
            "features": {
                name: [round(value, 3) for value in vector]
                for name, vector in sorted(self.features.items())
            },
        }

    @classmethod
    def from_json(cls, data: Any) -> Weights:
        """Build weights from the parsed file.

        Raises:
            ValueError: the data is not a weights file of this format; the message says what.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a weights file of format {FORMAT}")
        categories = tuple(str(name) for name in data["categories"])
        size = len(categories) + 1
        features = {str(k): _vector(v, size) for k, v in dict(data["features"]).items()}
        return cls(
            categories,
            _vector(data["bias"], size),
            _vector(data["thresholds"], size - 1),
            features,
            frozenset(str(rule) for rule in data.get("covered_rules", ())),
            dict(data.get("info", {})),
        )


def dump_weights(weights: Weights) -> str:
    """The text of a weights file: JSON with one feature per line (small, readable diffs)."""
    data = weights.to_json()
    features = data.pop("features")
    head = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    lines = [
        f"{json.dumps(name, ensure_ascii=False)}:{json.dumps(vector, separators=(',', ':'))}"
        for name, vector in features.items()
    ]
    return head[:-1] + ',"features":{\n' + ",\n".join(lines) + "\n}}\n"


def _vector(raw: Any, size: int) -> Vector:
    """Check and convert one list of numbers."""
    if not isinstance(raw, list) or len(raw) != size:
        raise ValueError(f"expected a list of {size} numbers, got {str(raw)[:40]!r}")
    return tuple(float(value) for value in raw)


def load_weights(path: Path) -> Weights:
    """Read a weights file.

    Raises:
        ValueError: unreadable, not JSON or not weights; the message names the file.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Weights.from_json(data)
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror or error}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a scorer weights file: {error}") from None


@dataclass(frozen=True, slots=True)
class Reason:
    """One feature's part in a verdict: its name, its weight for the category, its spans."""

    feature: str
    weight: float
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The scorer's P(story), the most probable category and its threshold, for one post."""

    story: float
    category: str
    threshold: float
    features: PostFeatures
    evidence: Evidence

    @property
    def flagged(self) -> bool:
        """Whether P(story) reached the category's threshold."""
        return self.story >= self.threshold


class Scorer:
    """Scores posts with fitted ``Weights``; pack groups name the ``group:`` features."""

    def __init__(self, weights: Weights, groups_of: Mapping[str, tuple[str, ...]]) -> None:
        self.weights = weights
        self.groups_of = dict(groups_of)
        self._cache: dict[str, Vector] = {}
        self._names: dict[int, TermNames] = {}
        self._pairs = pair_names(self.groups_of, weights.features)
        self._zero: Vector = (0.0,) * (len(weights.categories) + 1)
        self._empty: list[tuple[float, ...]] = [()] * len(self._zero)

    def judge(self, evidence: Evidence, matches: Sequence[Match]) -> Verdict:
        """Score one post from its evidence and the matches of the rules."""
        features = post_features(evidence, matches, self.groups_of, self._names, self._pairs)
        get = self.weights.features.get
        found = [vector for vector in map(get, features.evidence) if vector is not None]
        scale = features.lexical_scale
        words = list(map(self._cache.get, features.words))
        if None in words:
            words = [
                self._word_vector(word) if vector is None else vector
                for vector, word in zip(words, features.words, strict=True)
            ]
        sums = [
            bias + sum(evidence_column) + scale * sum(word_column)
            for bias, evidence_column, word_column in zip(
                self.weights.bias,
                zip(*found, strict=True) if found else self._empty,
                zip(*words, strict=True) if words else self._empty,
                strict=True,
            )
        ]
        at = max(range(1, len(sums)), key=sums.__getitem__)
        category = self.weights.categories[at - 1]
        threshold = self.weights.thresholds[at - 1]
        return Verdict(_sigmoid(sums[0]), category, threshold, features, evidence)

    def _word_vector(self, word: str) -> Vector:
        """Sum the weights of one word's features and cache the result."""
        get = self.weights.features.get
        found = [vector for vector in map(get, word_features(word)) if vector is not None]
        result = tuple(map(sum, zip(*found, strict=True))) if found else self._zero
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = result
        return result

    def reasons(
        self, verdict: Verdict, output: int = 0, limit: int | None = None, *, raising: bool = False
    ) -> list[Reason]:
        """The features of the post with their weight for one output, largest effect first.

        ``output`` 0 is the story model, 1… the categories; ``limit`` keeps the first few
        (spans are found only for those); ``raising`` keeps only positive weights. Words
        carry their scaled weight; a feature the weights do not know is left out.
        """
        text = verdict.evidence.text
        scale = verdict.features.lexical_scale
        found: list[tuple[float, str, Source | None, int]] = []
        for feature, source in verdict.features.evidence.items():
            vector = self.weights.features.get(feature)
            if vector is not None and (vector[output] > 0 if raising else vector[output]):
                found.append((vector[output], feature, source, -1))
        for word, index in verdict.features.words.items():
            vector = self._cache.get(word) or self._word_vector(word)
            if vector[output] > 0 if raising else vector[output]:
                found.append((vector[output] * scale, f"word:{word}", None, index))
        found.sort(key=lambda item: -abs(item[0]))
        return [
            Reason(
                feature,
                weight,
                spans_of(source, verdict.evidence)
                if source is not None
                else (text.token_span(index, index),),
            )
            for weight, feature, source, index in found[:limit]
        ]

    def as_match(self, verdict: Verdict) -> Match:
        """The scorer's flag as a ``Match``: its hits are the spans that raised the score most.

        Only features with spans compete (group pairs have none), and spans are found only for
        the few shown: a flag costs little more than a verdict.
        """
        scale = verdict.features.lexical_scale
        get = self.weights.features.get
        found: list[tuple[float, str, Source | None, int]] = []
        for feature, source in verdict.features.evidence.items():
            vector = get(feature)
            if vector is not None and vector[0] > 0 and source != ():
                found.append((vector[0], feature, source, -1))
        cache = self._cache
        for word, index in verdict.features.words.items():
            weight = cache[word][0]
            if weight > 0:
                found.append((weight * scale, word, None, index))
        hits: dict[tuple[int, int], str] = {}
        text = verdict.evidence.text
        shown = heapq.nlargest(_SHOWN, found, key=lambda item: item[0])
        for _, feature, carrier, index in reversed(shown):
            if carrier is None:
                hits[text.token_span(index, index)] = feature
            else:
                for span in spans_of(carrier, verdict.evidence):
                    hits[span] = _label(feature)
        ordered = tuple(Hit(term, start, end) for (start, end), term in sorted(hits.items()))
        return Match(SCORER_ID, verdict.category, round(verdict.story, 4), ordered)

    def decide(self, evidence: Evidence, matches: Sequence[Match]) -> tuple[Match, ...]:
        """Return the post's final matches: see the module docstring."""
        verdict = self.judge(evidence, matches)
        covered = self.weights.covered_rules
        kept = [match for match in matches if match.rule_id not in covered]
        if not verdict.flagged:
            return tuple(kept)
        others = [match for match in matches if match.rule_id in covered]
        return (self.as_match(verdict), *others, *kept)


def _label(feature: str) -> str:
    """How a feature reads as a hit in an alert: the term or word itself, ``$group``, a rule."""
    kind, _, name = feature.partition(":")
    if kind in ("term", "word"):
        return name
    if kind == "group":
        return "$" + name
    if kind == "fired":
        return "rules"
    return feature


def _sigmoid(value: float) -> float:
    """The logistic function, safe for large magnitudes."""
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)
