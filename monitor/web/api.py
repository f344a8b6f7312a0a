"""The desk's JSON API: posts, feedback and mutes; described at ``/api/openapi.json``.

The pages' buttons use it too, so what a script can do and what a click does are the same
code. Bad input is a 400 with ``{"error": "..."}`` saying what to fix.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.errors import FeedbackError
from monitor.logs import get_logger
from monitor.web.filters import FilterError, cursor_param, desk_filter, search_criteria
from monitor.web.openapi import OPENAPI
from monitor.web.pages import desk_of
from monitor.web.views import feedback_json, hit_json, post_json

WHO = "web"
log = get_logger("monitor.web")


def error(message: str, status: int = 400) -> JSONResponse:
    """A JSON error answer."""
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise FeedbackError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise FeedbackError("the body must be a JSON object")
    return body


async def list_posts(request: Request) -> Response:
    """``GET /api/posts?flagged=true&limit=N``: flagged (or unflagged) posts, newest first."""
    params = request.query_params
    try:
        criteria = desk_filter(params, desk_of(request).tags)
    except FilterError as problem:
        return error(str(problem))
    desk = desk_of(request)
    page = await desk.reader.flagged_page(criteria)
    feedback = await desk.feedback.feedback_for(p.id for p in page.posts)
    items = [post_json(p, feedback.get(p.id)) for p in page.posts]
    headers = {"X-Next-After": cursor_param(page.next)} if page.next else {}
    return JSONResponse(items, headers=headers)


async def search(request: Request) -> Response:
    """``GET /api/search?q=WORDS``: the stored posts with all the words (in any form), newest
    first: where, a snippet and the words' offsets in it (``highlights``), and feedback."""
    try:
        criteria = search_criteria(request.query_params)
    except FilterError as problem:
        return error(str(problem))
    desk = desk_of(request)
    hits = await desk.find(criteria) if criteria.query else []
    feedback = await desk.feedback.feedback_for(hit.id for hit in hits)
    items = [hit_json(hit, feedback.get(hit.id)) for hit in hits]
    headers = {"X-Next-Before": str(hits[-1].id)} if len(hits) == criteria.limit else {}
    return JSONResponse(items, headers=headers)


async def get_post(request: Request) -> Response:
    """``GET /api/posts/{id}``: one stored post, flagged or not."""
    desk = desk_of(request)
    post_id = request.path_params["post_id"]
    found = await desk.reader.posts_by_id([post_id])
    if not found:
        return error(f"no stored post with id {post_id}", 404)
    feedback = await desk.feedback.feedback_for([post_id])
    return JSONResponse(post_json(found[0], feedback.get(post_id)))


async def post_feedback(request: Request) -> Response:
    """``POST /api/posts/{id}/feedback`` with ``{"label": ..., "category": ...}``."""
    post_id = request.path_params["post_id"]
    try:
        body = await _body(request)
        category = body.get("category")
        recorded = await desk_of(request).feedback.record_feedback(
            post_id,
            str(body.get("label", "")),
            str(category) if category else None,
            WHO,
        )
    except FeedbackError as problem:
        return error(str(problem), 404 if "no stored post" in str(problem) else 400)
    log.info("feedback_recorded", post_id=post_id, label=recorded.label, who=WHO)
    return JSONResponse({"post_id": post_id, **(feedback_json(recorded) or {})}, 201)


def _mute_json(mute: Any) -> dict[str, Any]:
    return {
        "id": mute.id,
        "kind": mute.kind,
        "target": mute.target,
        "until": mute.until.isoformat() if mute.until else None,
        "created_at": mute.created_at.isoformat(),
        "who": mute.who,
        "undone_at": mute.undone_at.isoformat() if mute.undone_at else None,
    }


async def list_mutes(request: Request) -> Response:
    """``GET /api/mutes``: the mutes in force (``?all=1``: every one ever made)."""
    show_all = request.query_params.get("all") == "1"
    found = await desk_of(request).feedback.list_mutes(include_undone=show_all)
    return JSONResponse([_mute_json(mute) for mute in found])


def _hours(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FeedbackError(f"hours {value!r}: give a number of hours, or none") from None


async def create_mute(request: Request) -> Response:
    """``POST /api/mutes`` with ``{"kind": "channel"|"rule", "target": ..., "hours": N}``."""
    try:
        body = await _body(request)
        mute = await desk_of(request).feedback.mute(
            str(body.get("kind", "")), str(body.get("target", "")), _hours(body.get("hours")), WHO
        )
    except FeedbackError as problem:
        return error(str(problem))
    log.info("mute_created", kind=mute.kind, target=mute.target, until=mute.until, who=WHO)
    return JSONResponse(_mute_json(mute), 201)


async def undo_mute(request: Request) -> Response:
    """``POST /api/mutes/{id}/undo``: the mute stops holding alerts back."""
    try:
        mute = await desk_of(request).feedback.undo_mute(request.path_params["mute_id"])
    except FeedbackError as problem:
        return error(str(problem), 404)
    log.info("mute_undone", mute_id=mute.id, kind=mute.kind, target=mute.target, who=WHO)
    return JSONResponse(_mute_json(mute))


async def openapi(request: Request) -> Response:
    """``GET /api/openapi.json``: this API, described."""
    return JSONResponse(OPENAPI)


routes = [
    Route("/api/posts", list_posts, methods=["GET"]),
    Route("/api/posts/{post_id:int}", get_post, methods=["GET"]),
    Route("/api/search", search, methods=["GET"]),
    Route("/api/posts/{post_id:int}/feedback", post_feedback, methods=["POST"]),
    Route("/api/mutes", list_mutes, methods=["GET"]),
    Route("/api/mutes", create_mute, methods=["POST"]),
    Route("/api/mutes/{mute_id:int}/undo", undo_mute, methods=["POST"]),
    Route("/api/openapi.json", openapi, methods=["GET"]),
]
