"""Alert formatting: excerpts, escaping, time zones, templates, JSON, digests and the 4096 cut."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.format import (
    RenderOptions,
    burst_heading,
    check_template,
    excerpt,
    format_time,
    quiet_heading,
    render_alert,
    render_deletion,
    render_digest,
    render_notice,
)
from monitor.alerts.markup import escape, escape_attribute, split_html, validate_html
from tests.helpers import telegram_html
from tests.helpers.alerts import make_alert, make_post

LONG = "a " * 100 + "СОЧ" + " b" * 100


@pytest.mark.parametrize(
    ("text", "spans", "radius", "expected", "bold"),
    [
        pytest.param(
            "Ушёл в СОЧ вчера", [(7, 10)], 50, "Ушёл в СОЧ вчера", ["СОЧ"], id="short-whole"
        ),
        pytest.param(
            LONG, [(200, 203)], 10, "…a a a a СОЧ b b b b…", ["СОЧ"], id="middle-cut-on-spaces"
        ),
        pytest.param("СОЧ" + " b" * 100, [(0, 3)], 5, "СОЧ b b b…", ["СОЧ"], id="match-at-start"),
        pytest.param("x y z " * 50, [], 6, "x y z x y z…", [], id="no-match-takes-start"),
        pytest.param(
            "abc СОЧ def",
            [(4, 7), (5, 7), (4, 6)],
            50,
            "abc СОЧ def",
            ["СОЧ"],
            id="overlaps-merged",
        ),
        pytest.param(
            "one two", [(4, 7), (50, 60)], 50, "one two", ["two"], id="out-of-range-span-dropped"
        ),
        pytest.param(
            "  padded СОЧ  ", [(9, 12)], 50, "padded СОЧ", ["СОЧ"], id="whitespace-trimmed"
        ),
        pytest.param("", [], 10, "", [], id="empty"),
    ],
)
def test_excerpt_table(
    text: str, spans: list[tuple[int, int]], radius: int, expected: str, bold: list[str]
) -> None:
    """The excerpt cuts on spaces, marks cuts with …, and its spans still cover the terms."""
    cut = excerpt(text, spans, radius)
    assert cut.text == expected
    assert [cut.text[s:e] for s, e in cut.spans] == bold


@given(
    text=st.text(alphabet="ab СОЧ\n", max_size=400),
    radius=st.integers(min_value=1, max_value=80),
    data=st.data(),
)
def test_excerpt_spans_point_at_the_same_words(text: str, radius: int, data: st.DataObject) -> None:
    """Every span of an excerpt covers text equal to what the original span covered."""
    starts = [m.start() for m in re.finditer("СОЧ", text)]
    chosen = data.draw(st.lists(st.sampled_from(starts), unique=True) if starts else st.just([]))
    cut = excerpt(text, [(s, s + 3) for s in chosen], radius)
    assert all(cut.text[s:e] == "СОЧ" for s, e in cut.spans)
    if chosen:
        assert cut.spans, "the first match is always inside its own window"
    assert len(cut.text) <= 2 * radius + 3 + 2


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        pytest.param(
            "UTC", datetime(2024, 5, 1, 11, 3, tzinfo=UTC), "2024-05-01 11:03 UTC", id="utc"
        ),
        pytest.param(
            "Europe/Kyiv",
            datetime(2024, 5, 1, 11, 3, tzinfo=UTC),
            "2024-05-01 14:03 EEST",
            id="kyiv-summer",
        ),
        pytest.param(
            "Europe/Kyiv",
            datetime(2024, 1, 1, 23, 30, tzinfo=UTC),
            "2024-01-02 01:30 EET",
            id="kyiv-winter-next-day",
        ),
        pytest.param(
            "Asia/Yekaterinburg",
            datetime(2024, 1, 1, 0, 0),  # noqa: DTZ001  naive on purpose
            "2024-01-01 05:00 +05",
            id="naive-is-utc",
        ),
    ],
)
def test_post_time_in_the_configured_zone(zone: str, moment: datetime, expected: str) -> None:
    """Post times show in the configured zone with its abbreviation."""
    assert format_time(moment, ZoneInfo(zone)) == expected


@pytest.mark.parametrize(
    ("title", "text", "must_contain"),
    [
        pytest.param("A & B <C>", "ушёл в СОЧ", ["A &amp; B &lt;C&gt;"], id="title-escaped"),
        pytest.param(
            "Chan",
            "snake_case_word and *stars* [x](y) СОЧ",
            ["snake_case_word", "*stars*"],
            id="markdown-chars-literal",
        ),
        pytest.param(
            "Chan",
            "<script>alert(1)</script> & СОЧ",
            ["&lt;script&gt;", "&amp; <b>СОЧ</b>"],
            id="html-in-text-escaped",
        ),
        pytest.param('Quote"s', "СОЧ", ['Quote"s'], id="quote-in-body-kept"),
    ],
)
def test_html_rendering_escapes_and_stays_valid(
    title: str, text: str, must_contain: list[str]
) -> None:
    """Whatever the post says, the HTML is valid and the matched words are bold."""
    alert = make_alert(make_post(text, title=title))
    message = render_alert(alert, RenderOptions())
    assert len(message.html) == 1
    html = message.html[0]
    assert validate_html(html) == []
    assert telegram_html.problems(html) == []
    for fragment in must_contain:
        assert fragment in html
    assert '<a href="https://t.me/news_ch/7">' in html


@pytest.mark.parametrize(
    ("username", "channel_id", "link"),
    [
        pytest.param("news_ch", 1001, "https://t.me/news_ch/7", id="public"),
        pytest.param(None, 1234567890, "https://t.me/c/1234567890/7", id="private"),
    ],
)
def test_link_to_the_post(username: str | None, channel_id: int, link: str) -> None:
    """Public channels link by username, private ones through t.me/c/."""
    message = render_alert(
        make_alert(make_post(username=username, channel_id=channel_id)), RenderOptions()
    )
    assert f'href="{link}"' in message.html[0]
    assert link in message.text
    assert message.payload["post"]["link"] == link


def test_plain_text_has_every_field_and_no_markup() -> None:
    """The plain-text rendering names channel, time, category, rule, language and the link."""
    message = render_alert(make_alert(), RenderOptions(tz=ZoneInfo("Europe/Kyiv")))
    for part in (
        "News Channel",
        "2024-05-01 14:03 EEST",
        "desertion",
        "soch-ru",
        "ru",
        "https://t.me/news_ch/7",
        "СОЧ",
    ):
        assert part in message.text
    assert "<b>" not in message.text


def test_json_body_follows_the_documented_schema() -> None:
    """The JSON body parses and carries the documented keys."""
    message = render_alert(make_alert(), RenderOptions(tz=ZoneInfo("Europe/Kyiv")))
    body = json.loads(message.body())
    assert body["schema"] == "monitor.alert/1"
    assert body["event"] == "alert"
    assert set(body) >= {
        "alert_id",
        "sink",
        "category",
        "rule_id",
        "score",
        "terms",
        "language",
        "post",
        "matches",
        "excerpt",
        "sources",
        "text",
    }
    assert body["post"]["date"] == "2024-05-01T11:03:00+00:00"
    assert body["post"]["local_time"] == "2024-05-01T14:03:00+03:00"
    excerpt_body = body["excerpt"]
    assert [excerpt_body["text"][s:e] for s, e in excerpt_body["spans"]] == ["СОЧ"]


def test_sources_are_listed_when_several_channels_told_the_story() -> None:
    """An alert with five sources names all five."""
    sources = tuple(
        make_post(channel_id=2000 + i, username=f"ch{i}", title=f"Channel {i}") for i in range(4)
    )
    message = render_alert(make_alert(sources=sources), RenderOptions())
    assert "Sources (5):" in message.html[0]
    assert "Sources (5):" in message.text
    for i in range(4):
        assert f'href="https://t.me/ch{i}/7"' in message.html[0]
    assert len(message.payload["sources"]) == 5


def test_a_single_source_prints_no_sources_line() -> None:
    """With one source the sources line and its blank line disappear."""
    message = render_alert(make_alert(), RenderOptions())
    assert "Sources" not in message.html[0]
    assert not message.html[0].endswith("\n")


@pytest.mark.parametrize(
    ("template", "html", "problem"),
    [
        pytest.param("$channel: $excerpt", True, None, id="valid-html"),
        pytest.param("<b>$category</b> $$5 $link", True, None, id="dollar-escape"),
        pytest.param("$channel $nope", False, "unknown variable $nope", id="unknown-variable"),
        pytest.param("${channel", False, "invalid placeholder", id="bad-placeholder"),
        pytest.param("<b>$channel", True, "never closed", id="unclosed-tag"),
        pytest.param("<div>$channel</div>", True, "not supported", id="unsupported-tag"),
        pytest.param("A & B $channel", True, "must be escaped", id="bare-ampersand"),
        pytest.param("<b>$channel", False, None, id="text-template-any-text"),
    ],
)
def test_check_template_table(template: str, html: bool, problem: str | None) -> None:
    """Template problems are found when the config loads, not when an alert is sent."""
    problems = check_template(template, html=html)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in line for line in problems), problems


def test_template_values_are_escaped() -> None:
    """A template's values are HTML-escaped, so a title cannot inject markup."""
    alert = make_alert(make_post(title="<i>evil</i>"))
    message = render_alert(
        alert, RenderOptions(html_template="<b>$channel</b> $excerpt", text_template="$channel!")
    )
    assert message.html[0].startswith("<b>&lt;i&gt;evil&lt;/i&gt;</b> ")
    assert message.text == "<i>evil</i>!"


def _ten_thousand_characters() -> str:
    sentence = "Военнослужащий самовольно оставил часть & <ушёл>, это СОЧ_ок. "
    return (sentence * (10_000 // len(sentence) + 1))[:10_000]


@pytest.mark.parametrize(
    "template", [None, "$channel $time\n$text\n$sources"], ids=["default", "whole-text"]
)
def test_ten_thousand_character_post_gives_valid_messages(template: str | None) -> None:
    """A 10,000-character post renders as valid HTML messages of at most 4096 characters."""
    text = _ten_thousand_characters()
    message = render_alert(make_alert(make_post(text)), RenderOptions(html_template=template))
    for part in message.html:
        assert telegram_html.utf16_length(part) <= 4096
        assert telegram_html.problems(part) == []
        plain, _ = telegram_html.parse(part)
        assert 0 < len(plain) <= 4096
    if template is not None:
        assert len(message.html) >= 3
        visible = "".join(c for part in message.html for c, _ in telegram_html.styled(part))
        assert re.sub(r"\s", "", text) in visible


def _node(tag: str, children: list[str]) -> str:
    opening = '<a href="https://t.me/x?a=1&amp;b=2">' if tag == "a" else f"<{tag}>"
    return opening + "".join(children) + f"</{tag}>"


_TEXT = st.text(
    alphabet=st.sampled_from(
        ["a", "б", "1", " ", "\n", "<", ">", "&", '"', "😀", "ё", "_", "*", "é"]
    ),
    min_size=1,
    max_size=60,
).map(escape)
_TAGS = ("b", "i", "u", "s", "code", "a", "blockquote")


@st.composite
def _tree(draw: st.DrawFn, banned: frozenset[str] = frozenset(), depth: int = 0) -> str:
    """Draw Telegram HTML; a tag never nests inside itself (Telethon's parser mishandles that)."""
    allowed = [tag for tag in _TAGS if tag not in banned]
    if depth >= 4 or not allowed or draw(st.booleans()):
        return draw(_TEXT)
    tag = draw(st.sampled_from(allowed))
    count = draw(st.integers(min_value=1, max_value=3))
    return _node(tag, [draw(_tree(banned | {tag}, depth + 1)) for _ in range(count)])


@settings(max_examples=300, deadline=None)
@given(
    chunks=st.lists(_tree(), min_size=1, max_size=12),
    limit=st.integers(min_value=200, max_value=600),
)
def test_every_split_part_is_valid_telegram_html(chunks: list[str], limit: int) -> None:
    """Each part is valid, fits the limit, and together the parts keep every styled character."""
    html = "".join(chunks)
    parts = split_html(html, limit)
    for part in parts:
        assert telegram_html.utf16_length(part) <= limit
        assert telegram_html.problems(part) == [], part
        assert validate_html(part) == []
    together = [pair for part in parts for pair in telegram_html.styled(part)]
    assert together == telegram_html.styled(html)


def test_split_keeps_link_attributes_when_reopening() -> None:
    """A link cut in two is reopened with its href in the next part."""
    html = '<a href="https://t.me/x">' + "word " * 60 + "</a>"
    parts = split_html(html, 120)
    assert len(parts) > 2
    assert all(
        part.startswith('<a href="https://t.me/x">') and part.endswith("</a>") for part in parts
    )


def test_split_never_cuts_an_entity_or_a_surrogate_pair() -> None:
    """Character references and astral characters survive a cut intact."""
    html = "&amp;😀" * 300
    parts = split_html(html, 100)
    for part in parts:
        assert re.fullmatch(r"(&amp;|😀)+", part), part
    assert "".join(parts) == html


def test_render_digest_accounts_for_every_alert() -> None:
    """A burst digest lists every folded alert under its heading, in valid HTML."""
    alerts = [make_alert(make_post(message_id=i), alert_id=i) for i in range(1, 41)]
    message = render_digest(alerts, RenderOptions(), heading=burst_heading(40, 290))
    assert message.alert_ids == tuple(range(1, 41))
    assert message.title == "40 more flagged posts in the last 5 minutes"
    html = "\n".join(message.html)
    for i in range(1, 41):
        assert f'href="https://t.me/news_ch/{i}"' in html
        assert f"https://t.me/news_ch/{i}" in message.text
    for part in message.html:
        assert telegram_html.problems(part) == []
        assert telegram_html.utf16_length(part) <= 4096
    assert message.payload["count"] == 40


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        pytest.param(
            burst_heading(1, 10), "1 more flagged post in the last minute:", id="one-minute"
        ),
        pytest.param(
            burst_heading(14, 300),
            "14 more flagged posts in the last 5 minutes:",
            id="five-minutes",
        ),
        pytest.param(quiet_heading(1), "1 flagged post during quiet hours:", id="quiet-one"),
        pytest.param(quiet_heading(3), "3 flagged posts during quiet hours:", id="quiet-many"),
    ],
)
def test_digest_headings(heading: str, expected: str) -> None:
    """Digest headings read naturally for one and for many."""
    assert heading == expected


def test_escape_helpers() -> None:
    """Body text escapes <, > and &; attributes also escape quotes."""
    assert escape('<a & "b">') == '&lt;a &amp; "b"&gt;'
    assert escape_attribute('"x"') == "&quot;x&quot;"


def test_pure_modules_import_nothing_from_the_edges() -> None:
    """The pure alert modules import no telethon, sqlalchemy, requests or apprise."""
    code = (
        "import sys\n"
        "import monitor.alerts.format, monitor.alerts.markup, monitor.alerts.filters\n"
        "import monitor.alerts.pacing, monitor.alerts.stories\n"
        "edges = {'telethon', 'sqlalchemy', 'requests', 'apprise'}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in edges)\n"
        "print(','.join(bad))\n"
    )
    # Importing a submodule runs monitor/alerts/__init__.py, which builds the sink registry
    # (apprise, ...). The check therefore loads the pure modules by path, without the package.
    loader = (
        "import importlib.util, sys, types\n"
        "pkg = types.ModuleType('monitor.alerts'); pkg.__path__ = ['monitor/alerts']\n"
        "sys.modules['monitor.alerts'] = pkg\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", loader + code], capture_output=True, text=True, check=True, cwd=root
    )
    assert result.stdout.strip() == ""


def test_deletion_renders_the_alert_led_by_a_deleted_line() -> None:
    """A deletion is the alert as sent, led by "Deleted by the channel", event ``deleted``."""
    post = replace(make_post(), deleted_at=datetime(2024, 5, 2, 8, 0, tzinfo=UTC))
    alert = make_alert(post, alert_id=42)
    options = RenderOptions(tz=ZoneInfo("Europe/Moscow"))
    message = render_deletion(alert, options, deletion_id=99, replaces="@chat:5")
    assert message.html[0].startswith("<b>Deleted by the channel (2024-05-02 11:00 MSK)</b>\n\n")
    assert message.text.startswith("[Deleted by the channel (2024-05-02 11:00 MSK)]\n\n[desertion]")
    assert (message.event, message.alert_ids, message.replaces) == ("deleted", (99,), "@chat:5")
    assert message.payload["event"] == "deleted"
    assert message.payload["alert_id"] == 42  # what the receiver knows the alert by
    assert message.payload["post"]["deleted_at"] == "2024-05-02T08:00:00+00:00"
    assert not validate_html(message.html[0])


def test_alert_of_a_deleted_post_says_so_and_others_do_not() -> None:
    """An alert rendered after its post was deleted carries the line; a live post's does not."""
    post = make_post()
    assert "Deleted" not in render_alert(make_alert(post), RenderOptions()).text
    assert "deleted_at" not in render_alert(make_alert(post), RenderOptions()).payload["post"]
    gone = replace(post, deleted_at=datetime(2024, 5, 2, 8, 0, tzinfo=UTC))
    message = render_alert(make_alert(gone), RenderOptions())
    assert message.event == "alert"
    assert message.text.startswith("[Deleted by the channel (2024-05-02 08:00 UTC)]")


# Posts are hostile input: any str at all, lone surrogates and NULs included.
HOSTILE = st.sampled_from(["\ud83d", "\ude00", "\x00", "<", "&", "\u202e", "\r", " "])
# (st.text() would quietly drop the surrogates: join the characters instead.)
ANY_TEXT = st.lists(st.one_of(st.characters(exclude_categories=()), HOSTILE), max_size=300).map(
    "".join
)


@given(text=ANY_TEXT, title=ANY_TEXT, username=ANY_TEXT, data=st.data())
@settings(max_examples=150, deadline=None)
def test_every_formatter_survives_any_text(
    text: str, title: str, username: str, data: st.DataObject
) -> None:
    """Render, digest and notice never raise; every body is valid UTF-8 and HTML within 4096."""
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    post = make_post(text, title=title or None, username=username or None)
    alert = make_alert(post, terms=(text[start:end] or "x",))
    options = RenderOptions(tz=ZoneInfo("Europe/Kyiv"))
    messages = [
        render_alert(alert, options),
        render_alert(alert, options, update=True, replaces="c:1"),
        render_digest([alert, alert], options, heading=text),
        render_notice(3, text, title=title or "notice"),
    ]
    for message in messages:
        json.loads(message.body().decode("utf-8"))
        message.text.encode("utf-8")
        message.title.encode("utf-8")
        for part in message.html:
            part.encode("utf-8")
            assert validate_html(part) == []


def test_lone_surrogate_renders_as_a_replacement_character() -> None:
    """A lone surrogate becomes U+FFFD in place, so the spans still point at the words."""
    text = "Дезертир \ud83d задержан СОЧ"
    alert = make_alert(make_post(text))
    message = render_alert(alert, RenderOptions())
    body = json.loads(message.body())
    assert body["post"]["text"] == "Дезертир \ufffd задержан СОЧ"
    [[start, end]] = body["matches"][0]["spans"]
    assert body["post"]["text"][start:end] == "СОЧ"
    assert "<b>СОЧ</b>" in message.html[0]
