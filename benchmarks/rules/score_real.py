"""Score the classifier on real published passages (issue 11, "How to measure honestly").

Run: ``python benchmarks/rules/score_real.py [FILE] [--split tune|test|all] [--show]``
(FILE defaults to ``/work/realtext/real.jsonl``; ``--rules FILE``, ``--no-default-pack`` and
``--weights FILE`` as in ``monitor rules eval``).

The passages are real news reports and channel posts copied unchanged; their text is not ours
to ship, so it lives outside the repository and only the addresses are listed, in
``real_sources.txt`` next to this script. Each line of FILE is a JSON object::

    {"id": "real-0001", "text": "...", "label": true, "category": "awol",
     "language": "ru", "url": "https://...", "split": "test"}

(``lang`` is accepted for ``language``; ``category`` is null for negatives.)

The classifier is scored through the project's public API, the same code ``monitor rules
eval`` runs: ``load_ruleset`` builds the rules in effect and ``monitor.rules.scoring.score``
counts them, so the figures stay comparable when the engine gains a scorer. The same run also
scores a naive baseline: a post is flagged when it contains any of 25 keywords as a
lower-cased substring (``NAIVE_KEYWORDS``), the kind of matcher a keyword bot uses.

Printed: precision, recall and F1 overall, per language and per category, for both; with
``--show``, the ids of the misses, false positives and wrong categories (never the text).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from monitor.errors import RuleError
from monitor.models import Match
from monitor.rules import RuleSet, load_ruleset
from monitor.rules.scoring import Counts, Example, Report, score

DEFAULT_FILE = Path("/work/realtext/real.jsonl")
SPLITS = ("tune", "test", "all")

# A stand-in for the "naive 25-keyword substring matcher": the words and stems a
# keyword bot would start from, in the three languages, matched as lower-cased substrings.
NAIVE_KEYWORDS = (
    "дезертир",
    "самовольн",
    "самовільн",
    "самоволк",
    "сзч",
    "сбежал",
    "втік",
    "втекл",
    "дедовщин",
    "дідівщин",
    "неуставн",
    "отказались",
    "відмовил",
    "бунт",
    "мародер",
    "взятк",
    "хабар",
    "awol",
    "desert",
    "mutin",
    "hazing",
    "court-martial",
    "absent without leave",
    "refused to",
    "military police",
)


@dataclass(frozen=True, slots=True)
class Passage:
    """One labelled passage and the split it belongs to."""

    example: Example
    split: str


class NaiveMatcher:
    """Flags a post when any keyword occurs in it; quacks like ``RuleSet.evaluate``."""

    def __init__(self, keywords: Sequence[str]) -> None:
        self.keywords = tuple(keyword.lower() for keyword in keywords)

    def evaluate(self, text: str) -> tuple[Match, ...]:
        """Return one match (category unknown) when a keyword is in ``text``, else none."""
        lowered = text.lower()
        for keyword in self.keywords:
            if keyword in lowered:
                return (Match(rule_id=f"naive:{keyword}", category="?", score=1.0),)
        return ()


def read_passages(path: Path) -> Iterator[Passage]:
    """Yield the passages of a labelled JSONL file; a bad line names its number."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield _passage(json.loads(line), path, number)


def _passage(data: dict[str, Any], path: Path, number: int) -> Passage:
    """Build one passage, mapping this file's ``language`` to the scorer's ``lang``."""
    fields = dict(data)
    fields.setdefault("lang", fields.get("language"))
    try:
        example = Example.from_json(fields)
    except ValueError as error:
        raise SystemExit(f"{path}:{number}: {error}") from None
    return Passage(example, str(fields.get("split", "")))


def select(passages: Iterable[Passage], split: str) -> list[Example]:
    """Return the examples of one split (or of all)."""
    return [p.example for p in passages if split == "all" or p.split == split]


def format_counts(name: str, counts: Counts) -> str:
    """One table row: name, P/R/F1 and the confusion counts."""
    return (
        f"  {name:<10} P {counts.precision:.3f}  R {counts.recall:.3f}  F1 {counts.f1:.3f}"
        f"  (TP {counts.tp}, FP {counts.fp}, FN {counts.fn}, TN {counts.tn})"
    )


def format_report(title: str, report: Report, show: bool) -> list[str]:
    """The lines printed for one scorer."""
    lines = [title, format_counts("overall", report.overall), " by language:"]
    lines += [format_counts(k, v) for k, v in sorted(report.by_language.items())]
    lines.append(" by category (flagged/labelled):")
    for key, counts in sorted(report.by_category.items()):
        seen, hit = report.flagged_in_category.get(key, (0, 0))
        lines.append(f"{format_counts(key, counts)}  flagged {hit}/{seen}")
    lines.append(
        f" misses {len(report.false_negatives)}, false positives"
        f" {len(report.false_positives)}, wrong category {len(report.wrong_category)}"
    )
    if show:
        lines.append("  misses: " + " ".join(report.false_negatives))
        lines.append("  false positives: " + " ".join(report.false_positives))
        wrong = (f"{i}({want}->{got})" for i, want, got in report.wrong_category)
        lines.append("  wrong category: " + " ".join(wrong))
    return lines


def naive_report(examples: Sequence[Example]) -> Report:
    """Score the naive matcher; its category rows say nothing, so only flagging counts."""
    matcher: Any = NaiveMatcher(NAIVE_KEYWORDS)
    report = score(matcher, examples)
    report.by_category.clear()
    report.wrong_category.clear()
    return report


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument("--show", action="store_true", help="list ids of misses and FPs")
    parser.add_argument("--rules", action="append", type=Path, default=[], metavar="FILE")
    parser.add_argument("--no-default-pack", action="store_true")
    parser.add_argument("--weights", type=Path, metavar="FILE", help="scorer weights to use")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Score the rules in effect and the naive baseline on one split; print both."""
    args = parse_args(argv)
    if not args.file.is_file():
        print(f"{args.file}: no such file (pass the labelled JSONL as the first argument)")
        return 2
    examples = select(read_passages(args.file), args.split)
    if not examples:
        print(f"{args.file}: no passages in split {args.split!r}")
        return 2
    try:
        ruleset: RuleSet = load_ruleset(
            args.rules, default_pack=not args.no_default_pack, weights=args.weights
        )
    except RuleError as error:  # an unreadable --rules or --weights file
        print(error)
        return 2
    positives = sum(e.label for e in examples)
    print(f"{args.file}  split={args.split}  passages={len(examples)}  positive={positives}")
    for line in format_report("rules in effect:", score(ruleset, examples), args.show):
        print(line)
    for line in format_report(
        "naive 25-keyword substring baseline:", naive_report(examples), args.show
    ):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
