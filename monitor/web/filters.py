"""The desk's query parameters (category, channel, tag, time range, feedback, page) as a filter.

Shared by the pages and the API, so ``/?category=awol`` and ``/api/posts?category=awol`` mean
the same. A bad value is a ``FilterError`` naming the parameter and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from monitor.rules.schema import CATEGORIES
from monitor.storage.desk import FEEDBACK_STATES, Cursor, DeskFilter

MAX_LIMIT = 500
FILTER_KEYS = ("flagged", "category", "channel", "tag", "since", "until", "feedback")


class FilterError(ValueError):
    """A query parameter the desk cannot use; the message says which and how to fix it."""


def _moment(name: str, text: str, *, end: bool = False) -> datetime | None:
    """A date (``2026-12-01``, the day's end for ``until``) or an ISO time; naive is UTC."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FilterError(f"{name}={text!r}: use a date like 2026-12-01") from None
    if end and len(text.strip()) == 10:
        moment += timedelta(days=1)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise FilterError(f"{name}={value!r}: use one of {', '.join(allowed)}")
    return value


def _cursor(text: str) -> Cursor | None:
    if not text:
        return None
    date, _, post_id = text.replace(" ", "+").rpartition("~")  # a "+" unquoted as a space
    try:
        return Cursor(datetime.fromisoformat(date), int(post_id))
    except ValueError:
        raise FilterError(f"after={text!r}: use the link of the page's 'older' button") from None


def _limit(text: str, default: int) -> int:
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise FilterError(f"limit={text!r}: give a number from 1 to {MAX_LIMIT}")
    return int(text)


def _tagged(text: str, tags: Mapping[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    if not text:
        return None
    if text not in tags:
        known = ", ".join(sorted(tags)) or "none configured"
        raise FilterError(f"tag={text!r}: no channel has this tag (tags: {known})")
    return tags[text]


def desk_filter(
    params: Mapping[str, str],
    tags: Mapping[str, tuple[str, ...]] | None = None,
    default_limit: int = 50,
) -> DeskFilter:
    """Return the filter the query parameters name (``tags``: each tag's channels).

    Raises:
        FilterError: a parameter is malformed or names an unknown category, state or tag.
    """
    return DeskFilter(
        category=_choice("category", params.get("category", ""), CATEGORIES),
        channel=params.get("channel", "").strip() or None,
        tagged=_tagged(params.get("tag", ""), tags or {}),
        since=_moment("since", params.get("since", "")),
        until=_moment("until", params.get("until", ""), end=True),
        feedback=_choice("feedback", params.get("feedback", ""), FEEDBACK_STATES),
        after=_cursor(params.get("after", "")),
        limit=_limit(params.get("limit", ""), default_limit),
        flagged=_choice("flagged", params.get("flagged", ""), ("true", "false")) != "false",
    )


def cursor_param(cursor: Cursor) -> str:
    """The ``after`` value of the page that starts below ``cursor`` (URL-safe as it is)."""
    when = cursor.date.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return f"{when}~{cursor.post_id}"


def next_page_query(params: Mapping[str, str], cursor: Cursor) -> str:
    """The query string of the next page: the same filters, ``after`` the cursor."""
    kept = {key: params[key] for key in (*FILTER_KEYS, "limit") if params.get(key)}
    return urlencode({**kept, "after": cursor_param(cursor)})


@dataclass(frozen=True)
class SearchCriteria:
    """What ``/search`` was asked: the words and the conditions ``search_posts`` takes."""

    query: str
    flagged: bool | None
    channel: str | None
    since: datetime | None
    until: datetime | None
    before: int | None
    limit: int


def search_criteria(params: Mapping[str, str], default_limit: int = 50) -> SearchCriteria:
    """Return the search the query parameters name (``q``, ``flagged``, ``channel``, dates).

    Raises:
        FilterError: a parameter is malformed.
    """
    flagged = _choice("flagged", params.get("flagged", ""), ("true", "false"))
    before = params.get("before", "")
    if before and not before.isdigit():
        raise FilterError(f"before={before!r}: use the link of the page's 'more' button")
    return SearchCriteria(
        query=params.get("q", "").strip(),
        flagged=None if flagged is None else flagged == "true",
        channel=params.get("channel", "").strip() or None,
        since=_moment("since", params.get("since", "")),
        until=_moment("until", params.get("until", ""), end=True),
        before=int(before) if before else None,
        limit=_limit(params.get("limit", ""), default_limit),
    )


def more_query(params: Mapping[str, str], before: int) -> str:
    """The query string of the next search page: the same search, ``before`` the last id."""
    kept = {
        k: params[k]
        for k in ("q", "flagged", "channel", "since", "until", "limit")
        if params.get(k)
    }
    return urlencode({**kept, "before": before})
