"""Signed feedback links (``/feedback/<token>``), as webhook alerts carry them.

The link's token (``monitor.feedback_links``) is the permission: it names one post and one
label, is signed with ``[feedback] secret`` and expires. Opening it only shows the post and a
button; the judgement is recorded by the button's POST (same-origin, like every change), so a
link preview or a prefetching mail client records nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.feedback_links import FeedbackLink, FeedbackLinkError, verify_feedback
from monitor.web.pages import desk_of, render

WHO = "link"


def _verified(request: Request) -> FeedbackLink:
    """What the request's token says.

    Raises:
        FeedbackLinkError: no secret is configured, or the token is forged or expired.
    """
    secret = desk_of(request).link_secret
    if not secret:
        raise FeedbackLinkError("this desk takes no feedback links ([feedback] secret unset)")
    return verify_feedback(request.path_params["token"], secret)


async def show(request: Request) -> Response:
    """The post the link names and a button that records the link's label."""
    desk = desk_of(request)
    try:
        link = _verified(request)
    except FeedbackLinkError as error:
        return render(request, "link.html", 400, error=str(error), post=None)
    found = await desk.reader.posts_by_id([link.post_id])
    if not found:
        return render(request, "link.html", 404, error="the post is no longer stored", post=None)
    view = (await desk.views(found))[0]
    return render(request, "link.html", post=view, label=link.label)


async def record(request: Request) -> Response:
    """Record the judgement the link names (who = ``link``)."""
    try:
        link = _verified(request)
        saved = await desk_of(request).feedback.record_feedback(link.post_id, link.label, None, WHO)
    except FeedbackLinkError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    return JSONResponse({"post_id": saved.post_id, "label": saved.label, "who": saved.who})


routes = [
    Route("/feedback/{token}", show, methods=["GET"]),
    Route("/feedback/{token}", record, methods=["POST"]),
]
