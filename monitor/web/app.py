"""The desk's ASGI app: its routes, templates, static files and guard, on one database engine.

``build_app`` composes the pieces; each route (``pages``, ``api``) is a few lines that call the
storage API through ``Desk`` and render a template or JSON. Nothing here writes SQL or imports
telethon.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from monitor.config import Config
from monitor.rules.schema import CATEGORIES
from monitor.storage.desk import DeskReader
from monitor.storage.feedback import FeedbackStore
from monitor.storage.repository import Repository
from monitor.storage.rows import StoredPost
from monitor.storage.search import SearchHit, search_posts
from monitor.web import api, links, pages
from monitor.web.filters import SearchCriteria
from monitor.web.security import Guard
from monitor.web.views import PostView, found_view, post_view

HERE = Path(__file__).parent


@dataclass(frozen=True)
class ClusterScope:
    """What the health page needs to show a cluster: the enabled channels and the lease."""

    refs: tuple[str, ...]
    lease_seconds: float


@dataclass
class Desk:
    """What the routes reach: the storage readers and writers of one engine."""

    reader: DeskReader
    feedback: FeedbackStore
    repository: Repository
    templates: Jinja2Templates
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    link_secret: str | None = None
    cluster: ClusterScope | None = None

    async def views(self, posts: list[StoredPost]) -> list[PostView]:
        """Return the posts as desk rows, with their story peers and current feedback."""
        ids = [stored.id for stored in posts]
        peers, feedback = await asyncio.gather(
            self.reader.story_peers(ids), self.feedback.feedback_for(ids)
        )
        return [post_view(p, peers.get(p.id, []), feedback.get(p.id)) for p in posts]

    async def find(self, criteria: SearchCriteria) -> list[SearchHit]:
        """Return what a full-text search finds, newest first (``monitor.storage.search``)."""
        return await search_posts(
            self.reader.engine,
            criteria.query,
            flagged=criteria.flagged,
            channel=criteria.channel,
            since=criteria.since,
            until=criteria.until,
            limit=criteria.limit,
            before=criteria.before,
        )

    async def found(self, hits: list[SearchHit]) -> list[PostView]:
        """Return the hits as desk rows, in their order, showing the snippet and its hits."""
        stored = await self.reader.posts_by_id(hit.id for hit in hits)
        views = {view.id: view for view in await self.views(stored)}
        return [found_view(views[hit.id], hit) for hit in hits if hit.id in views]


def _templates() -> Jinja2Templates:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )
    environment.globals["categories"] = CATEGORIES
    environment.filters["utc"] = _utc
    return Jinja2Templates(env=environment)


def _utc(moment: datetime | None) -> str:
    """``2026-12-04 23:10 UTC`` for a template."""
    return "" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def channel_tags(config: Config) -> dict[str, tuple[str, ...]]:
    """Each configured tag and the references of the channels that carry it."""
    tags: dict[str, list[str]] = {}
    for channel in config.channels:
        for tag in channel.tags:
            tags.setdefault(tag, []).append(channel.ref)
    return {tag: tuple(refs) for tag, refs in sorted(tags.items())}


def cluster_scope(config: Config) -> ClusterScope | None:
    """The cluster the health page shows: on PostgreSQL, where several instances may run."""
    from monitor.cluster.member import is_cluster_database

    if not is_cluster_database(config.database.url):
        return None
    refs = tuple(channel.ref for channel in config.channels if channel.enabled)
    return ClusterScope(refs, float(config.cluster.lease_seconds))


def build_app(
    engine: AsyncEngine,
    token: str | None,
    tags: dict[str, tuple[str, ...]] | None = None,
    link_secret: str | None = None,
    cluster: ClusterScope | None = None,
) -> Starlette:
    """Return the desk's ASGI app on ``engine``; with ``token``, every request needs it.

    ``tags`` maps each channel tag to its channels' references (the tag filter);
    ``link_secret`` checks the signed feedback links of webhook alerts; ``cluster`` adds
    the instances and their leases to the health page.
    """
    routes: list[Any] = [
        *pages.routes,
        *api.routes,
        *links.routes,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, token=token)])
    app.state.token = token
    app.state.desk = Desk(
        DeskReader(engine),
        FeedbackStore(engine),
        Repository(engine),
        _templates(),
        tags or {},
        link_secret,
        cluster,
    )
    return app
