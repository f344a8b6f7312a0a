"""Fitting the scorer's weights on labelled posts (``monitor rules train``). Needs numpy.

One logistic regression per category (one-vs-rest: "a story of this category" against
everything else), fitted by full-batch Adam on the mean log loss with an L2 penalty, over the
sparse features of ``features.py``. Hand-written on numpy rather than scikit-learn: the model is
twenty lines, numpy is the only dependency of the ``train`` extra, and the fit is
deterministic (no random starts, no shuffling). The per-category thresholds are chosen on
out-of-fold probabilities of a cross-validation, so they are not tuned on posts the model saw.
Inference does not use this module (``scorer.py`` is pure Python).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.rules.features import post_features, term_groups, word_features
from monitor.rules.ruleset import RuleSet
from monitor.rules.schema import CATEGORIES
from monitor.rules.scorer import Weights
from monitor.rules.scoring import Example, Report, count

# The project's own labelled posts (ru/uk/en, positives and hard negatives), shipped so that
# `monitor rules train` can refit with a user's posts added.
CORPUS = Path(__file__).resolve().parent / "corpus"
MIN_DF = 3
L2 = 1e-3
EPOCHS = 150
RATE = 0.1
PRUNE = 0.05
THRESHOLD_GRID = tuple(round(0.1 + 0.025 * step, 3) for step in range(33))


@dataclass(frozen=True, slots=True)
class Options:
    """Knobs of a fit; the defaults are what the shipped weights use."""

    l2: float = L2
    epochs: int = EPOCHS
    rate: float = RATE
    min_df: int = MIN_DF
    folds: int = 5


Row = dict[str, float]


def shipped_corpus() -> list[Path]:
    """The shipped corpus files, in a stable order."""
    return sorted(CORPUS.glob("*.jsonl"))


def featurize(ruleset: RuleSet, examples: Sequence[Example]) -> list[Row]:
    """Return every example's features as name → value (evidence 1, words scaled)."""
    groups_of = term_groups(ruleset.groups)
    rows = []
    for example in examples:
        evidence, matches = ruleset.inspect(example.text)
        features = post_features(evidence, matches, groups_of)
        row: Row = dict.fromkeys(features.evidence, 1.0)
        scale = features.lexical_scale
        for word in features.words:
            for name in word_features(word):
                row[name] = row.get(name, 0.0) + scale
        rows.append(row)
    return rows


def targets(examples: Sequence[Example]) -> list[list[float]]:
    """0/1 columns: positive (the story model), then positive and of each category."""
    return [
        [float(example.label)]
        + [1.0 if example.label and example.category == name else 0.0 for name in CATEGORIES]
        for example in examples
    ]


def _require_numpy() -> Any:
    """Import numpy or say how to get it."""
    try:
        import numpy
    except ImportError:
        raise RuntimeError(
            "training needs numpy: pip install 'telegram-discipline-monitor[train]'"
        ) from None
    return numpy


def fit(rows: Sequence[Row], labels: Sequence[list[float]], options: Options) -> Weights:
    """Fit one logistic model per category; thresholds are left at 0.5 (see ``train``)."""
    np = _require_numpy()
    counts = Counter(name for row in rows for name in row)
    vocabulary = sorted(name for name, seen in counts.items() if seen >= options.min_df)
    index = {name: position for position, name in enumerate(vocabulary)}
    cells = [
        (r, index[name], v)
        for r, row in enumerate(rows)
        for name, v in row.items()
        if name in index
    ]
    row_ids = np.array([cell[0] for cell in cells], dtype=np.int64)
    col_ids = np.array([cell[1] for cell in cells], dtype=np.int64)
    values = np.array([cell[2] for cell in cells], dtype=np.float32)
    y = np.array(labels, dtype=np.float32).reshape(len(rows), len(CATEGORIES) + 1)
    weights, bias = _adam(np, (row_ids, col_ids, values), y, len(vocabulary), options)
    keep = np.abs(weights).max(axis=1) >= PRUNE
    features = {vocabulary[i]: tuple(float(v) for v in weights[i]) for i in np.flatnonzero(keep)}
    return Weights(
        CATEGORIES,
        tuple(float(v) for v in bias),
        (0.5,) * len(CATEGORIES),
        features,
    )


def _adam(np: Any, cells: tuple[Any, Any, Any], y: Any, width: int, options: Options) -> Any:
    """Minimise mean log loss + L2 by full-batch Adam; return (weights F×K, bias K).

    The sparse products are ``np.add.reduceat`` over the cells sorted by row (X·W) and by
    column (Xᵀ·E): two calls an epoch for all outputs at once. float32 halves the time and
    changes the weights by less than the file's rounding.
    """
    rows, cols, values = cells
    n, k = y.shape
    by_col = np.argsort(cols, kind="stable")
    row_of, starts = np.unique(rows, return_index=True)
    col_of, col_starts = np.unique(cols[by_col], return_index=True)
    rows_c, values_c, values_r = rows[by_col], values[by_col][:, None], values[:, None]
    w = np.zeros((width, k), dtype=np.float32)
    b = np.log((y.mean(axis=0) + 1e-3) / (1 - y.mean(axis=0) + 1e-3))
    moments = [np.zeros_like(w), np.zeros_like(w), np.zeros(k), np.zeros(k)]
    z = np.zeros((n, k), dtype=np.float32)
    grad_w = np.zeros((width, k), dtype=np.float32)
    for step in range(1, options.epochs + 1):
        z[row_of] = np.add.reduceat(values_r * w[cols], starts)
        error = (1 / (1 + np.exp(-(z + b))) - y) / n
        grad_w[col_of] = np.add.reduceat(values_c * error[rows_c], col_starts)
        grad_w += options.l2 * w
        grad_b = error.sum(axis=0)
        w = _adam_step(np, w, grad_w, moments[0], moments[1], step, options.rate)
        b = _adam_step(np, b, grad_b, moments[2], moments[3], step, options.rate)
    return w, b


def _adam_step(
    np: Any, value: Any, grad: Any, first: Any, second: Any, step: int, rate: float
) -> Any:
    """One Adam update (moments updated in place)."""
    first *= 0.9
    first += 0.1 * grad
    second *= 0.999
    second += 0.001 * grad * grad
    corrected = first / (1 - 0.9**step)
    scale = np.sqrt(second / (1 - 0.999**step)) + 1e-8
    return value - rate * corrected / scale


def probabilities(weights: Weights, row: Row) -> list[float]:
    """The model's probabilities for one featurised post (as the scorer computes them)."""
    import math

    sums = list(weights.bias)
    for name, value in row.items():
        vector = weights.features.get(name)
        if vector is not None:
            sums = [s + value * w for s, w in zip(sums, vector, strict=True)]
    return [1 / (1 + math.exp(-max(min(s, 50.0), -50.0))) for s in sums]


def decide(probs: Sequence[float], thresholds: Sequence[float]) -> str | None:
    """The category a post gets (as ``Scorer.judge``): the most probable kind, when P(story)
    reaches its threshold."""
    at = _kind(probs)
    return CATEGORIES[at] if probs[0] >= thresholds[at] else None


def _kind(probs: Sequence[float]) -> int:
    """The index (in ``CATEGORIES``) of the most probable category."""
    return max(range(len(CATEGORIES)), key=lambda at: probs[at + 1])


def choose_thresholds(
    probs: Sequence[Sequence[float]], examples: Sequence[Example]
) -> tuple[float, ...]:
    """Per-category thresholds that maximise F1 of flagging on out-of-fold probabilities.

    Coordinate ascent from 0.5, two passes over the categories, on a grid of 0.1 … 0.9.
    """
    thresholds = [0.5] * len(CATEGORIES)
    for _ in range(2):
        for position in range(len(CATEGORIES)):
            thresholds[position] = _best_candidate(probs, examples, thresholds, position)
    return tuple(thresholds)


def _best_candidate(
    probs: Sequence[Sequence[float]], examples: Sequence[Example], thresholds: list[float], at: int
) -> float:
    """The grid value of one threshold with the best F1 (ties: the one nearest 0.5)."""
    scored = []
    for candidate in THRESHOLD_GRID:
        trial = [*thresholds[:at], candidate, *thresholds[at + 1 :]]
        scored.append((_flag_f1(probs, examples, trial), -abs(candidate - 0.5), candidate))
    return max(scored)[2]


def _flag_f1(
    probs: Sequence[Sequence[float]], examples: Sequence[Example], thresholds: Sequence[float]
) -> float:
    """F1 of flagging (any category past its threshold) against the labels."""
    tp = fp = fn = 0
    for p, example in zip(probs, examples, strict=True):
        flagged = p[0] >= thresholds[_kind(p)]
        tp += flagged and example.label
        fp += flagged and not example.label
        fn += example.label and not flagged
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def out_of_fold(
    rows: Sequence[Row], examples: Sequence[Example], options: Options
) -> list[list[float]]:
    """Probabilities for every example from a model fitted without its fold."""
    labels = targets(examples)
    probs: list[list[float]] = [[] for _ in rows]
    for fold in range(options.folds):
        train = [i for i in range(len(rows)) if i % options.folds != fold]
        weights = fit([rows[i] for i in train], [labels[i] for i in train], options)
        for i in range(fold, len(rows), options.folds):
            probs[i] = probabilities(weights, rows[i])
    return probs


CALIBRATION_GRID = tuple(round(0.3 + 0.05 * step, 2) for step in range(25))
CALIBRATION_SLACK = 0.03


def calibrate(
    weights: Weights, rows: Sequence[Row], examples: Sequence[Example], thresholds: Sequence[float]
) -> float:
    """The factor on every threshold for the best flagging F1 on ``examples``.

    Of the factors within ``CALIBRATION_SLACK`` of the best F1, the one nearest 1 wins: a few
    hundred posts cannot tell such factors apart, and the corpus's level is the better prior.
    """
    probs = [probabilities(weights, row) for row in rows]
    scored = []
    for factor in CALIBRATION_GRID:
        trial = [min(t * factor, 0.99) for t in thresholds]
        scored.append((_flag_f1(probs, examples, trial), factor))
    best = max(f1 for f1, _ in scored)
    near = [factor for f1, factor in scored if f1 >= best - CALIBRATION_SLACK]
    return min(near, key=lambda factor: abs(factor - 1))


@dataclass(frozen=True, slots=True)
class Trained:
    """The result of ``train``: the weights to write and the cross-validated report."""

    weights: Weights
    report: Report


def train(
    ruleset: RuleSet,
    examples: Sequence[Example],
    options: Options = Options(),
    calibration: Sequence[Example] = (),
    factor: float | None = None,
) -> Trained:
    """Fit weights with the evidence of ``ruleset``; cross-validate; choose thresholds.

    ``calibration``: labelled posts from the stream the scorer will read (not trained on).
    When given, every threshold is multiplied by the one factor that gives the best F1 on
    them: the corpus teaches the ranking, the real stream sets the bar. ``factor`` sets that
    factor outright instead (one chosen on posts that cannot be shipped, made reproducible).

    Raises:
        ValueError: fewer examples than folds, no positive or no negative example, or both
            ``calibration`` and ``factor``.
    """
    if calibration and factor is not None:
        raise ValueError("give either calibration posts or a threshold factor, not both")
    if len(examples) < max(options.folds, 2) * 2:
        raise ValueError(f"too few labelled posts to train on: {len(examples)}")
    if all(e.label for e in examples) or not any(e.label for e in examples):
        raise ValueError("training needs both positive and negative posts")
    rows = featurize(ruleset, examples)
    oof = out_of_fold(rows, examples, options)
    thresholds = choose_thresholds(oof, examples)
    report = Report()
    for p, example in zip(oof, examples, strict=True):
        count(report, example, decide(p, thresholds))
    fitted = fit(rows, targets(examples), options)
    if calibration:
        factor = calibrate(fitted, featurize(ruleset, calibration), calibration, thresholds)
    if factor is not None:
        thresholds = tuple(min(t * factor, 0.99) for t in thresholds)
    info = {
        "posts": len(examples),
        "positives": sum(e.label for e in examples),
        "ruleset": ruleset.version,
        "cross_validated_f1": round(report.overall.f1, 4),
        "calibration": {"posts": len(calibration), "factor": 1.0 if factor is None else factor},
    }
    weights = Weights(
        fitted.categories,
        fitted.bias,
        thresholds,
        fitted.features,
        frozenset(rule.id for rule in ruleset.rules),
        info,
    )
    return Trained(weights, report)
