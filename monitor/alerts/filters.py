"""Which alerts a sink wants, and which ones quiet hours hold back for a digest.

A sink's filters narrow what it receives; an empty list means "any":

* ``categories``, ``rules`` and ``min_score`` apply together to one match: the alert passes
  when at least one of its matches has a wanted category, a wanted rule id and a score at or
  above ``min_score``;
* ``channels`` (``@name``, ``name``, a ``t.me`` link or a numeric id, with or without the
  ``-100`` prefix) passes when any source of the story is one of them;
* ``tags`` passes when any source's channel carries one of the tags (the caller supplies
  each channel's tags from the config).

Quiet hours (``23:00-07:00`` in the delivery time zone, wrapping over midnight) hold every
alert whose top score is below ``quiet_min_score`` until the hours end; the dispatcher then
sends the held alerts as one digest.

This module is pure: it imports nothing from the edges and reads no clock (``now`` is passed
in as an aware datetime).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Protocol

from monitor.models import Alert, Match, Post


class FilterSettings(Protocol):
    """The part of a sink's settings this module reads (``SinkSettings`` fits)."""

    @property
    def categories(self) -> list[str]: ...
    @property
    def rules(self) -> list[str]: ...
    @property
    def channels(self) -> list[str]: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def min_score(self) -> float: ...
    @property
    def quiet_min_score(self) -> float: ...
    def quiet_window(self) -> tuple[time, time] | None: ...


def normalise_channel(ref: str | int) -> str:
    """Return the comparable form of a channel reference: a bare id or a lowercase name."""
    text = str(ref).strip().lower()
    text = re.sub(r"^(https?://)?(www\.)?(t\.me|telegram\.me)/(s/)?", "", text)
    text = text.lstrip("@").rstrip("/")
    if re.fullmatch(r"-100\d+", text):
        return text[4:]
    if text.startswith("c/"):
        return text[2:].split("/", 1)[0]
    return text


def post_channel_keys(post: Post) -> frozenset[str]:
    """Return the comparable references of the channel a post came from."""
    keys = {str(post.channel_id)}
    if post.channel_username:
        keys.add(post.channel_username.lower())
    return frozenset(keys)


def channel_tags(post: Post, channels: Iterable[tuple[str | int, Sequence[str]]]) -> frozenset[str]:
    """Return the tags configured for ``post``'s channel, from ``(ref, tags)`` pairs."""
    keys = post_channel_keys(post)
    return frozenset(
        tag for ref, tags in channels if normalise_channel(ref) in keys for tag in tags
    )


def match_wanted(settings: FilterSettings, match: Match) -> bool:
    """Return whether one match passes the category, rule and score filters together."""
    if settings.categories and match.category not in settings.categories:
        return False
    if settings.rules and match.rule_id not in settings.rules:
        return False
    return match.score >= settings.min_score


def _sources(alert: Alert) -> tuple[Post, ...]:
    return (alert.post, *alert.sources)


def _channel_wanted(settings: FilterSettings, alert: Alert) -> bool:
    if not settings.channels:
        return True
    wanted = {normalise_channel(ref) for ref in settings.channels}
    return any(wanted & post_channel_keys(post) for post in _sources(alert))


def _tags_wanted(
    settings: FilterSettings, alert: Alert, tags: Mapping[int, frozenset[str]]
) -> bool:
    if not settings.tags:
        return True
    wanted = set(settings.tags)
    return any(wanted & tags.get(post.channel_id, frozenset()) for post in _sources(alert))


def wants(
    settings: FilterSettings,
    alert: Alert,
    tags: Mapping[int, frozenset[str]] | None = None,
) -> bool:
    """Return whether a sink with ``settings`` wants ``alert``.

    Args:
        settings: the sink's filters.
        alert: the alert, with every source of its story.
        tags: each channel id's configured tags (see ``channel_tags``).
    """
    if not any(match_wanted(settings, match) for match in alert.matches):
        return False
    return _channel_wanted(settings, alert) and _tags_wanted(settings, alert, tags or {})


def in_window(clock: time, window: tuple[time, time]) -> bool:
    """Return whether the wall-clock ``clock`` falls in ``[start, end)``, wrapping midnight."""
    start, end = window
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def quiet_until(now: datetime, window: tuple[time, time] | None, tz: tzinfo) -> datetime | None:
    """Return when the quiet hours around ``now`` end (UTC), or None outside them.

    Raises:
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if window is None:
        return None
    local = now.astimezone(tz)
    if not in_window(local.time().replace(tzinfo=None), window):
        return None
    day = (
        local.date()
        if local.time().replace(tzinfo=None) < window[1]
        else local.date() + timedelta(1)
    )
    return datetime.combine(day, window[1], tzinfo=tz).astimezone(UTC)


def hold_until(
    settings: FilterSettings, alert: Alert, now: datetime, tz: tzinfo
) -> datetime | None:
    """Return until when quiet hours hold ``alert`` back, or None to send it now.

    Alerts whose top score reaches ``quiet_min_score`` are never held.
    """
    if alert.top_match.score >= settings.quiet_min_score:
        return None
    return quiet_until(now, settings.quiet_window(), tz)
