"""``monitor rules train``: refit the scorer's weights on the shipped corpus and your posts.

The features come from the rules in effect (``--rules`` / ``--no-default-pack``, else the
config's ``[rules]``), so rules of your own are learned along with the pack's. This module only
parses arguments, reads and writes files and prints; fitting lives in ``monitor.rules.training``.
"""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.base import config_option, handle_errors
from monitor.cli.rules import (
    _print_report,
    effective_ruleset,
    feedback_examples,
    read_examples,
    rules,
)
from monitor.errors import ConfigError, MonitorError
from monitor.rules.scorer import dump_weights
from monitor.rules.training import CORPUS, Options, shipped_corpus, train


@rules.command("train")
@config_option
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    metavar="FILE",
    help="Where to write the weights (point [rules] weights at it).",
)
@click.option("--no-corpus", is_flag=True, help=f"Leave out the shipped corpus ({CORPUS.name}/).")
@click.option(
    "--folds",
    type=click.IntRange(2, 20),
    default=5,
    show_default=True,
    help="Cross-validation folds: models fitted to score each post without it.",
)
@click.option(
    "--calibrate",
    "calibration_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    metavar="FILE",
    help="Labelled posts from the real stream (not trained on) that set the thresholds' level.",
)
@click.option(
    "--factor",
    type=click.FloatRange(0.1, 2.0),
    metavar="F",
    help="Multiply every threshold by F instead of calibrating (0.1-2; below 1 flags more).",
)
@click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="A rule file whose rules become features (repeatable); overrides the config's [rules].",
)
@click.option("--no-default-pack", is_flag=True, help="Leave out the shipped pack's rules.")
@click.option(
    "--feedback",
    "use_feedback",
    is_flag=True,
    help="Train on the posts judged in the configured database too.",
)
@click.pass_context
@handle_errors
def train_command(
    ctx: click.Context,
    files: tuple[Path, ...],
    out: Path,
    no_corpus: bool,
    folds: int,
    calibration_file: Path | None,
    factor: float | None,
    rule_files: tuple[Path, ...],
    no_default_pack: bool,
    use_feedback: bool,
) -> None:
    """Fit the scorer on labelled JSON lines (FILES, plus the shipped corpus); write --out.

    Prints the cross-validated scores (each post scored by a model fitted without it) and
    the thresholds chosen, then writes the weights file.
    """
    ruleset = effective_ruleset(ctx, rule_files, no_default_pack, no_scorer=True)
    sources = [*([] if no_corpus else shipped_corpus()), *files]
    examples = [example for path in sources for example in read_examples(path)]
    judged = feedback_examples(ctx) if use_feedback else []
    examples += judged
    calibration = list(read_examples(calibration_file)) if calibration_file else []
    try:
        trained = train(ruleset, examples, Options(folds=folds), calibration, factor)
    except ValueError as error:
        raise ConfigError(f"rules train: {error}") from None
    except RuntimeError as error:  # numpy missing
        raise MonitorError(str(error)) from None
    stored = f" and {len(judged)} judged in the database" if use_feedback else ""
    click.echo(
        f"{len(examples)} labelled posts from {len(sources)} files{stored}; cross-validated:"
    )
    _print_report(trained.report)
    thresholds = dict(zip(trained.weights.categories, trained.weights.thresholds, strict=True))
    if calibration:
        factor = trained.weights.info["calibration"]["factor"]
        click.echo(f"calibrated on {len(calibration)} posts: thresholds x{factor:g}")
    elif factor is not None:
        click.echo(f"thresholds x{factor:g}, as given")
    click.echo("thresholds: " + ", ".join(f"{k} {v:.3f}" for k, v in thresholds.items()))
    try:
        out.write_text(dump_weights(trained.weights), encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{out}: cannot write: {error.strerror or error}") from None
    features = len(trained.weights.features)
    click.echo(f'wrote {out} ({features} features); use it with [rules] weights = "{out}"')
