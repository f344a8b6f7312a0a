"""Invite links are secrets: whoever holds ``t.me/+hash`` can join the private channel.

Wherever a channel reference is shown or logged, ``mask_invite_links`` keeps the first few
characters of the hash (enough to tell two links apart) and drops the rest. Pure code: it
imports nothing but ``re``.
"""

from __future__ import annotations

import re

INVITE_LINK = re.compile(
    r"(?P<prefix>(?:https?://)?(?:www\.)?(?:t|telegram)\.(?:me|dog)/(?:\+|joinchat/))"
    r"(?P<hash>[A-Za-z0-9_-]+)",
    re.IGNORECASE,
)
SHOWN = 4


def mask_invite_links(text: str) -> str:
    """Return ``text`` with the hash of every invite link cut to its first characters."""
    return INVITE_LINK.sub(lambda link: link["prefix"] + mask_hash(link["hash"]), text)


def mask_hash(invite_hash: str) -> str:
    """Return the first ``SHOWN`` characters of a long hash and an ellipsis (only it if short)."""
    return f"{invite_hash[:SHOWN]}…" if len(invite_hash) > 2 * SHOWN else "…"


def invite_hashes(refs: list[str]) -> list[str]:
    """Return the invite hashes among channel references (to mask them anywhere in the log)."""
    return [m["hash"] for m in map(INVITE_LINK.search, refs) if m is not None]
