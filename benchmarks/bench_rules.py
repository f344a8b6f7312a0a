"""Benchmark the rule engine: posts per second on one core, against a naive substring loop.

Run: ``python benchmarks/bench_rules.py [--posts 2000] [--runs 5]``

Measures, in the same run and on the same generated posts:

- the default pack's rules alone and with its learned scorer (A/B in one process), on the
  generated posts and on the shipped training corpus (posts written like real channels');
- 10 / 1,000 / 10,000 generated rules (words, phrases, Cyrillic stems);
- the naive loop a keyword bot uses (``term in text.lower()`` over the same terms);
- load + compile time of 10,000 rules from TOML, and peak memory (tracemalloc).

Figures are medians of ``--runs`` timed passes after one warm-up pass (the engine caches word
forms per distinct word, as a long-running monitor does). Floors from the issue are checked at
the end: at 10,000 rules at least 30x the naive loop, 10 → 10,000 rules at most 2x slower,
loading and compiling 10,000 rules under 2 s, the pack with its scorer at least 2,000 posts/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.rules import RuleSet, load_ruleset
from monitor.rules.training import shipped_corpus


def _split(words: str) -> list[str]:
    """Return the space-separated words (keeps the word lists readable)."""
    return words.split()


SYLLABLES_RU = "ба ва га да жа за ка ла ма на па ра са та фа ха ца ча ша бо во го до ко ло мо но по ро со то ми ни ли ри ти ки ду ку лу му ну ру су ту ре ле не те ве ме ые ой ий ая ов ев ин ан ер ор ол ил ир ит"  # noqa: E501
SYLLABLES_EN = "ba be bi bo ca ce co da de di do fa fe fi ga ge go ha he hi ho la le li lo ma me mi mo na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi wa we wi ter ing ed er ly"  # noqa: E501
# Real words so that posts read like news and some generated rules fire.
NEWS_WORDS = _split(
    "военнослужащий ушёл из части сбежали госпиталя мобилизованные военкомата суд приговорил "
    "задержан контрактник розыск самовольно покинули расположение отказались выполнять приказ "
    "военний військовий втік з ТЦК розшук частини залишив позиції бійці відмовилися наказ "
    "soldiers left their unit without permission military police detained deserter court "
    "в на и по за от до о что это как the of and to in for a is was on with Минобороны "
    "заявил области района города жители новости сегодня вчера году рублей гривень people"
)


def word(rng: random.Random, syllables: list[str], low: int = 2, high: int = 4) -> str:
    """A pronounceable pseudo-word."""
    return "".join(rng.choice(syllables) for _ in range(rng.randint(low, high)))


def vocabulary(size: int, seed: int) -> list[str]:
    """Distinct pseudo-words, three in four Cyrillic."""
    rng = random.Random(seed)
    ru, en = SYLLABLES_RU.split(), SYLLABLES_EN.split()
    words: set[str] = set()
    while len(words) < size:
        words.add(word(rng, ru if len(words) % 4 else en))
    return sorted(words)


# Posts draw on one vocabulary, rules on another: like real keyword lists, most rule terms
# never occur in a given post. A few rules use post words (OVERLAP), so some posts match.
POST_WORDS = vocabulary(6_000, seed=1)
OVERLAP = 500


def make_posts(count: int, seed: int = 1) -> list[str]:
    """Posts of 25-60 words: news words (a third) and vocabulary words, and a link."""
    rng = random.Random(seed)
    posts = []
    for _ in range(count):
        words = [
            rng.choice(NEWS_WORDS) if rng.random() < 0.33 else rng.choice(POST_WORDS)
            for _ in range(rng.randint(25, 60))
        ]
        posts.append(" ".join(words).capitalize() + ". Подробнее: https://t.me/x/1")
    return posts


def make_terms(count: int, seed: int = 2) -> list[str]:
    """Terms for ``count`` rules: a third words, a third two-word phrases, a third stems*."""
    rng = random.Random(seed)
    ru, en = SYLLABLES_RU.split(), SYLLABLES_EN.split()
    terms = []
    for index in range(count):
        syllables = ru if index % 4 else en
        kind = index % 3
        if kind == 0:
            terms.append(word(rng, syllables, 3, 4))
        elif kind == 1:
            terms.append(f"{word(rng, syllables, 2, 3)} {word(rng, syllables, 2, 3)}")
        else:  # a stem of three syllables: a shorter one would match half the pseudo-words
            terms.append(word(rng, ru, 3, 3) + "*")
        if index % OVERLAP == 0:  # a few rules built on words the posts really use
            terms[-1] = rng.choice(POST_WORDS + NEWS_WORDS).lower()
    return terms


def write_rules(terms: Sequence[str], folder: Path) -> Path:
    """Write one rule per term to a TOML file and return its path."""
    lines = []
    for index, term in enumerate(terms):
        escaped = term.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'[[rules]]\nid = "gen-{index}"\ncategory = "awol"\nany = ["{escaped}"]\n')
    path = folder / f"generated_{len(terms)}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def naive_matcher(terms: Sequence[str]) -> Callable[[str], int]:
    """The keyword-bot baseline: lowercase the post, test every term as a substring."""
    needles = [term.rstrip("*").lower() for term in terms]

    def match(text: str) -> int:
        lowered = text.lower()
        return sum(1 for needle in needles if needle in lowered)

    return match


def corpus_posts(count: int) -> list[str]:
    """``count`` posts from the shipped corpus (repeated in order when it has fewer)."""
    texts = [
        json.loads(line)["text"]
        for path in shipped_corpus()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [texts[index % len(texts)] for index in range(count)]


def matches_per_post(ruleset: RuleSet, posts: Sequence[str]) -> float:
    """Mean number of rules that fire per post (the engine's work grows with it)."""
    return statistics.mean(len(ruleset.evaluate(post)) for post in posts)


def engine_matcher(ruleset: RuleSet) -> Callable[[str], int]:
    """The engine, counting matches like the baseline does."""

    def match(text: str) -> int:
        return len(ruleset.evaluate(text))

    return match


def posts_per_second(match: Callable[[str], int], posts: Sequence[str], runs: int) -> float:
    """Median posts/s over ``runs`` timed passes, after one warm-up pass."""
    for post in posts:
        match(post)
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for post in posts:
            match(post)
        rates.append(len(posts) / (time.perf_counter() - start))
    return statistics.median(rates)


def timed_load(path: Path, runs: int) -> tuple[RuleSet, float]:
    """Load and compile a rule file; return the rule set and the median seconds."""
    durations = []
    for _ in range(runs):
        start = time.perf_counter()
        load_ruleset([path], default_pack=False)
        durations.append(time.perf_counter() - start)
    return load_ruleset([path], default_pack=False), statistics.median(durations)


def peak_memory(path: Path, posts: Sequence[str]) -> float:
    """Peak traced memory (MiB) of loading the rules and evaluating every post once."""
    tracemalloc.start()
    ruleset = load_ruleset([path], default_pack=False)
    for post in posts:
        ruleset.evaluate(post)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> int:
    """Run the benchmark and print the table; exit 1 when a floor is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    posts = make_posts(args.posts)
    print(
        f"{len(posts)} posts, mean {statistics.mean(map(len, posts)):.0f} chars; "
        f"median of {args.runs} runs after a warm-up; one core"
    )
    print(
        f"{'rule set':<16}{'rules':>7}{'engine posts/s':>16}{'naive posts/s':>15}"
        f"{'engine/naive':>14}{'load+compile s':>16}{'matches/post':>14}"
    )
    pack_rate = bench_pack(posts, corpus_posts(args.posts), args.runs)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for count in (10, 1_000, 10_000):
            terms = make_terms(count)
            path = write_rules(terms, Path(folder))
            ruleset, load_seconds = timed_load(path, 3)
            rate = posts_per_second(engine_matcher(ruleset), posts, args.runs)
            naive = posts_per_second(naive_matcher(terms), posts, max(1, args.runs // 2))
            results[count] = (rate, naive, load_seconds)
            fired = matches_per_post(ruleset, posts)
            print(
                f"{'generated':<16}{count:>7}{rate:>16,.0f}{naive:>15,.0f}"
                f"{rate / naive:>13.1f}x{load_seconds:>16.3f}{fired:>14.2f}"
            )
        peak = peak_memory(path, posts[:500])
    print(f"peak memory, 10,000 rules loaded + 500 posts evaluated: {peak:.1f} MiB (tracemalloc)")
    return check_floors(results, pack_rate)


def bench_pack(posts: Sequence[str], corpus: Sequence[str], runs: int) -> float:
    """Print the default pack's rows (rules alone, then with the scorer); return the slower
    pack + scorer rate of the two post sets."""
    rules = load_ruleset(scorer=False)
    scored = load_ruleset()
    terms = [term.text.lstrip("=") for term in rules.terms if term.pattern is None]
    naive = posts_per_second(naive_matcher(terms), posts, runs)
    rates = []
    for label, ruleset in (("pack", rules), ("pack+scorer", scored)):
        for kind, sample in (("gen", posts), ("corpus", corpus)):
            rate = posts_per_second(engine_matcher(ruleset), sample, runs)
            fired = matches_per_post(ruleset, sample)
            versus = f"{naive:>15,.0f}{rate / naive:>13.1f}x" if kind == "gen" else " " * 29
            print(
                f"{label + ' ' + kind:<18}{len(rules):>5}{rate:>16,.0f}"
                f"{versus}{'':>16}{fired:>14.2f}"
            )
            if ruleset is scored:
                rates.append(rate)
    return min(rates)


def check_floors(results: dict[int, tuple[float, float, float]], pack_rate: float) -> int:
    """Print the issue's floors with their measured values; return 1 if one is missed."""
    rate_10k, naive_10k, load_10k = results[10_000]
    slowdown = results[10][0] / rate_10k
    floors = [
        (f"10,000 rules vs naive >= 30x: {rate_10k / naive_10k:.1f}x", rate_10k / naive_10k >= 30),
        (f"10 -> 10,000 rules slowdown <= 2x: {slowdown:.2f}x", slowdown <= 2),
        (f"load+compile 10,000 rules < 2 s: {load_10k:.2f} s", load_10k < 2),
        (f"pack + scorer >= 2,000 posts/s: {pack_rate:,.0f}", pack_rate >= 2_000),
    ]
    for label, ok in floors:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in floors) else 1


if __name__ == "__main__":
    sys.exit(main())
