"""``monitor rules check|test|eval`` and ``monitor classify``: rule sets from the command line.

Which rules are in effect: ``--rules FILE`` / ``--no-default-pack`` when given; else the config
file's ``[rules]`` when a config file exists; else the default pack. The learned scorer follows
the same order (``--weights FILE`` / ``--no-scorer``, else ``[rules] scorer``/``weights``, else
on with the pack). ``rules train`` lives in ``rules_train.py``. This module only parses
arguments, reads files and prints; matching and scoring live in ``monitor.rules``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.cli.base import cli, config_option, fail, handle_errors, options
from monitor.errors import ConfigError
from monitor.models import Match
from monitor.rules import RuleSet, load_ruleset
from monitor.rules.language import detect_language
from monitor.rules.matcher import Evidence
from monitor.rules.scorer import Scorer
from monitor.rules.scoring import Counts, Example, Report, score

F = TypeVar("F", bound=Callable[..., Any])
_REASONS = 8


def rule_options(func: F) -> F:
    """Add ``--rules FILE`` (repeatable), ``--no-default-pack``, ``--weights``, ``--no-scorer``."""
    func = scorer_options(func)
    func = click.option(
        "--no-default-pack",
        is_flag=True,
        help="Leave out the shipped military-discipline pack.",
    )(func)
    return click.option(
        "--rules",
        "rule_files",
        multiple=True,
        type=click.Path(path_type=Path),
        metavar="FILE",
        help="A rule file to load (repeatable); overrides the config's [rules].",
    )(func)


def scorer_options(func: F) -> F:
    """Add ``--weights FILE`` and ``--no-scorer`` to a command."""
    func = click.option(
        "--no-scorer", is_flag=True, help="The rules alone decide (no learned scorer)."
    )(func)
    return click.option(
        "--weights",
        type=click.Path(path_type=Path),
        metavar="FILE",
        help="Scorer weights from `monitor rules train`; overrides the config's [rules].",
    )(func)


def effective_ruleset(
    ctx: click.Context,
    rule_files: tuple[Path, ...],
    no_default_pack: bool,
    weights: Path | None = None,
    no_scorer: bool = False,
) -> RuleSet:
    """Load the rules in effect for a command (see the module docstring)."""
    scorer: bool | None = False if no_scorer else (True if weights else None)
    if rule_files or no_default_pack:
        return load_ruleset(
            rule_files, default_pack=not no_default_pack, scorer=scorer, weights=weights
        )
    config_path = options(ctx).config_path
    if config_path.exists():
        from monitor.config import load_config  # the config module pulls in more than rules

        settings = load_config(config_path).rules
        return load_ruleset(
            settings.files,
            default_pack=settings.default_pack,
            disabled=settings.disabled,
            scorer=settings.scorer if scorer is None else scorer,
            weights=weights or settings.weights,
        )
    return load_ruleset(scorer=scorer, weights=weights)


@cli.group()
def rules() -> None:
    """Check, try and score rule sets."""


@rules.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--no-default-pack", is_flag=True, help="Check FILES without the shipped pack.")
@click.pass_context
@handle_errors
def check(ctx: click.Context, files: tuple[Path, ...], no_default_pack: bool) -> None:
    """Validate rule files; print rule counts per category and language."""
    ruleset = effective_ruleset(ctx, files, no_default_pack)
    table = Table(title=f"{len(ruleset)} rules, version {ruleset.version}")
    table.add_column("category")
    table.add_column("rules", justify="right")
    for language in ("ru", "uk", "en"):
        table.add_column(language, justify="right")
    by_category = Counter(rule.category for rule in ruleset.rules)
    by_language = Counter(
        (rule.category, lang) for rule in ruleset.rules for lang in rule.languages
    )
    for category, count in sorted(by_category.items()):
        row = [str(by_language[(category, lang)]) for lang in ("ru", "uk", "en")]
        table.add_row(category, str(count), *row)
    _console().print(table)
    if ruleset.scorer is not None:
        weights = ruleset.scorer.weights
        posts = weights.info.get("posts", "?")
        click.echo(f"scorer: {len(weights.features)} weighted features, fitted on {posts} posts")
    click.echo("OK")


@rules.command("test")
@click.argument("text")
@click.option("--channel", default=None, help="Channel username or id, for scoped rules.")
@click.option("--tag", "tags", multiple=True, help="A channel tag, for scoped rules.")
@rule_options
@click.pass_context
@handle_errors
def test(
    ctx: click.Context,
    text: str,
    channel: str | None,
    tags: tuple[str, ...],
    rule_files: tuple[Path, ...],
    no_default_pack: bool,
    weights: Path | None,
    no_scorer: bool,
) -> None:
    """Show which rules match TEXT and the scorer's verdict, with the reasons in bold."""
    ruleset = effective_ruleset(ctx, rule_files, no_default_pack, weights, no_scorer)
    matches = ruleset.evaluate(text, channel=channel, tags=tags)
    evidence, fired = ruleset.inspect(text, channel=channel, tags=tags)
    console = _console()
    console.print(f"language: {detect_language(text)}", highlight=False)
    if ruleset.scorer is not None:
        _print_verdict(console, ruleset.scorer, evidence, fired)
    if not matches:
        outweighed = ", ".join(match.rule_id for match in fired)
        message = f"not flagged: the scorer outweighed {outweighed}" if fired else "no rule matched"
        console.print(message, highlight=False)
        return
    console.print(highlight(text, matches))
    for match in matches:
        terms = ", ".join(match.terms)
        console.print(
            f"{match.rule_id}  {match.category}  score {match.score:g}  terms: {terms}",
            highlight=False,
        )


def _print_verdict(
    console: Console, scorer: Scorer, evidence: Evidence, matches: tuple[Match, ...]
) -> None:
    """Print P(story), the category and its threshold, and the features that weighed most."""
    verdict = scorer.judge(evidence, matches)
    outcome = "flagged" if verdict.flagged else "not flagged"
    console.print(
        f"scorer: P(story) {verdict.story:.3f}, category {verdict.category} "
        f"(threshold {verdict.threshold:.3f}): {outcome}",
        highlight=False,
    )
    for reason in scorer.reasons(verdict, limit=_REASONS):
        quoted = ", ".join(repr(evidence.text.original[a:b]) for a, b in reason.spans[:2])
        console.print(f"  {reason.weight:+.3f}  {reason.feature}  {quoted}", highlight=False)


def highlight(text: str, matches: tuple[Match, ...]) -> Text:
    """Return ``text`` with every matched span in bold."""
    rich_text = Text(text)
    for match in matches:
        for start, end in match.spans:
            rich_text.stylize("bold", start, end)
    return rich_text


@rules.command("eval")
@config_option
@click.argument(
    "file", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option(
    "--feedback",
    "use_feedback",
    is_flag=True,
    help="Score on the posts judged in the configured database (with FILE: both).",
)
@rule_options
@click.pass_context
@handle_errors
def evaluate(
    ctx: click.Context,
    file: Path | None,
    use_feedback: bool,
    rule_files: tuple[Path, ...],
    no_default_pack: bool,
    weights: Path | None,
    no_scorer: bool,
) -> None:
    """Score the classifier (rules and scorer) on labelled JSON lines (id, text, label, …)
    in FILE, or on the posts people judged (--feedback): their ids read ``post:N``."""
    if file is None and not use_feedback:
        raise click.UsageError("give a FILE of labelled posts, or --feedback, or both")
    ruleset = effective_ruleset(ctx, rule_files, no_default_pack, weights, no_scorer)
    examples = list(read_examples(file)) if file is not None else []
    if file is not None and not examples:
        raise ConfigError(f"{file}: no examples to score")
    if use_feedback:
        examples += feedback_examples(ctx)
        click.echo(f"scoring {len(examples)} labelled posts")
    report = score(ruleset, examples)
    _print_report(report)


def feedback_examples(ctx: click.Context) -> list[Example]:
    """The posts judged in the configured database, as labelled examples."""
    from monitor.cli.context import load_cli_config
    from monitor.cli.feedback_commands import stored_examples

    return stored_examples(load_cli_config(ctx))


def read_examples(path: Path) -> Iterator[Example]:
    """Read labelled examples; a bad line is a usage error naming its number."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield Example.from_json(json.loads(line))
            except (ValueError, AttributeError) as error:
                raise ConfigError(f"{path}:{number}: {error}") from None


def _print_report(report: Report) -> None:
    """Print the overall, per-language and per-category tables and the error ids."""
    console = _console()
    overall = report.overall
    precision, recall, f1 = _ratios(overall)
    console.print(
        f"overall: precision {precision}  recall {recall}  F1 {f1}  "
        f"(TP {overall.tp}, FP {overall.fp}, FN {overall.fn}, TN {overall.tn})",
        highlight=False,
    )
    console.print(_counts_table("language", report.by_language))

    def flagged(category: str) -> str:
        seen, hit = report.flagged_in_category.get(category, (0, 0))
        return f"{hit}/{seen}"

    console.print(_counts_table("category", report.by_category, flagged))
    positives = " ".join(report.false_positives)
    negatives = " ".join(report.false_negatives)
    console.print(f"false positives ({len(report.false_positives)}): {positives}", highlight=False)
    console.print(f"false negatives ({len(report.false_negatives)}): {negatives}", highlight=False)
    wrong = " ".join(f"{i}({want}→{got})" for i, want, got in report.wrong_category)
    console.print(f"wrong category ({len(report.wrong_category)}): {wrong}", highlight=False)


def _counts_table(
    title: str, rows: dict[str, Counts], flagged: Callable[[str], str] | None = None
) -> Table:
    """Return a precision/recall/F1 table, one row per key, with an optional flagged column."""
    table = Table(title=f"by {title}")
    table.add_column(title)
    for name in ("precision", "recall", "F1", "TP", "FP", "FN"):
        table.add_column(name, justify="right")
    if flagged is not None:
        table.add_column("flagged", justify="right")
    for key, counts in sorted(rows.items()):
        cells = list(_ratios(counts))
        cells += [str(counts.tp), str(counts.fp), str(counts.fn)]
        if flagged is not None:
            cells.append(flagged(key))
        table.add_row(key, *cells)
    return table


def _ratios(counts: Counts) -> tuple[str, str, str]:
    """Precision, recall and F1 as text; a ratio with nothing to count says so, not 1.000."""
    flagged, positive = counts.tp + counts.fp, counts.tp + counts.fn
    if not flagged and not positive:
        return ("no examples",) * 3 if not counts.tn else ("no positives",) * 3
    precision = f"{counts.precision:.3f}" if flagged else "none flagged"
    recall = f"{counts.recall:.3f}" if positive else "no positives"
    f1 = f"{counts.f1:.3f}" if flagged and positive else "-"
    return precision, recall, f1


@cli.command("classify")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@rule_options
@click.pass_context
@handle_errors
def classify(
    ctx: click.Context,
    file: TextIO,
    rule_files: tuple[Path, ...],
    no_default_pack: bool,
    weights: Path | None,
    no_scorer: bool,
) -> None:
    """Classify JSON lines (id, text) from FILE or - (stdin): one JSON line out per line in."""
    ruleset = effective_ruleset(ctx, rule_files, no_default_pack, weights, no_scorer)
    read = invalid = 0
    for number, line in enumerate(file, start=1):
        if line.strip():
            result = classify_line(ruleset, line, number)
            read, invalid = read + 1, invalid + ("error" in result)
            click.echo(json.dumps(result, ensure_ascii=False))
    if read == 0 or invalid == read:  # nothing classified must not look like success
        fail(f"{file.name}: {'no input lines' if read == 0 else 'no valid line'} to classify", 1)
    if invalid:
        click.echo(f"{file.name}: {invalid} of {read} lines invalid (see their 'error')", err=True)


def classify_line(ruleset: RuleSet, line: str, number: int) -> dict[str, Any]:
    """Return the output object for one input line (an error object when it is malformed)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        return {"line": number, "error": f"line {number}: not JSON: {error.msg}"}
    if not isinstance(data, dict) or not isinstance(data.get("text"), str) or "id" not in data:
        return {"line": number, "id": _id(data), "error": f"line {number}: needs 'id' and 'text'"}
    matches = ruleset.evaluate(data["text"])
    spans = sorted({span for match in matches for span in match.spans})
    return {
        "id": data["id"],
        "flagged": bool(matches),
        "category": matches[0].category if matches else None,
        "rules": [match.rule_id for match in matches],
        "spans": [list(span) for span in spans],
    }


def _id(data: Any) -> Any:
    """Return the id of a parsed line when it has one."""
    return data.get("id") if isinstance(data, dict) else None


def _console() -> Console:
    """A console on stdout that never wraps lines (output is read by scripts too)."""
    return Console(file=sys.stdout, soft_wrap=True)
