"""``monitor rules check|test|eval`` and ``monitor classify``, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import invoke

GOOD = '[[rules]]\nid = "mine"\ncategory = "awol"\nany = ["=СОЧ"]\n'


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder, so no ./monitor.toml is picked up."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)


def test_check_default_pack() -> None:
    """`rules check` validates the default pack and prints counts per category."""
    result = invoke(["rules", "check"])
    assert result.code == 0, result.stderr
    for category in ("awol", "desertion", "escape", "mutiny", "hazing", "crime"):
        assert category in result.stdout
    assert "weighted features, fitted on" in result.stdout
    assert "OK" in result.stdout


def test_check_broken_file_exits_2(tmp_path: Path) -> None:
    """A broken rule file prints `file: rule id: problem` and exits 2, without a traceback."""
    path = tmp_path / "bad.toml"
    path.write_text('[[rules]]\nid = "r"\ncategory = "awol"\nregex = ["("]\n', encoding="utf-8")
    result = invoke(["rules", "check", str(path)])
    assert result.code == 2
    assert f"{path}: r: regex: bad regex" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_user_file_alone(tmp_path: Path) -> None:
    """`--no-default-pack` checks only the given files."""
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    result = invoke(["rules", "check", "--no-default-pack", str(path)])
    assert result.code == 0, result.stderr
    assert "1 rules" in result.stdout


def test_test_shows_rules_and_terms() -> None:
    """`rules test` names the matching rules and terms."""
    result = invoke(["rules", "test", "Військовий втік з ТЦК, його розшукують"])
    assert result.code == 0, result.stderr
    assert "escape-holding" in result.stdout
    assert "втік" in result.stdout


def test_test_no_match() -> None:
    """`rules test` says when nothing matched."""
    result = invoke(["rules", "test", "В Сочи солнечно"])
    assert result.code == 0
    assert "no rule matched" in result.stdout


def test_test_with_rules_file(tmp_path: Path) -> None:
    """`--rules FILE` tries a file without a config."""
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    result = invoke(["rules", "test", "--no-default-pack", "--rules", str(path), "ушёл в СОЧ"])
    assert "mine" in result.stdout


def test_highlight_bolds_spans() -> None:
    """Matched words are bold in the rendered text."""
    from monitor.cli.rules import highlight
    from monitor.rules import load_ruleset

    text = "Дезертира задержали в Туле"
    styled = highlight(text, load_ruleset().evaluate(text))
    bold = [text[span.start : span.end] for span in styled.spans if span.style == "bold"]
    assert "Дезертира" in bold


def test_eval_prints_scores_and_ids(tmp_path: Path) -> None:
    """`rules eval` prints overall, per-language and per-category scores and FP/FN ids."""
    path = tmp_path / "set.jsonl"
    rows = [
        {
            "id": "a",
            "lang": "ru",
            "text": "Дезертира задержали",
            "label": True,
            "category": "desertion",
        },
        {"id": "b", "lang": "ru", "text": "Сочи ждёт туристов", "label": False, "category": "none"},
        {"id": "c", "lang": "en", "text": "Nothing here", "label": True, "category": "awol"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = invoke(["rules", "eval", str(path)])
    assert result.code == 0, result.stderr
    assert "precision 1.000" in result.stdout
    assert "by language" in result.stdout
    assert "by category" in result.stdout
    assert "false negatives (1): c" in result.stdout


def test_eval_bad_line_exits_2(tmp_path: Path) -> None:
    """A malformed labelled line is reported with its number."""
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n', encoding="utf-8")
    result = invoke(["rules", "eval", str(path)])
    assert result.code == 2
    assert f"{path}:1:" in result.stderr


def test_classify_stdin_keeps_order_and_survives_bad_lines() -> None:
    """`classify -` prints one JSON line per input line, errors included, in order."""
    lines = [
        json.dumps({"id": 1, "text": "Двое солдат сбежали из госпиталя, их ищут", "x": 0}),
        "not json",
        json.dumps({"id": 3}),
        json.dumps({"id": 4, "text": "Отдых в Сочи"}),
    ]
    result = invoke(["classify", "-"], input="\n".join(lines) + "\n")
    assert result.code == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == [1, None, 3, 4]
    assert out[0]["flagged"]
    assert out[0]["category"] == "escape"
    assert out[0]["spans"]
    assert "line 2" in out[1]["error"]
    assert "line 3" in out[2]["error"]
    assert out[3] == {"id": 4, "flagged": False, "category": None, "rules": [], "spans": []}


def test_config_rules_are_used(tmp_path: Path) -> None:
    """With a config file, its [rules] decide the rule set (here: only the user's file)."""
    rules = tmp_path / "mine.toml"
    rules.write_text(GOOD, encoding="utf-8")
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    text = example.read_text(encoding="utf-8")
    text = text.replace("default_pack = true", "default_pack = false")
    text = text.replace("files = []", f"files = [{json.dumps(str(rules))}]", 1)
    config = tmp_path / "monitor.toml"
    config.write_text(text, encoding="utf-8")
    secrets = {
        "MONITOR_TELEGRAM_API_HASH": "0123456789abcdef",
        "MONITOR_ALERTS_NEWSROOM_BOT_TOKEN": "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    }
    result = invoke(["--config", str(config), "rules", "check"], env=secrets)
    assert result.code == 0, result.stderr
    assert "1 rules" in result.stdout


LABELLED = [
    ("Рядовой пропал из части, его ищет комендатура", True, "awol"),
    ("Солдат сбежал ночью и не вернулся в часть", True, "awol"),
    ("Военнослужащий ушел из расположения и пропал", True, "awol"),
    ("В Курске открыли новый парк для горожан", False, "none"),
    ("Погода в Москве: дожди до конца недели", False, "none"),
    ("Цены на хлеб выросли на пять процентов", False, "none"),
]


def write_labelled(path: Path, copies: int = 3) -> Path:
    """A small labelled JSONL file in the dev set's format."""
    rows = [
        {"id": f"{n}-{i}", "lang": "ru", "text": f"{text} ({i})", "label": label, "category": cat}
        for i in range(copies)
        for n, (text, label, cat) in enumerate(LABELLED)
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


def test_train_writes_weights_that_eval_and_test_use(tmp_path: Path) -> None:
    """`rules train FILE --out W` prints cross-validated scores; eval and test take `--weights`."""
    labelled = write_labelled(tmp_path / "mine.jsonl")
    out = tmp_path / "weights.json"
    result = invoke(
        ["rules", "train", "--no-corpus", "--folds", "3", str(labelled), "--out", str(out)]
    )
    assert result.code == 0, result.stderr
    assert "18 labelled posts from 1 files; cross-validated:" in result.stdout
    assert "thresholds: awol" in result.stdout
    calibrated = tmp_path / "calibrated.json"
    args = ["rules", "train", "--no-corpus", "--folds", "3", str(labelled)]
    result = invoke([*args, "--calibrate", str(labelled), "--out", str(calibrated)])
    assert result.code == 0, result.stderr
    assert "calibrated on 18 posts: thresholds x" in result.stdout
    assert json.loads(out.read_text(encoding="utf-8"))["info"]["posts"] == 18
    result = invoke(["rules", "eval", str(labelled), "--weights", str(out)])
    assert result.code == 0, result.stderr
    assert "overall: precision 1.000  recall 1.000" in result.stdout
    result = invoke(["rules", "test", "--weights", str(out), "Рядовой пропал, ищет комендатура"])
    assert result.code == 0, result.stderr
    assert "scorer: P(story)" in result.stdout
    assert "flagged" in result.stdout
    assert "scorer  awol  score" in result.stdout


def test_test_shows_the_scorer_reasons() -> None:
    """With the default pack, `rules test` prints P(story), the threshold and weighed features."""
    result = invoke(["rules", "test", "Військовий втік з ТЦК, його розшукують"])
    assert result.code == 0, result.stderr
    assert "scorer: P(story)" in result.stdout
    assert "(threshold " in result.stdout
    weighed = [line.split() for line in result.stdout.splitlines() if line.startswith("  +")]
    assert weighed, result.stdout
    assert all(float(line[0]) > 0 for line in weighed)


def test_train_factor_scales_the_fitted_thresholds(tmp_path: Path) -> None:
    """`--factor F` multiplies every fitted threshold by F (the fit is deterministic), so a
    factor chosen on posts that cannot be shipped is reproducible from the command line."""
    labelled = write_labelled(tmp_path / "mine.jsonl")
    args = ["rules", "train", "--no-corpus", "--folds", "3", str(labelled)]
    plain, halved = tmp_path / "plain.json", tmp_path / "halved.json"
    assert invoke([*args, "--out", str(plain)]).code == 0
    result = invoke([*args, "--factor", "0.5", "--out", str(halved)])
    assert result.code == 0, result.stderr
    assert "thresholds x0.5, as given" in result.stdout
    before = json.loads(plain.read_text(encoding="utf-8"))
    after = json.loads(halved.read_text(encoding="utf-8"))
    pairs = zip(after["thresholds"], before["thresholds"], strict=True)
    assert all(abs(a - b * 0.5) <= 0.001 for a, b in pairs)  # both rounded to 3 places
    assert after["info"]["calibration"] == {"posts": 0, "factor": 0.5}
    assert after["features"] == before["features"]


def test_train_factor_and_calibrate_together_exit_2(tmp_path: Path) -> None:
    """A factor given and one to be calibrated contradict each other: one line, status 2."""
    labelled = write_labelled(tmp_path / "mine.jsonl")
    args = ["rules", "train", "--no-corpus", "--folds", "3", str(labelled), "--factor", "0.5"]
    result = invoke([*args, "--calibrate", str(labelled), "--out", str(tmp_path / "w.json")])
    assert result.code == 2
    assert "rules train: give either calibration posts or a threshold factor" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "w.json").exists()


def test_train_without_posts_exits_2(tmp_path: Path) -> None:
    """Too little to learn from is a one-line usage error, without a traceback."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = invoke(["rules", "train", "--no-corpus", str(empty), "--out", str(tmp_path / "w")])
    assert result.code == 2
    assert "rules train: too few labelled posts" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_weights_file_exits_2(tmp_path: Path) -> None:
    """A weights file that is not one names the file and the fix."""
    bad = tmp_path / "w.json"
    bad.write_text("[]", encoding="utf-8")
    result = invoke(["rules", "test", "--weights", str(bad), "Рядовой пропал"])
    assert result.code == 2
    assert f"{bad}: not a scorer weights file" in result.stderr
    assert "monitor rules train" in result.stderr


def test_config_weights_key_is_used(tmp_path: Path) -> None:
    """`[rules] weights` (relative to the config file) points the scorer at a trained file."""
    labelled = write_labelled(tmp_path / "mine.jsonl")
    trained = invoke(
        [
            "rules",
            "train",
            "--no-corpus",
            "--folds",
            "3",
            str(labelled),
            "--out",
            str(tmp_path / "w.json"),
        ]
    )
    assert trained.code == 0, trained.stderr
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    text = example.read_text(encoding="utf-8").replace(
        '# weights = "weights.json"', 'weights = "w.json"'
    )
    config = tmp_path / "monitor.toml"
    config.write_text(text, encoding="utf-8")
    secrets = {
        "MONITOR_TELEGRAM_API_HASH": "0123456789abcdef",
        "MONITOR_ALERTS_NEWSROOM_BOT_TOKEN": "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    }
    result = invoke(["--config", str(config), "rules", "eval", str(labelled)], env=secrets)
    assert result.code == 0, result.stderr
    assert "overall: precision 1.000  recall 1.000" in result.stdout
    config.write_text(
        text.replace('weights = "w.json"', 'weights = "absent.json"'), encoding="utf-8"
    )
    result = invoke(["--config", str(config), "rules", "eval", str(labelled)], env=secrets)
    assert result.code == 2
    assert "absent.json: cannot read" in result.stderr


@pytest.mark.parametrize(
    ("text", "said"),
    [
        pytest.param("not json\n" + json.dumps({"id": 2}) + "\n", "no valid line", id="all-bad"),
        pytest.param("", "no input lines", id="empty"),
        pytest.param("\n\n", "no input lines", id="blank-lines"),
    ],
)
def test_classify_with_nothing_classified_fails(text: str, said: str) -> None:
    """`classify` with no valid input line says so and exits 1 (it used to exit 0)."""
    result = invoke(["classify", "-"], input=text)
    assert result.code == 1
    assert f"<stdin>: {said} to classify" in result.stderr


def test_classify_counts_invalid_lines_on_stderr() -> None:
    """Some invalid lines: the valid ones are classified (status 0) and the count is said."""
    lines = [json.dumps({"id": 1, "text": "Отдых в Сочи"}), "not json"]
    result = invoke(["classify", "-"], input="\n".join(lines) + "\n")
    assert result.code == 0
    assert "1 of 2 lines invalid" in result.stderr


def test_eval_says_when_a_ratio_has_nothing_to_count(tmp_path: Path) -> None:
    """A language with no positive example shows "no positives", not precision 1.000."""
    path = tmp_path / "set.jsonl"
    rows = [
        {
            "id": "a",
            "lang": "ru",
            "text": "Дезертира задержали",
            "label": True,
            "category": "desertion",
        },
        {"id": "b", "lang": "en", "text": "Sunny in Sochi", "label": False, "category": "none"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = invoke(["rules", "eval", str(path)])
    assert result.code == 0, result.stderr
    english = next(line for line in result.stdout.splitlines() if "│ en" in line)
    assert "no positives" in english
    assert "1.000" not in english


def test_eval_without_examples_exits_2(tmp_path: Path) -> None:
    """An empty labelled file is an error, not a report of perfect scores."""
    path = tmp_path / "set.jsonl"
    path.write_text("\n", encoding="utf-8")
    result = invoke(["rules", "eval", str(path)])
    assert result.code == 2
    assert f"{path}: no examples to score" in result.stderr
