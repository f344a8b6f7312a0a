"""The learned scorer: features, inference, explanation, weights files and training."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.rules import load_ruleset
from monitor.rules.features import post_features, term_groups, word_features
from monitor.rules.schema import CATEGORIES
from monitor.rules.scorer import DEFAULT_WEIGHTS, SCORER_ID, Weights, dump_weights, load_weights
from monitor.rules.scoring import Example
from monitor.rules.training import Options, featurize, fit, probabilities, targets, train

RULES = """
[groups]
soldier = ["военнослужащий", "рядовой", "солдат"]
left = ["ушел", "сбежал", "пропал"]

[[rules]]
id = "soldier-left"
category = "awol"
near = [{ a = ["$soldier"], b = ["$left"], within = 3 }]

[[rules]]
id = "later"
category = "crime"
any = ["=ОПГ"]
"""

SPLIT_STORY = "Рядовой Иванов служил в Курске. Вчера он пропал, и его ищут."


def write_rules(folder: Path) -> Path:
    """A small rule file with two groups and a rule needing them close together."""
    path = folder / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return path


def weights(features: dict[str, float], covered: frozenset[str] = frozenset()) -> Weights:
    """Weights where each feature pushes P(story) and the awol output by the same amount."""
    size = len(CATEGORIES) + 1
    awol = 1 + CATEGORIES.index("awol")
    vectors = {
        name: tuple(value if at in (0, awol) else 0.0 for at in range(size))
        for name, value in features.items()
    }
    return Weights(CATEGORIES, (-2.0,) + (0.0,) * (size - 1), (0.5,) * 6, vectors, covered)


def scored_ruleset(folder: Path, model: Weights) -> object:
    """The small rule set with ``model`` as its scorer, written to and read from a file."""
    path = folder / "weights.json"
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    return load_ruleset([write_rules(folder)], default_pack=False, weights=path)


def test_post_wide_pair_across_sentences(tmp_path: Path) -> None:
    """A serviceman in one sentence and the act in another: no rule, but a group pair."""
    ruleset = load_ruleset([write_rules(tmp_path)], default_pack=False, scorer=False)
    evidence, matches = ruleset.inspect(SPLIT_STORY)
    assert matches == ()
    features = post_features(evidence, matches, term_groups(ruleset.groups))
    assert "pair:left&soldier" in features.evidence
    assert {"group:soldier", "group:left", "term:пропал"} <= set(features.evidence)


def test_misspelling_shares_most_character_grams() -> None:
    """дизертир (misspelt) keeps most 4-grams of дезертир: the scorer still sees the word."""
    right = {n for n in word_features("дезертировавший") if n.startswith("chars:")}
    wrong = {n for n in word_features("дизертировавший") if n.startswith("chars:")}
    assert len(right & wrong) / len(right) >= 0.75


def test_scorer_flags_from_post_wide_evidence(tmp_path: Path) -> None:
    """A weight on the pair flags the split story; the match shows the spans that carried it."""
    ruleset = scored_ruleset(tmp_path, weights({"pair:left&soldier": 3.0, "term:пропал": 1.0}))
    matches = ruleset.evaluate(SPLIT_STORY)  # type: ignore[attr-defined]
    assert [m.rule_id for m in matches] == [SCORER_ID]
    assert matches[0].category == "awol"
    assert matches[0].score == pytest.approx(1 / (1 + math.exp(-2.0)), abs=1e-4)
    assert "пропал" in [SPLIT_STORY[a:b] for a, b in matches[0].spans]
    assert "пропал" in matches[0].terms  # the term as written, as rules name their hits
    assert ruleset.evaluate("Рядовой Иванов служил в Курске.") == ()  # type: ignore[attr-defined]


def test_covered_rule_outweighed_uncovered_rule_kept(tmp_path: Path) -> None:
    """A rule the weights know is evidence (dropped when the score is low); a new one fires."""
    model = weights({"rule:soldier-left": -1.0}, covered=frozenset({"soldier-left"}))
    ruleset = scored_ruleset(tmp_path, model)
    assert ruleset.evaluate("Рядовой сбежал из части") == ()  # type: ignore[attr-defined]
    found = ruleset.evaluate("Задержаны члены ОПГ")  # type: ignore[attr-defined]
    assert [m.rule_id for m in found] == ["later"]


def test_reasons_name_features_weights_and_spans(tmp_path: Path) -> None:
    """The explanation lists each known feature with its weight and highlighted words."""
    ruleset = scored_ruleset(tmp_path, weights({"group:left": 2.5, "chars:<пропал": 0.0}))
    scorer = ruleset.scorer  # type: ignore[attr-defined]
    verdict = scorer.judge(*ruleset.inspect(SPLIT_STORY))  # type: ignore[attr-defined]
    reasons = scorer.reasons(verdict)
    assert reasons[0].feature == "group:left"
    assert reasons[0].weight == 2.5
    assert [SPLIT_STORY[a:b] for a, b in reasons[0].spans] == ["пропал"]


def test_weights_round_trip_and_bad_file(tmp_path: Path) -> None:
    """Weights survive the file; a broken file is a one-line rule error naming it."""
    model = weights({"word:r:дезертир": 1.25})
    path = tmp_path / "w.json"
    path.write_text(dump_weights(model), encoding="utf-8")
    assert load_weights(path).features == model.features
    assert load_weights(path).to_json() == model.to_json()
    path.write_text('{"format": 1, "categories": ["awol"]}', encoding="utf-8")
    with pytest.raises(RuleError, match=r"w\.json: not a scorer weights file"):
        load_ruleset(weights=path)


def test_shipped_weights_load_with_the_pack() -> None:
    """The default pack comes with its scorer; the weights' digest is part of the version."""
    ruleset = load_ruleset()
    assert ruleset.scorer is not None
    assert DEFAULT_WEIGHTS.exists()
    assert ruleset.version != load_ruleset(scorer=False).version


def _examples() -> list[Example]:
    """A tiny separable set: soldiers who vanished (awol) against ordinary news."""
    stories = [
        "Рядовой пропал из части",
        "Солдат сбежал ночью",
        "Военнослужащий ушел и не вернулся",
    ]
    news = ["В Курске открыли парк", "Погода в Москве", "Цены на хлеб выросли"]
    rows = [(text, True) for text in stories * 3] + [(text, False) for text in news * 3]
    return [
        Example(str(n), f"{text} {n}", label, "awol" if label else "none", "ru")
        for n, (text, label) in enumerate(rows)
    ]


def test_inference_matches_training_features(tmp_path: Path) -> None:
    """The scorer's P(story) for a post is the one the training code computes from its row."""
    ruleset = load_ruleset([write_rules(tmp_path)], default_pack=False, scorer=False)
    examples = _examples()
    model = fit(featurize(ruleset, examples), targets(examples), Options(epochs=50))
    path = tmp_path / "w.json"
    path.write_text(dump_weights(model), encoding="utf-8")
    scored = load_ruleset([write_rules(tmp_path)], default_pack=False, weights=path)
    assert scored.scorer is not None
    reloaded = load_weights(path)
    for example, row in zip(examples, featurize(ruleset, examples), strict=True):
        verdict = scored.scorer.judge(*scored.inspect(example.text))
        assert verdict.story == pytest.approx(probabilities(reloaded, row)[0], abs=1e-9)


def test_train_is_deterministic_and_learns(tmp_path: Path) -> None:
    """Two fits give the same weights; the cross-validated report finds the stories."""
    ruleset = load_ruleset([write_rules(tmp_path)], default_pack=False, scorer=False)
    first = train(ruleset, _examples(), Options(epochs=80, folds=3))
    second = train(ruleset, _examples(), Options(epochs=80, folds=3))
    assert first.weights.to_json() == second.weights.to_json()
    assert first.report.overall.f1 >= 0.9
    assert first.weights.covered_rules == {"soldier-left", "later"}


def test_train_refuses_one_sided_data(tmp_path: Path) -> None:
    """Only positives: a clear error, not a degenerate model."""
    ruleset = load_ruleset([write_rules(tmp_path)], default_pack=False, scorer=False)
    positives = [e for e in _examples() if e.label] * 2
    with pytest.raises(ValueError, match="both positive and negative"):
        train(ruleset, positives)


def test_calibration_moves_every_threshold_by_one_factor(tmp_path: Path) -> None:
    """Calibration posts the corpus finds hard lower the bar by one factor; none: it stays."""
    ruleset = load_ruleset([write_rules(tmp_path)], default_pack=False, scorer=False)
    plain = train(ruleset, _examples(), Options(epochs=80, folds=3))
    hard = [  # a story the corpus scores below its bar, and news far below it
        Example("h", "Рядовой в Курске", True, "awol", "ru"),
        Example("n", "Погода", False, "none", "ru"),
    ]
    calibrated = train(ruleset, _examples(), Options(epochs=80, folds=3), hard)
    factor = calibrated.weights.info["calibration"]["factor"]
    assert factor < 1
    expected = [min(t * factor, 0.99) for t in plain.weights.thresholds]
    assert list(calibrated.weights.thresholds) == pytest.approx(expected)
    assert plain.weights.info["calibration"] == {"posts": 0, "factor": 1.0}


def test_group_features_know_each_spelling_of_alternatives() -> None:
    """A group term with alternatives gives its group to every spelling the matcher names."""
    groups = {"who": ["(=двое|=трое) ~1 =военнослужащих", "$rank"], "rank": ["сержант*"]}
    found = term_groups(groups)
    assert found["=двое ~1 =военнослужащих"] == ("who",)
    assert found["=трое ~1 =военнослужащих"] == ("who",)
    assert found["сержант*"] == ("who", "rank")
