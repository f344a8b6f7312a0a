"""Seed a test server from a TOML or JSON file: users, bots, channels with posts, groups.

The format is documented in ``seed.example.toml``. Members are named by phone number or
username; a post is plain ``text`` or ``html`` (parsed into entities by Telethon's HTML
parser). This module only reads files and calls the server's test API.
"""

from __future__ import annotations

import datetime
import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telethon.extensions import html

from monitor.testing.state import ChannelRecord, UserRecord

if TYPE_CHECKING:
    from monitor.testing.server import TelegramTestServer


class SeedError(ValueError):
    """The seed file is unreadable or names something that does not exist."""


def read_seed(path: Path) -> dict[str, Any]:
    """Parse a ``.toml`` or ``.json`` seed file into a dict."""
    try:
        text = path.read_text(encoding="utf-8")
        data: dict[str, Any] = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as error:
        raise SeedError(f"{path}: {error}") from error
    return data


def load_seed(server: TelegramTestServer, path: Path) -> None:
    """Create everything ``path`` describes on ``server``."""
    data = read_seed(path)
    if "login_code" in data:
        server.state.login_code = str(data["login_code"])
    try:
        for user in data.get("users", []):
            server.add_user(**user)
        for bot in data.get("bots", []):
            server.add_bot(**bot)
        for spec in data.get("channels", []):
            seed_channel(server, spec)
        for spec in data.get("groups", []):
            members = [find_member(server, ref) for ref in spec.get("members", [])]
            server.add_group(spec["title"], members=members, username=spec.get("username"))
    except (KeyError, TypeError, ValueError) as error:
        raise SeedError(f"{path}: {error}") from error


def find_member(server: TelegramTestServer, ref: str) -> UserRecord:
    """A user named by phone number (``+…``) or username."""
    found: UserRecord | ChannelRecord | None = None
    if ref.startswith("+"):
        found = server.state.user_by_phone(ref)
    found = found or server.state.by_username(ref)
    if not isinstance(found, UserRecord):
        raise SeedError(f"no user {ref!r}")
    return found


def seed_channel(server: TelegramTestServer, spec: dict[str, Any]) -> ChannelRecord:
    """One ``[[channels]]`` table: the channel, its members and its posts."""
    channel = server.add_channel(
        username=spec.get("username"),
        title=spec.get("title", spec.get("username") or "Channel"),
        private=bool(spec.get("private", False)),
        about=spec.get("about", ""),
    )
    if spec.get("invite_hash"):
        channel.invite_hash = spec["invite_hash"]
    for ref in spec.get("members", []):
        server.join(find_member(server, ref), channel)
    for post in spec.get("posts", []):
        seed_post(server, channel, post)
    return channel


def seed_post(server: TelegramTestServer, channel: ChannelRecord, post: dict[str, Any]) -> int:
    """One ``[[channels.posts]]`` table."""
    if "html" in post:
        text, entities = html.parse(post["html"])
    else:
        text, entities = post.get("text", ""), []
    fwd = post.get("fwd_from")
    fwd_from = None
    if fwd:
        source = server.state.by_username(fwd["channel"])
        if not isinstance(source, ChannelRecord):
            raise SeedError(f"no channel {fwd['channel']!r} to forward from")
        fwd_from = (source.id, int(fwd["id"]))
    date = post.get("date")
    if isinstance(date, str):
        date = datetime.datetime.fromisoformat(date)
    return server.post_now(
        channel,
        text,
        entities,
        media=post.get("media"),
        grouped_id=post.get("grouped_id"),
        fwd_from=fwd_from,
        views=post.get("views"),
        date=date,
    )
