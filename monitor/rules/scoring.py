"""Scoring a rule set against labelled posts: precision, recall and F1, overall and per slice.

Input is parsed JSON objects (``id``, ``text``, ``label``, ``category``, ``lang``); reading the
file is the caller's job. Per-language rows score flagging within that language. Per-category
rows score the category the best match gives, against the labelled category, and also say how
many posts of that category were flagged at all. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.rules.ruleset import RuleSet


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled post."""

    id: str
    text: str
    label: bool
    category: str
    lang: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Example:
        """Build an example from a parsed JSON line.

        Raises:
            ValueError: ``id``, ``text`` or ``label`` is missing or of the wrong type.
        """
        if not isinstance(data.get("text"), str) or "id" not in data:
            raise ValueError("needs 'id' and a string 'text'")
        if not isinstance(data.get("label"), bool):
            raise ValueError("needs a boolean 'label'")
        category = str(data.get("category") or ("none" if not data["label"] else "?"))
        lang = data.get("lang") or data.get("language")
        return cls(str(data["id"]), data["text"], data["label"], category, str(lang))


@dataclass(slots=True)
class Counts:
    """A confusion count with the derived scores."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def add(self, predicted: bool, actual: bool) -> None:
        """Count one decision."""
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1


@dataclass(slots=True)
class Report:
    """Everything ``rules eval`` prints."""

    overall: Counts = field(default_factory=Counts)
    by_language: dict[str, Counts] = field(default_factory=dict)
    by_category: dict[str, Counts] = field(default_factory=dict)
    flagged_in_category: dict[str, tuple[int, int]] = field(default_factory=dict)
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)
    wrong_category: list[tuple[str, str, str]] = field(default_factory=list)


def score(ruleset: RuleSet, examples: Iterable[Example]) -> Report:
    """Evaluate every example and count the outcomes."""
    report = Report()
    for example in examples:
        matches = ruleset.evaluate(example.text)
        predicted = matches[0].category if matches else None
        count(report, example, predicted)
    return report


def count(report: Report, example: Example, predicted: str | None) -> None:
    """Add one example's outcome to every row it belongs to."""
    flagged = predicted is not None
    report.overall.add(flagged, example.label)
    report.by_language.setdefault(example.lang, Counts()).add(flagged, example.label)
    if flagged and not example.label:
        report.false_positives.append(example.id)
    if example.label and not flagged:
        report.false_negatives.append(example.id)
    if example.label:
        seen, hit = report.flagged_in_category.get(example.category, (0, 0))
        report.flagged_in_category[example.category] = (seen + 1, hit + flagged)
        if flagged and predicted != example.category:
            report.wrong_category.append((example.id, example.category, str(predicted)))
    for category in {example.category, predicted} - {None, "none"}:
        counts = report.by_category.setdefault(str(category), Counts())
        counts.add(predicted == category, example.label and example.category == category)
