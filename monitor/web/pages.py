"""The desk's HTML pages: flagged stories, search, charts, channels, mutes, login.

The clicks (feedback, mute, undo) are made by ``static/desk.js`` against the JSON API, so
these routes only read; the login route sets the access-token cookie.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.storage.desk_queries import flags_per_day, top_rules
from monitor.web.charts import busiest, columns, days_between
from monitor.web.filters import (
    FilterError,
    desk_filter,
    more_query,
    next_page_query,
    search_criteria,
)
from monitor.web.security import COOKIE
from monitor.web.views import ClusterHealth, channel_health, cluster_health

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from monitor.web.app import ClusterScope, Desk


def desk_of(request: Request) -> Desk:
    """The ``Desk`` of the app serving ``request``."""
    desk: Desk = request.app.state.desk
    return desk


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """Render template ``name`` with ``context`` (autoescaped)."""
    templates = desk_of(request).templates
    return templates.TemplateResponse(request, name, context, status_code=status)


async def flagged(request: Request) -> Response:
    """The flagged stories (``?flagged=false``: the other posts), newest first, filtered and a
    page at a time."""
    desk = desk_of(request)
    params = request.query_params
    try:
        criteria = desk_filter(params, desk.tags)
    except FilterError as error:
        return render(
            request, "flagged.html", 400, error=str(error), posts=[], params=params, tags=[]
        )
    page = await desk.reader.flagged_page(criteria)
    return render(
        request,
        "flagged.html",
        posts=await desk.views(page.posts),
        params=params,
        channels=await desk.reader.channel_names(),
        tags=list(desk.tags),
        unflagged=not criteria.flagged,
        older=next_page_query(params, page.next) if page.next else None,
    )


async def search(request: Request) -> Response:
    """Full-text search over every stored post, flagged or not, newest first."""
    params = request.query_params
    try:
        criteria = search_criteria(params)
    except FilterError as error:
        return render(request, "search.html", 400, error=str(error), posts=[], params=params)
    desk = desk_of(request)
    posts = await desk.found(await desk.find(criteria)) if criteria.query else []
    full = len(posts) == criteria.limit
    more = more_query(params, posts[-1].id) if full else None
    return render(request, "search.html", posts=posts, params=params, more=more)


async def mutes(request: Request) -> Response:
    """The mutes: those in force, and with ``?all=1`` the expired and undone ones too."""
    show_all = request.query_params.get("all") == "1"
    found = await desk_of(request).feedback.list_mutes(include_undone=show_all)
    now = datetime.now(UTC)
    rows = [(mute, mute.state(now)) for mute in found]
    return render(request, "mutes.html", rows=rows, show_all=show_all)


#: Instances whose heartbeat is older than this are left out (as in ``monitor cluster``).
INSTANCES_SHOWN_FOR = 86400


async def cluster_view(engine: AsyncEngine, scope: ClusterScope) -> ClusterHealth:
    """The cluster's instances and unheld channels, read as ``monitor cluster`` reads them."""
    from monitor.storage.leases import Leases

    overview = await Leases(engine).overview(list(scope.refs), INSTANCES_SHOWN_FOR)
    return cluster_health(overview, scope.lease_seconds)


async def channels(request: Request) -> Response:
    """The channels' health: status, last post, poll lag, flags, errors, flood waits; on
    PostgreSQL also the instances sharing the database and the channels nobody holds."""
    desk = desk_of(request)
    rows = await desk.repository.channel_overview()
    now = datetime.now(UTC)
    instances = None
    if desk.cluster is not None:
        instances = await cluster_view(desk.repository.engine, desk.cluster)
    return render(
        request,
        "channels.html",
        rows=[channel_health(row, now) for row in rows],
        cluster=instances,
    )


# A year of per-channel days takes 420 ms at a million posts (SQLite); 90 days, 130 ms.
MAX_DAYS = 90


async def charts(request: Request) -> Response:
    """Flags per day by category and by channel (``?days=N``, default 30), and the rules
    that fired most in that time with their feedback precision."""
    days_param = request.query_params.get("days", "30")
    days = int(days_param) if days_param.isdigit() and 1 <= int(days_param) <= MAX_DAYS else 30
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    engine = desk_of(request).reader.engine
    span = days_between(first, today)
    per_channel = await flags_per_day(engine, since, by="channel")
    data = {
        "category": columns(await flags_per_day(engine, since), span),
        "channel": columns(busiest(per_channel), span),
    }
    rules = await top_rules(engine, since)
    return render(request, "charts.html", data=data, rules=rules, days=days)


async def login_page(request: Request) -> Response:
    """The form that asks for the access token."""
    return render(request, "login.html")


async def login(request: Request) -> Response:
    """Check the token sent as JSON and keep it in an HttpOnly, SameSite=Strict cookie."""
    token = request.app.state.token
    try:
        given = str((await request.json()).get("token", ""))
    except (ValueError, AttributeError):
        given = ""
    if token is None or not hmac.compare_digest(given.encode(), token.encode()):
        return JSONResponse({"error": "wrong access token"}, status_code=401)
    response = JSONResponse({"ok": True})
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure)
    return response


async def no_icon(request: Request) -> Response:
    """No favicon: an empty answer rather than a 404 in every browser console."""
    return Response(status_code=204)


routes = [
    Route("/", flagged),
    Route("/search", search),
    Route("/mutes", mutes),
    Route("/channels", channels),
    Route("/charts", charts),
    Route("/favicon.ico", no_icon),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
]
