"""Signed feedback links: a URL that records one judgement of one post, without a login.

Webhook alerts carry them (``[feedback] public_url`` + ``/feedback/<token>``); the web desk
serves ``/feedback/<token>`` and records what a valid token says. A token is
``<post id>.<label>.<issued>.<signature>``: the signature is the HMAC-SHA256, keyed with the
``[feedback]`` secret, of the rest (base64url, no padding), so a token cannot be altered to
name another post or label, and it expires ``max_age`` seconds after it was issued. Pure:
no clock unless given, no I/O; the secret never appears in a token, an error or a repr.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from monitor.errors import FeedbackError

LINK_LABELS: tuple[str, ...] = ("confirmed", "false_positive")
MAX_AGE = 90 * 24 * 3600  # seconds a link stays valid: a quarter is long enough to read
_DOMAIN = b"monitor-feedback-link:v1:"  # keeps these HMACs apart from the webhook signatures


class FeedbackLinkError(FeedbackError):
    """A feedback token is malformed, forged or expired (the message says which)."""


@dataclass(frozen=True)
class FeedbackLink:
    """What a valid token says: record ``label`` for post ``post_id``; issued at Unix time."""

    post_id: int
    label: str
    issued: int


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise FeedbackLinkError("no feedback secret; set [feedback] secret")
    return key


def _signature(key: bytes, signed: str) -> str:
    digest = hmac.new(key, _DOMAIN + signed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_feedback(
    post_id: int, label: str, secret: str | bytes, *, issued: float | None = None
) -> str:
    """Return the token that records ``label`` for post ``post_id``.

    Raises:
        FeedbackLinkError: the label cannot be given by link, or the secret is empty.
    """
    if label not in LINK_LABELS:
        raise FeedbackLinkError(f"label {label!r}: a link records {' or '.join(LINK_LABELS)}")
    when = int(time.time() if issued is None else issued)
    signed = f"{int(post_id)}.{label}.{when}"
    return f"{signed}.{_signature(_key(secret), signed)}"


def verify_feedback(
    token: str, secret: str | bytes, *, now: float | None = None, max_age: float = MAX_AGE
) -> FeedbackLink:
    """Return what ``token`` says, if it is authentic and not expired.

    Raises:
        FeedbackLinkError: the token is malformed, its signature is wrong, or it expired.
    """
    parts = token.strip().split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        raise FeedbackLinkError("not a feedback link token")
    post_id, label, issued, signature = parts
    expected = _signature(_key(secret), f"{post_id}.{label}.{issued}")
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise FeedbackLinkError("this feedback link is not valid (altered, or another secret)")
    age = (time.time() if now is None else now) - int(issued)
    if age > max_age:
        raise FeedbackLinkError("this feedback link has expired; judge the post on the desk")
    if label not in LINK_LABELS:  # signed by us, so only an older version could say so
        raise FeedbackLinkError(f"label {label!r} cannot be given by link")
    return FeedbackLink(int(post_id), label, int(issued))


def feedback_url(
    base_url: str, post_id: int, label: str, secret: str | bytes, *, issued: float | None = None
) -> str:
    """Return ``<base_url>/feedback/<token>``: the link that records ``label`` for the post."""
    token = sign_feedback(post_id, label, secret, issued=issued)
    return f"{base_url.rstrip('/')}/feedback/{token}"
