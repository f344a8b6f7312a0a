"""The engine: term kinds, conditions, scope, ordering and spans, on small invented rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.rules import RuleSet, load_ruleset


def ruleset_from(tmp_path: Path, body: str) -> RuleSet:
    """Write a rule file with ``body`` and load it without the default pack."""
    path = tmp_path / "rules.toml"
    path.write_text(body, encoding="utf-8")
    return load_ruleset([path], default_pack=False)


def one_rule(tmp_path: Path, conditions: str) -> RuleSet:
    """A rule set of one rule ``r`` (category awol) with the given condition lines."""
    return ruleset_from(tmp_path, f'[[rules]]\nid = "r"\ncategory = "awol"\n{conditions}\n')


TERM_CASES = [
    # words: every inflection, per language
    pytest.param('any = ["дезертир"]', "Задержаны двое дезертиров", True, id="ru-word-genitive"),
    pytest.param('any = ["дезертир"]', "Он дезертировал в мае", True, id="ru-word-verb"),
    pytest.param('any = ["сбежать"]', "Солдаты сбежали ночью", True, id="ru-word-past"),
    pytest.param('any = ["втік"]', "Двоє військових втекли", True, id="uk-word-alternation"),
    pytest.param('any = ["військовий"]', "Вiйськові частини", True, id="uk-word-homoglyph"),
    pytest.param('any = ["desert"]', "Two soldiers deserted", True, id="en-word-past"),
    pytest.param('any = ["deserter"]', "Deserters were caught", True, id="en-word-plural"),
    pytest.param('any = ["desert"]', "A lemon dessert", False, id="en-word-not-dessert"),
    # phrases: each word inflected, in order, adjacent
    pytest.param(
        'any = ["самовольное оставление части"]',
        "за самовольное оставление части",
        True,
        id="phrase",
    ),
    pytest.param(
        'any = ["самовольное оставление части"]',
        "самовольного оставления частей",
        True,
        id="phrase-inflected",
    ),
    pytest.param('any = ["оставление части"]', "части оставление", False, id="phrase-needs-order"),
    # prefixes and exact tokens
    pytest.param('any = ["самовол*"]', "ушёл в самоволку", True, id="prefix"),
    pytest.param('any = ["самовол*"]', "в само вольную", False, id="prefix-whole-token"),
    pytest.param('any = ["=СОЧ"]', "ушёл в СОЧ", True, id="exact"),
    pytest.param('any = ["=СОЧ"]', "отдых в Сочи", False, id="exact-not-sochi"),
    pytest.param('any = ["=СОЧ"]', "полн. собр. соч.", False, id="exact-keeps-case"),
    pytest.param('any = ["=СОЧ"]', "ушёл в CОЧ", True, id="exact-homoglyph"),
    pytest.param('any = ["=СОЧ"]', "#СОЧ", True, id="exact-hashtag"),
    pytest.param('any = ["=AWOL"]', "went AWOL", True, id="exact-latin"),
    pytest.param('any = ["=залишив"]', "Залишив частину", True, id="form-any-case"),
    pytest.param('any = ["=залишив"]', "залишився вдома", False, id="form-not-inflected"),
    pytest.param(
        'any = ["покинул* расположени*"]', "покинули расположение", True, id="prefix-phrase"
    ),
    # gaps: up to N words of any kind between two words of a phrase, none required
    pytest.param('any = ["из ~2 госпитал*"]', "сбежал из госпиталя", True, id="gap-none-used"),
    pytest.param(
        'any = ["из ~2 госпитал*"]', "из окружного военного госпиталя", True, id="gap-two-words"
    ),
    pytest.param(
        'any = ["из ~2 госпитал*"]',
        "из одного, второго и третьего госпиталей",
        False,
        id="gap-too-wide",
    ),
    pytest.param('any = ["из ~2 госпитал*"]', "госпиталь, из которого", False, id="gap-in-order"),
    pytest.param(
        'any = ["=двое ~ =военнослужащих"]', "двое бывших военнослужащих", True, id="gap-exact"
    ),
    pytest.param('any = ["=двое ~ =военнослужащих"]', "двоих военнослужащих", False, id="gap-form"),
    pytest.param(
        'any = ["самовольн* ~3 оставлени* част*"]',
        "самовольное, по данным следствия, оставление части",
        True,
        id="gap-then-phrase",
    ),
    pytest.param('any = ["went ~2 from ~1 unit"]', "went AWOL from his unit", True, id="gap-twice"),
    # alternatives: each spelling they make, of any kind of term
    pytest.param(
        'any = ["(=двое|=трое) ~1 =военнослужащих"]',
        "трое бывших военнослужащих",
        True,
        id="alternatives-with-gap",
    ),
    pytest.param(
        'any = ["(=двое|=трое) =военнослужащих"]', "пятеро военнослужащих", False, id="alt-only"
    ),
    pytest.param('any = ["(гор|рай|)военкомат*"]', "у райвоенкомата", True, id="alt-in-word"),
    pytest.param('any = ["(гор|рай|)военкомат*"]', "у военкомата", True, id="alt-empty"),
    pytest.param('any = ["(гор|рай|)военкомат*"]', "у облвоенкомата", False, id="alt-not-other"),
    pytest.param(
        'any = ["в (грузию|армению) через ~1 границ*"]',
        "уехал в Армению через казахстанскую границу",
        True,
        id="alternatives-in-phrase",
    ),
    # regexes
    pytest.param(r"regex = ['ст\.?\s*337']", "по ст. 337 УК", True, id="regex"),
    pytest.param(r"regex = ['ст\.?\s*337']", "https://x.ru/ст337", False, id="regex-not-in-url"),
    # words are not matched inside URLs or mentions
    pytest.param('any = ["дезертир"]', "@dezertir t.me/dezertir", False, id="no-url-latin"),
    pytest.param('any = ["дезертиры"]', "https://дезертиры.рф/", False, id="no-url-cyrillic"),
]


@pytest.mark.parametrize(("conditions", "text", "fires"), TERM_CASES)
def test_term_kinds(tmp_path: Path, conditions: str, text: str, fires: bool) -> None:
    """Each kind of term matches the forms it promises and nothing else."""
    assert bool(one_rule(tmp_path, conditions).evaluate(text)) is fires


CONDITION_CASES = [
    # scope: near is local (act and place), anywhere is post-wide (who, said sentences away)
    pytest.param(
        'near = [{ a = ["сбежать"], b = ["госпиталь"], within = 3 }]\nanywhere = [["солдат"]]',
        "Солдат 41-й бригады лечился в Курске. Ночью он сбежал из госпиталя.",
        True,
        id="anywhere-another-sentence",
    ),
    pytest.param(
        'near = [{ a = ["сбежать"], b = ["госпиталь"], within = 3 }]\nanywhere = [["солдат"]]',
        "Ночью пациент сбежал из госпиталя.",
        False,
        id="anywhere-required",
    ),
    pytest.param(
        'near = [{ a = ["сбежать"], b = ["госпиталь"], within = 3 }]\nanywhere = [["солдат"]]',
        "Солдат лечился в госпитале. Ночью из колонии сбежал заключённый.",
        False,
        id="near-stays-local",
    ),
    pytest.param('all = [["солдат"], ["сбежать"]]', "Солдат сбежал", True, id="all-both"),
    pytest.param('all = [["солдат"], ["сбежать"]]', "Солдат вернулся", False, id="all-one"),
    pytest.param(
        'any = ["сбежать"]\nnot = ["зоопарк"]', "Енот сбежал из зоопарка", False, id="not"
    ),
    pytest.param(
        'near = [{ a = ["сбежать"], b = ["госпиталь"], within = 2 }]',
        "из госпиталя сбежали двое",
        True,
        id="near-either-order",
    ),
    pytest.param(
        'near = [{ a = ["сбежать"], b = ["госпиталь"], within = 2 }]',
        "сбежали вчера вечером после обеда из госпиталя",
        False,
        id="near-too-far",
    ),
    pytest.param(
        'near = [{ a = ["покинуть"], b = ["часть"], within = 3, ordered = true }]',
        "большая часть жителей покинула город",
        False,
        id="near-ordered",
    ),
    pytest.param(
        'near = [{ a = ["часть"], b = ["часть"], within = 3 }]',
        "одна часть",
        False,
        id="near-not-same-token",
    ),
    pytest.param(
        'any = ["дезертир*"]\nnot_near = [{ a = ["дезертир*"], b = ["назвал"], within = 3 }]',
        "Депутат назвал коллег дезертирами",
        False,
        id="not-near-excludes",
    ),
    pytest.param(
        'any = ["дезертир*"]\nnot_near = [{ a = ["дезертир*"], b = ["назвал"], within = 3 }]',
        "Дезертира задержали. Позже суд назвал дату процесса по делу",
        True,
        id="not-near-far-away",
    ),
]


@pytest.mark.parametrize(("conditions", "text", "fires"), CONDITION_CASES)
def test_conditions(tmp_path: Path, conditions: str, text: str, fires: bool) -> None:
    """any/all/not/near/not_near combine as documented."""
    assert bool(one_rule(tmp_path, conditions).evaluate(text)) is fires


def test_groups_expand(tmp_path: Path) -> None:
    """A $group in a rule stands for the group's terms."""
    ruleset = ruleset_from(
        tmp_path,
        '[groups]\nleave = ["сбежать", "$more"]\nmore = ["покинуть"]\n'
        '[[rules]]\nid = "r"\ncategory = "escape"\nany = ["$leave"]\n',
    )
    assert ruleset.evaluate("они покинули госпиталь")


def test_rules_spelling_a_term_alike_all_see_it(tmp_path: Path) -> None:
    """Terms rules spell alike (in rules of other languages) are looked for once, seen by all."""
    shared = 'any = ["солдат", "самовольное оставление части", "/соч$/"]\nnot = ["учения"]\n'
    ruleset = ruleset_from(
        tmp_path,
        "".join(
            f'[[rules]]\nid = "r{i}"\ncategory = "awol"\nscore = 0.{i}\n'
            f"languages = {languages}\n{shared}"
            for i, languages in ((1, '["ru"]'), (2, '["ru", "uk"]'), (3, '["en", "ru"]'))
        ),
    )
    text = "Солдата судят за самовольное оставление части, соч"
    matches = ruleset.evaluate(text)
    assert [m.rule_id for m in matches] == ["r3", "r2", "r1"]
    for match in matches:
        assert [text[start:end] for start, end in match.spans] == [
            "Солдата",
            "самовольное оставление части",
            "соч",
        ]
    assert ruleset.evaluate("солдат на учениях") == ()


def test_phrases_sharing_their_first_words(tmp_path: Path) -> None:
    """Phrases that start alike are told apart by the words after: each matches its own."""
    ruleset = ruleset_from(
        tmp_path,
        '[[rules]]\nid = "part"\ncategory = "awol"\nany = ["покинул* воинск* част*"]\n'
        '[[rules]]\nid = "post"\ncategory = "awol"\nany = ["покинул* воинск* пост*"]\n'
        '[[rules]]\nid = "two"\ncategory = "awol"\nany = ["покинул* воинск*"]\n',
    )
    assert {m.rule_id for m in ruleset.evaluate("он покинул воинскую часть")} == {"part", "two"}
    assert {m.rule_id for m in ruleset.evaluate("покинули воинский пост")} == {"post", "two"}
    assert ruleset.evaluate("покинул часть воинскую") == ()


def test_match_records_terms_and_spans(tmp_path: Path) -> None:
    """A match carries its rule, category, score, terms and spans in the original text."""
    ruleset = ruleset_from(
        tmp_path,
        '[[rules]]\nid = "r"\ncategory = "desertion"\nscore = 0.7\n'
        'near = [{ a = ["дезертир"], b = ["задержать"] }]\n',
    )
    text = "В Туле ЗАДЕРЖАН дезер\u200bтир"
    (match,) = ruleset.evaluate(text)
    assert (match.rule_id, match.category, match.score) == ("r", "desertion", 0.7)
    assert match.terms == ("задержать", "дезертир")
    assert [text[start:end] for start, end in match.spans] == ["ЗАДЕРЖАН", "дезер\u200bтир"]


def test_matches_best_first(tmp_path: Path) -> None:
    """Matches come best score first, rule order breaking ties."""
    ruleset = ruleset_from(
        tmp_path,
        '[[rules]]\nid = "low"\ncategory = "crime"\nscore = 0.3\nany = ["солдат"]\n'
        '[[rules]]\nid = "high"\ncategory = "awol"\nscore = 0.9\nany = ["=СОЧ"]\n'
        '[[rules]]\nid = "tie"\ncategory = "awol"\nscore = 0.9\nany = ["солдат"]\n',
    )
    assert [m.rule_id for m in ruleset.evaluate("солдат ушёл в СОЧ")] == ["high", "tie", "low"]


SCOPE = (
    '[[rules]]\nid = "scoped"\ncategory = "awol"\nany = ["=СОЧ"]\n'
    'channels = ["@Example_News", "1234"]\ntags = ["ru"]\n'
)
SCOPE_CASES = [
    pytest.param(None, (), False, id="no-channel"),
    pytest.param("example_news", (), True, id="listed-username"),
    pytest.param("@EXAMPLE_NEWS", (), True, id="username-any-case"),
    pytest.param("1234", (), True, id="listed-id"),
    pytest.param("other", ("RU",), True, id="shared-tag"),
    pytest.param("other", ("uk",), False, id="other-tag"),
]


@pytest.mark.parametrize(("channel", "tags", "fires"), SCOPE_CASES)
def test_scope(tmp_path: Path, channel: str | None, tags: tuple[str, ...], fires: bool) -> None:
    """A scoped rule fires only for its channels or channels with its tags."""
    ruleset = ruleset_from(tmp_path, SCOPE)
    assert bool(ruleset.evaluate("ушёл в СОЧ", channel=channel, tags=tags)) is fires


def test_version_is_stable_and_content_bound(tmp_path: Path) -> None:
    """The version is the same for the same rules and changes with their content."""
    body = '[[rules]]\nid = "r"\ncategory = "awol"\nany = ["=СОЧ"]\n'
    first = ruleset_from(tmp_path, body).version
    assert ruleset_from(tmp_path, body).version == first
    assert ruleset_from(tmp_path, body.replace("СОЧ", "СЗЧ")).version != first


def test_disabled_rules_are_left_out(tmp_path: Path) -> None:
    """A disabled id is not evaluated."""
    path = tmp_path / "r.toml"
    path.write_text('[[rules]]\nid = "r"\ncategory = "awol"\nany = ["=СОЧ"]\n', encoding="utf-8")
    ruleset = load_ruleset([path], default_pack=False, disabled=["r"])
    assert not ruleset.evaluate("СОЧ")
    assert len(ruleset) == 0


def test_default_pack_loads() -> None:
    """The shipped pack loads and has rules in every category and language."""
    ruleset = load_ruleset()
    assert {rule.category for rule in ruleset.rules} == {
        "awol",
        "desertion",
        "escape",
        "mutiny",
        "hazing",
        "crime",
    }
    assert {lang for rule in ruleset.rules for lang in rule.languages} == {"ru", "uk", "en"}


def test_c_stemmer_gives_the_pure_python_stems() -> None:
    """PyStemmer (used when installed) stems every word of the pack as snowballstemmer does."""
    import re
    from importlib import resources

    Stemmer = pytest.importorskip("Stemmer", reason="PyStemmer is not installed")
    from snowballstemmer.english_stemmer import EnglishStemmer
    from snowballstemmer.russian_stemmer import RussianStemmer

    pack = resources.files("monitor.rules.packs").joinpath("military_discipline.toml")
    words = set(re.findall(r"[^\W\d_]+", pack.read_text(encoding="utf-8").casefold()))
    assert len(words) > 1000
    for language, pure in (("russian", RussianStemmer()), ("english", EnglishStemmer())):
        fast = Stemmer.Stemmer(language)
        assert [w for w in sorted(words) if fast.stemWord(w) != pure.stemWord(w)] == []


def test_rule_is_woken_by_its_smallest_required_set(tmp_path: Path) -> None:
    """Any required set can wake a rule (all must hit): the smallest is asked, and the match
    still carries the hits of every condition; exclusions still hold."""
    ruleset = one_rule(
        tmp_path, 'any = ["военный", "солдат", "боец"]\nall = [["сбежать"]]\nnot = ["зоопарк"]'
    )
    woken_by = {ruleset.terms[term].text for term in ruleset.rules[0].triggers}
    assert woken_by == {"сбежать"}
    (match,) = ruleset.evaluate("Боец сбежал из части")
    assert [hit.term for hit in match.hits] == ["боец", "сбежать"]
    assert not ruleset.evaluate("Боец сбежал из зоопарка")
    assert not ruleset.evaluate("Боец вернулся в часть")


def test_gapped_phrases_sharing_their_first_word(tmp_path: Path) -> None:
    """Phrases with gaps that start alike, in rules of other languages, each find their own."""
    rules = ruleset_from(
        tmp_path,
        '[[rules]]\nid = "a"\ncategory = "escape"\nlanguages = ["ru"]\n'
        'any = ["из ~2 госпитал*"]\n'
        '[[rules]]\nid = "b"\ncategory = "escape"\nlanguages = ["ru", "uk"]\n'
        'any = ["из ~2 больниц*", "из ~1 госпитал*"]\n',
    )
    assert [m.rule_id for m in rules.evaluate("сбежал из областной больницы")] == ["b"]
    found = sorted(m.rule_id for m in rules.evaluate("ушёл из окружного военного госпиталя"))
    assert found == ["a"]
    assert sorted(m.rule_id for m in rules.evaluate("ушёл из военного госпиталя")) == ["a", "b"]
