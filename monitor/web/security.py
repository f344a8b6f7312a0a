"""The desk's safety: where it may listen, who may read it, which requests may change things.

* Loopback by default. Beyond loopback the desk refuses to start without an access token
  (``MONITOR_WEB_TOKEN`` or ``[web] token_file``); the token is never logged or shown.
* With a token, every request carries it: ``Authorization: Bearer ...`` (scripts) or the
  ``monitor_desk`` cookie that ``/login`` sets (browsers; HttpOnly, SameSite=Strict).
* Without one (loopback), the ``Host`` must be a loopback name, so a page elsewhere cannot
  rebind its own domain to 127.0.0.1 and read the desk.
* A request that changes something (POST) must come from the desk's own pages: a custom header
  (``X-Monitor-Desk``) that no cross-site form can send and no cross-site script may send
  without a CORS preflight the desk never grants, and ``Origin`` / ``Sec-Fetch-Site`` that say
  same-origin when the browser sends them.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.errors import ConfigError

DEFAULT_LISTEN = "127.0.0.1:8470"
COOKIE = "monitor_desk"
CSRF_HEADER = "x-monitor-desk"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
OPEN_PATHS = frozenset({"/login", "/static/desk.css", "/static/desk.js"})
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; "
     b"img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]  # fmt: skip


def parse_listen(listen: str) -> tuple[str, int]:
    """Split ``host:port`` (``[::1]:8470`` for IPv6).

    Raises:
        ConfigError: the port is not a number from 0 to 65535.
    """
    host, _, port = listen.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"--listen {listen!r}: give HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is a loopback address or ``localhost``."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_problem(host: str, token: str | None) -> str | None:
    """Say why the desk may not listen on ``host`` (beyond loopback without a token)."""
    if token or is_loopback(host):
        return None
    return (
        f"web.listen: {host} is beyond loopback and the desk has no access token; "
        "set MONITOR_WEB_TOKEN or [web] token_file, or listen on 127.0.0.1"
    )


def check_exposure(host: str, token: str | None, source: str) -> None:
    """Refuse to listen beyond loopback without an access token.

    Raises:
        ConfigError: ``host`` is not loopback and there is no token.
    """
    problem = exposure_problem(host, token)
    if problem is not None:
        raise ConfigError(f"{source}: {problem}")


def _host_name(request: Request) -> str:
    host = request.headers.get("host", "")
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


def has_token(request: Request, token: str) -> bool:
    """Tell whether the request carries the access token (bearer header or cookie)."""
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    given = given or request.cookies.get(COOKIE, "")
    return hmac.compare_digest(given.encode(), token.encode())


def same_origin(request: Request) -> bool:
    """Tell whether a state-changing request comes from the desk's own pages."""
    if request.headers.get(CSRF_HEADER) != "1":
        return False
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin.split("://", 1)[-1] == request.headers.get("host", "")


def _open(path: str) -> bool:
    """The login page, its static files, and signed feedback links (their token is the
    permission) need no access token."""
    return path in OPEN_PATHS or path.startswith("/feedback/")


def refusal(request: Request, status: int, reason: str) -> Response:
    """A refusal: JSON for the API, a redirect to the login page or plain text otherwise."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": reason}, status_code=status)
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    return Response(reason, status_code=status, media_type="text/plain")


class Guard:
    """ASGI middleware applying the rules above to every HTTP request."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer with a refusal."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        problem = self.check(request)
        send = with_headers(send)
        if problem is None:
            await self.app(scope, receive, send)
            return
        await refusal(request, *problem)(scope, receive, send)

    def check(self, request: Request) -> tuple[int, str] | None:
        """Return (status, reason) when the request must be refused, else None."""
        if self.token is None and not is_loopback(_host_name(request)):
            return 421, "the desk answers only to a loopback Host without an access token"
        if request.method not in SAFE_METHODS and not same_origin(request):
            return 403, "cross-site request refused (send X-Monitor-Desk: 1 from the same origin)"
        if self.token is None or _open(request.url.path):
            return None
        if not has_token(request, self.token):
            return 401, "access token required (Authorization: Bearer TOKEN, or /login)"
        return None


def with_headers(send: Send) -> Send:
    """Wrap ``send`` to add the desk's security headers to every response.

    The content policy allows only the desk's own scripts and styles: even a script tag that
    slipped into a page would not run.
    """

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
        await send(message)

    return sending
