"""Alert formatting: the words every sink sends, rendered from an ``Alert``.

One alert renders three ways, bundled in a ``Message``:

* ``html``: Telegram HTML parts, each at most 4096 characters with balanced tags (see
  ``monitor.alerts.markup``); the matched words are bold.
* ``text``: plain text for Apprise and the log.
* ``payload``: the JSON body webhooks receive (schema below).

**Templates.** A sink's ``template`` setting replaces the default layout. It is a
``string.Template``: ``$name`` or ``${name}`` placeholders, ``$$`` for a dollar sign; nothing
is evaluated, so a template cannot run code or reach attributes. For the ``telegram`` sink
the template is Telegram HTML and every value is HTML-escaped before it is inserted (the
excerpt arrives with its ``<b>`` tags); for the other sinks it is plain text. Variables:

``channel`` (title, else @username, else the id), ``link`` (the t.me link), ``time`` (post
time in the configured zone), ``category``, ``rule``, ``score`` (two decimals), ``terms``
(matched terms, comma-separated), ``language`` (code or ``unknown``), ``excerpt`` (text
around the first match, matches bold), ``text`` (the whole post, matches bold; long posts
are split over several messages), ``sources`` (``Sources (3): a, b, c`` when more than one
channel told the story, else empty), ``source_count``, ``alert_id``.

**JSON body** (``schema: "monitor.alert/1"``), UTF-8, keys sorted::

    {
      "schema": "monitor.alert/1",
      "event": "alert" | "update" | "deleted",  # "update": more sources joined a sent
                                          # alert; "deleted": the channel deleted its post
      "alert_id": 42, "sink": "ops-webhook",
      "category": "desertion", "rule_id": "desertion-ru", "score": 0.9,
      "terms": ["СОЧ"], "language": "ru" | null,
      "post": {"channel_id": 1001, "message_id": 7, "channel_username": "news" | null,
               "channel_title": "News" | null, "link": "https://t.me/news/7",
               "date": "2024-05-01T11:03:00+00:00",        # UTC, ISO 8601
               "deleted_at": "2024-05-02T08:00:00+00:00",  # only once it was deleted
               "local_time": "2024-05-01T14:03:00+03:00",  # in delivery.timezone
               "text": "the whole post"},
      "matches": [{"rule_id": "...", "category": "...", "score": 0.9,
                   "terms": ["..."], "spans": [[10, 13]]}],   # spans index post.text
      "excerpt": {"text": "…around the match…", "spans": [[3, 6]]},
      "sources": [ <post objects without "text">, ... ],      # every channel, first first
      "text": "the plain-text rendering"
    }

An operational notice (``event: "notice"``) carries only ``alert_id`` and ``text``.
A digest (``event: "digest"``) carries ``heading``, ``count``, ``alerts`` (a list of the
objects above without ``text`` and ``schema``) and ``text``.

This module is pure: it imports nothing from the edges (no Telethon, SQLAlchemy or HTTP),
does no I/O and reads no clock; callers pass the time zone and the current time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from string import Template
from typing import Any

from monitor.alerts.markup import (
    TELEGRAM_LIMIT,
    escape,
    escape_attribute,
    link,
    split_html,
    validate_html,
)
from monitor.models import Alert, Hit, Match, Post

SCHEMA = "monitor.alert/1"
DELETED_BY_CHANNEL = "Deleted by the channel"

TEMPLATE_VARIABLES = frozenset(
    {
        "channel",
        "link",
        "time",
        "category",
        "rule",
        "score",
        "terms",
        "language",
        "excerpt",
        "text",
        "sources",
        "source_count",
        "alert_id",
    }
)

DEFAULT_HTML_TEMPLATE = (
    "<b>$category</b> · $rule · score $score\n"
    '<a href="$link">$channel</a> · $time · $language\n\n'
    "$excerpt\n\n$sources"
)
DEFAULT_TEXT_TEMPLATE = (
    "[$category] $rule · score $score\n$channel · $time · $language\n$link\n\n$excerpt\n\n$sources"
)

Span = tuple[int, int]

# A lone UTF-16 surrogate is a valid Python str but no valid UTF-8 or UTF-16: nothing can
# send it. Posts are hostile input, so each becomes U+FFFD, one character for one.
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """Return ``text`` with every lone surrogate replaced by U+FFFD (same length, same spans)."""
    return _SURROGATE.sub("\ufffd", text)


def _clean_optional(text: str | None) -> str | None:
    return None if text is None else clean(text)


def _clean_post(post: Post) -> Post:
    return replace(
        post,
        text=clean(post.text),
        channel_username=_clean_optional(post.channel_username),
        channel_title=_clean_optional(post.channel_title),
        forward_from=_clean_optional(post.forward_from),
    )


def _clean_match(match: Match) -> Match:
    hits = tuple(Hit(clean(hit.term), hit.start, hit.end) for hit in match.hits)
    return replace(match, rule_id=clean(match.rule_id), category=clean(match.category), hits=hits)


def clean_alert(alert: Alert) -> Alert:
    """Return ``alert`` safe to render: every string it carries free of lone surrogates."""
    return replace(
        alert,
        post=_clean_post(alert.post),
        matches=tuple(_clean_match(match) for match in alert.matches),
        sources=tuple(_clean_post(post) for post in alert.sources),
        language=_clean_optional(alert.language),
    )


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How a sink wants its alerts rendered: time zone, template and sizes."""

    tz: tzinfo = UTC
    html_template: str | None = None
    text_template: str | None = None
    excerpt_radius: int = 200
    digest_excerpt: int = 100
    limit: int = TELEGRAM_LIMIT


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery, rendered for every kind of sink.

    ``alert_ids`` are the alerts it accounts for (several for a digest). ``replaces`` is the
    sink's reference to an earlier message this one updates (a story that gained sources).
    ``deliveries`` are the outbox rows' delivery ids (UUIDs, the same on every retry) that
    the dispatcher adds: webhooks send them, signed, as their idempotency key.
    """

    event: str
    title: str
    text: str
    html: tuple[str, ...]
    payload: Mapping[str, Any]
    alert_ids: tuple[int, ...]
    replaces: str | None = None
    deliveries: tuple[str, ...] = ()

    def body(self) -> bytes:
        """Return the JSON body as compact UTF-8 with sorted keys."""
        return json.dumps(
            self.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode()


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A window of a post's text around the first match; ``spans`` index ``text``."""

    text: str
    spans: tuple[Span, ...]


def merge_spans(spans: Iterable[Sequence[int]], length: int) -> list[Span]:
    """Clip ``spans`` to ``[0, length)``, drop empty ones, merge overlapping ones (sorted)."""
    merged: list[Span] = []
    for start, end in sorted((max(0, span[0]), min(length, span[1])) for span in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, anchor: Span, radius: int) -> Span:
    """Return the slice around ``anchor``, widened to word boundaries inside the radius."""
    start = max(0, anchor[0] - radius)
    end = min(len(text), max(anchor[1] + radius, start + 2 * radius))
    if start > 0:
        space = text.find(" ", start, anchor[0])
        start = space + 1 if space >= 0 else start
    if end < len(text):
        space = text.rfind(" ", anchor[1], end)
        end = space if space >= 0 else end
    return start, end


def excerpt(text: str, spans: Sequence[Span], radius: int = 200) -> Excerpt:
    """Cut ``text`` to about ``radius`` characters either side of the first span.

    Cuts fall on spaces where possible and are marked with ``…``. The spans that fall
    inside the window are kept, clipped and shifted to index the excerpt.
    """
    merged = merge_spans(spans, len(text))
    start, end = _window(text, merged[0] if merged else (0, 0), radius)
    body = text[start:end]
    lead = len(body) - len(body.lstrip())
    body = body.strip()
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = start + lead - len(prefix)
    inside = merge_spans([(s - shift, e - shift) for s, e in merged], len(prefix) + len(body))
    kept = tuple((s, e) for s, e in inside if s >= len(prefix))
    return Excerpt(prefix + body + suffix, kept)


def _marked(text: str, spans: Sequence[Span], *, html: bool) -> str:
    """Return ``text`` with ``spans`` in bold (HTML) or unmarked (plain text)."""
    if not html:
        return text
    pieces: list[str] = []
    cursor = 0
    for start, end in merge_spans(spans, len(text)):
        pieces.append(escape(text[cursor:start]))
        pieces.append(f"<b>{escape(text[start:end])}</b>")
        cursor = end
    pieces.append(escape(text[cursor:]))
    return "".join(pieces)


def local_time(moment: datetime, tz: tzinfo) -> datetime:
    """Return ``moment`` in ``tz``; a naive ``moment`` is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz)


def format_time(moment: datetime, tz: tzinfo) -> str:
    """Return ``2024-05-01 14:03 EEST``: the time in ``tz`` with the zone's abbreviation."""
    return local_time(moment, tz).strftime("%Y-%m-%d %H:%M %Z").strip()


def channel_name(post: Post) -> str:
    """Return how a channel is shown: its title, else @username, else its id."""
    if post.channel_title:
        return post.channel_title
    if post.channel_username:
        return f"@{post.channel_username}"
    return f"channel {post.channel_id}"


def all_sources(alert: Alert) -> tuple[Post, ...]:
    """Return the alert's post followed by its other sources, without duplicates."""
    seen: dict[tuple[int, int], Post] = {}
    for post in (alert.post, *alert.sources):
        seen.setdefault((post.channel_id, post.message_id), post)
    return tuple(seen.values())


def alert_spans(alert: Alert) -> list[Span]:
    """Return every matched span in the alert's post text."""
    return [span for match in alert.matches for span in match.spans]


def _sources_line(alert: Alert, *, html: bool) -> str:
    sources = all_sources(alert)
    if len(sources) < 2:
        return ""
    if html:
        names = ", ".join(link(post.link, channel_name(post)) for post in sources)
    else:
        names = ", ".join(f"{channel_name(post)} ({post.link})" for post in sources)
    return f"Sources ({len(sources)}): {names}"


def alert_variables(alert: Alert, options: RenderOptions, *, html: bool) -> dict[str, str]:
    """Return the template variables for ``alert``, HTML-escaped when ``html`` is set."""
    top = alert.top_match
    cut = excerpt(alert.post.text, alert_spans(alert), options.excerpt_radius)
    plain = {
        "channel": channel_name(alert.post),
        "link": alert.post.link,
        "time": format_time(alert.post.date, options.tz),
        "category": top.category,
        "rule": top.rule_id,
        "score": f"{top.score:.2f}",
        "terms": ", ".join(term for match in alert.matches for term in match.terms),
        "language": alert.language or "unknown",
        "source_count": str(len(all_sources(alert))),
        "alert_id": str(alert.alert_id),
    }
    values = {key: escape(value) if html else value for key, value in plain.items()}
    if html:
        values["link"] = escape_attribute(alert.post.link)
    values["excerpt"] = _marked(cut.text, cut.spans, html=html)
    values["text"] = _marked(alert.post.text, alert_spans(alert), html=html)
    values["sources"] = _sources_line(alert, html=html)
    return values


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Substitute ``values`` into ``template`` and tidy the blank lines an empty value left."""
    filled = Template(template).safe_substitute(values)
    lines = [line.rstrip() for line in filled.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip()


def check_template(template: str, *, html: bool) -> list[str]:
    """Return the problems of a user template (empty when it is usable).

    Checks the placeholder syntax, that every variable exists and, for HTML templates,
    that a sample rendering is valid Telegram HTML.
    """
    parsed = Template(template)
    if not parsed.is_valid():
        return ["invalid placeholder; write $name or ${name}, and $$ for a dollar sign"]
    unknown = sorted(set(parsed.get_identifiers()) - TEMPLATE_VARIABLES)
    if unknown:
        known = ", ".join(sorted(TEMPLATE_VARIABLES))
        return [f"unknown variable ${name}; use one of {known}" for name in unknown]
    if not html:
        return []
    sample = dict.fromkeys(TEMPLATE_VARIABLES, "x")
    return [
        f"not valid Telegram HTML: {problem}" for problem in validate_html(_fill(template, sample))
    ]


def _alert_title(alert: Alert) -> str:
    return f"{alert.top_match.category}: {channel_name(alert.post)}"


def _deletion_heading(post: Post, tz: tzinfo, *, html: bool, deleted: bool = False) -> str:
    """The line that says the channel deleted the post ("" while it has not)."""
    if post.deleted_at is None and not deleted:
        return ""
    when = f" ({format_time(post.deleted_at, tz)})" if post.deleted_at else ""
    words = f"{DELETED_BY_CHANNEL}{when}"
    return f"<b>{escape(words)}</b>\n\n" if html else f"[{words}]\n\n"


def render_alert(
    alert: Alert,
    options: RenderOptions,
    *,
    update: bool = False,
    replaces: str | None = None,
    deleted: bool = False,
) -> Message:
    """Render ``alert`` for every kind of sink.

    A post the channel deleted is rendered with a first line saying so.

    Args:
        alert: the alert; its ``sources`` are listed when there is more than one.
        options: time zone, templates and limits of the sink.
        update: this renders an alert already sent, because more sources joined its story.
        replaces: the sink's reference to the message being updated, if it gave one.
        deleted: this tells a sent alert that the channel deleted its post (event
            ``deleted``).
    """
    alert = clean_alert(alert)
    options = replace(
        options,
        html_template=_clean_optional(options.html_template),
        text_template=_clean_optional(options.text_template),
    )
    post = alert.post
    html = _deletion_heading(post, options.tz, html=True, deleted=deleted) + _fill(
        options.html_template or DEFAULT_HTML_TEMPLATE, alert_variables(alert, options, html=True)
    )
    text = _deletion_heading(post, options.tz, html=False, deleted=deleted) + _fill(
        options.text_template or DEFAULT_TEXT_TEMPLATE, alert_variables(alert, options, html=False)
    )
    event = "update" if update or replaces is not None else "alert"
    event = "deleted" if deleted else event
    payload = {"schema": SCHEMA, "event": event, **alert_json(alert, options), "text": text}
    return Message(
        event=event,
        title=_alert_title(alert),
        text=text,
        html=tuple(split_html(html, options.limit)),
        payload=payload,
        alert_ids=(alert.alert_id,),
        replaces=replaces,
    )


def render_deletion(
    alert: Alert, options: RenderOptions, *, deletion_id: int, replaces: str | None
) -> Message:
    """Render the news that the channel deleted an alerted post (event ``deleted``).

    The alert as it went out, led by "Deleted by the channel": a sink that can (Telegram)
    edits the message ``replaces`` names into this; the others send it as a follow-up.
    """
    message = render_alert(alert, options, replaces=replaces, deleted=True)
    return replace(message, alert_ids=(deletion_id,))


def _post_json(post: Post, tz: tzinfo, *, with_text: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel_id": post.channel_id,
        "message_id": post.message_id,
        "channel_username": post.channel_username,
        "channel_title": post.channel_title,
        "link": post.link,
        "date": local_time(post.date, UTC).isoformat(),
        "local_time": local_time(post.date, tz).isoformat(),
    }
    if with_text:
        data["text"] = post.text
    if post.deleted_at is not None:
        data["deleted_at"] = local_time(post.deleted_at, UTC).isoformat()
    return data


def alert_json(alert: Alert, options: RenderOptions) -> dict[str, Any]:
    """Return the JSON object of one alert (the body schema without ``schema``/``text``)."""
    top = alert.top_match
    cut = excerpt(alert.post.text, alert_spans(alert), options.excerpt_radius)
    return {
        "alert_id": alert.alert_id,
        "sink": alert.sink,
        "category": top.category,
        "rule_id": top.rule_id,
        "score": top.score,
        "terms": list(dict.fromkeys(t for match in alert.matches for t in match.terms)),
        "language": alert.language,
        "post": _post_json(alert.post, options.tz, with_text=True),
        "matches": [
            {
                "rule_id": match.rule_id,
                "category": match.category,
                "score": match.score,
                "terms": list(match.terms),
                "spans": [list(span) for span in match.spans],
            }
            for match in alert.matches
        ],
        "excerpt": {"text": cut.text, "spans": [list(span) for span in cut.spans]},
        "sources": [_post_json(post, options.tz, with_text=False) for post in all_sources(alert)],
    }


def render_notice(alert_id: int, text: str, *, title: str = "monitor notice") -> Message:
    """Render an operational notice (a channel gone private, a quiet channel, ...)."""
    text, title = clean(text), clean(title)
    return Message(
        event="notice",
        title=title,
        text=text,
        html=tuple(split_html(f"<b>{escape(title)}</b>\n{escape(text)}")),
        payload={"schema": SCHEMA, "event": "notice", "alert_id": alert_id, "text": text},
        alert_ids=(alert_id,),
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def burst_heading(count: int, seconds: float) -> str:
    """Return ``14 more flagged posts in the last 5 minutes:`` for a burst digest."""
    minutes = max(1, math.ceil(seconds / 60))
    span = "minute" if minutes == 1 else f"{minutes} minutes"
    return f"{count} more flagged {'post' if count == 1 else 'posts'} in the last {span}:"


def quiet_heading(count: int) -> str:
    """Return the heading of the digest sent when quiet hours end."""
    return f"{_plural(count, 'flagged post')} during quiet hours:"


def _digest_line(alert: Alert, options: RenderOptions, *, html: bool) -> str:
    cut = excerpt(alert.post.text, alert_spans(alert), options.digest_excerpt // 2)
    when = local_time(alert.post.date, options.tz).strftime("%H:%M")
    more = len(all_sources(alert)) - 1
    extra = f" (+{_plural(more, 'source')})" if more else ""
    if html:
        where = link(alert.post.link, channel_name(alert.post))
        return f"• {where}{extra} · {when} · {escape(alert.top_match.category)} — " + _marked(
            cut.text, cut.spans, html=True
        )
    where = f"{channel_name(alert.post)}{extra} {alert.post.link}"
    return f"- {where} · {when} · {alert.top_match.category} — {cut.text}"


def render_digest(alerts: Sequence[Alert], options: RenderOptions, *, heading: str) -> Message:
    """Render several alerts as one digest message, one line per alert under ``heading``.

    Raises:
        ValueError: ``alerts`` is empty.
    """
    if not alerts:
        raise ValueError("a digest needs at least one alert")
    alerts = [clean_alert(alert) for alert in alerts]
    heading = clean(heading)
    html_lines = [f"<b>{escape(heading)}</b>"]
    html_lines += [_digest_line(alert, options, html=True) for alert in alerts]
    text = "\n".join([heading, *(_digest_line(alert, options, html=False) for alert in alerts)])
    payload = {
        "schema": SCHEMA,
        "event": "digest",
        "heading": heading,
        "count": len(alerts),
        "alerts": [alert_json(alert, options) for alert in alerts],
        "text": text,
    }
    return Message(
        event="digest",
        title=heading.rstrip(":"),
        text=text,
        html=tuple(split_html("\n".join(html_lines), options.limit)),
        payload=payload,
        alert_ids=tuple(alert.alert_id for alert in alerts),
    )
