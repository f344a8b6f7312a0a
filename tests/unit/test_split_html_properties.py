"""split_html on runs with no white space to cut at: emoji (surrogate pairs in UTF-16),
character references and nested tags. Telethon's own ``utils.split_text`` was compared on
the same inputs and cuts inside a surrogate pair there (its ``html.unparse`` then raises
UnicodeDecodeError), so the monitor keeps its own splitter; this is the property it keeps.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.markup import split_html, telegram_length
from tests.helpers import telegram_html

_RUN = st.lists(st.sampled_from(["😀", "&amp;", "&lt;", "б", "x", "👍🏽"]), min_size=1, max_size=80)
_TAGS = ("b", "i", "code", "a")


@st.composite
def _html(draw: st.DrawFn, banned: frozenset[str] = frozenset()) -> str:
    """Draw HTML; a tag never nests in itself (Telethon's parser mishandles that)."""
    allowed = [tag for tag in _TAGS if tag not in banned]
    if not allowed or draw(st.booleans()):
        return "".join(draw(_RUN))
    tag = draw(st.sampled_from(allowed))
    opening = '<a href="https://t.me/x?a=1&amp;b=2">' if tag == "a" else f"<{tag}>"
    inner = "".join(draw(st.lists(_html(banned | {tag}), min_size=1, max_size=3)))
    return f"{opening}{inner}</{tag}>"


@settings(max_examples=300, deadline=None)
@given(html=_html(), limit=st.integers(min_value=100, max_value=300))
def test_split_without_spaces_never_cuts_a_tag_a_reference_or_a_pair(html: str, limit: int) -> None:
    parts = split_html(html, limit)
    for part in parts:
        part.encode("utf-8")  # a lone surrogate (half an emoji) cannot be encoded
        assert telegram_length(part) <= limit
        assert telegram_html.problems(part) == [], part
    together = [pair for part in parts for pair in telegram_html.styled(part)]
    assert together == telegram_html.styled(html)
