"""Build ``Post``s and ``Alert``s for the alert tests, with the matched spans computed."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.models import Alert, Hit, Match, Post

WHEN = datetime(2024, 5, 1, 11, 3, tzinfo=UTC)


def make_post(
    text: str = "Военнослужащий самовольно оставил часть (СОЧ) под Курском.",
    *,
    channel_id: int = 1001,
    message_id: int = 7,
    username: str | None = "news_ch",
    title: str | None = "News Channel",
    forward_from: str | None = None,
    date: datetime = WHEN,
) -> Post:
    """Return a channel post with sensible defaults."""
    return Post(
        channel_id=channel_id,
        message_id=message_id,
        date=date,
        text=text,
        channel_username=username,
        channel_title=title,
        forward_from=forward_from,
    )


def make_match(
    text: str,
    terms: tuple[str, ...] = ("СОЧ",),
    *,
    rule_id: str = "soch-ru",
    category: str = "desertion",
    score: float = 0.9,
) -> Match:
    """Return a match with a hit at every occurrence of each term in ``text``."""
    hits = []
    for term in terms:
        start = text.find(term)
        while start >= 0:
            hits.append(Hit(term, start, start + len(term)))
            start = text.find(term, start + 1)
    return Match(rule_id=rule_id, category=category, score=score, hits=tuple(hits))


def make_alert(
    post: Post | None = None,
    *,
    alert_id: int = 1,
    sink: str = "chat",
    terms: tuple[str, ...] = ("СОЧ",),
    category: str = "desertion",
    rule_id: str = "soch-ru",
    score: float = 0.9,
    sources: tuple[Post, ...] = (),
    language: str | None = "ru",
) -> Alert:
    """Return an alert for ``post`` whose one match hits every occurrence of ``terms``."""
    post = post or make_post()
    match = make_match(post.text, terms, rule_id=rule_id, category=category, score=score)
    return Alert(
        alert_id=alert_id,
        sink=sink,
        post=post,
        matches=(match,),
        sources=sources,
        language=language,
    )
