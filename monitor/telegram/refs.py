"""Channel references as users write them, parsed into one of three kinds.

``@name``, ``name``, ``t.me/name``, ``https://t.me/s/name`` and ``https://t.me/name/123`` are
usernames; ``-1001234567890`` or ``1234567890`` are numeric ids; ``t.me/+hash`` and
``t.me/joinchat/hash`` are invite links. Pure code: it never talks to Telegram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from monitor.errors import ConfigError
from monitor.models import Channel

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_LINK = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.(?:me|dog)/(?P<path>.+)$", re.IGNORECASE
)
_RESERVED = frozenset({"joinchat", "c", "s", "addstickers", "share", "proxy", "socks"})
_CHANNEL_ID_OFFSET = 1_000_000_000_000  # Bot-API channel ids are -(offset + bare id)


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A parsed reference: a username, a numeric channel id, or an invite hash."""

    kind: Literal["username", "id", "invite"]
    value: str

    @property
    def channel_id(self) -> int:
        """Return the bare channel id (only for ``kind == "id"``)."""
        return int(self.value)


def parse_ref(text: str) -> ChannelRef:
    """Parse a channel reference from the config.

    Raises:
        ConfigError: the text is no channel reference, with the accepted forms.
    """
    ref = text.strip()
    if re.fullmatch(r"-?\d+", ref):
        return ChannelRef("id", str(_bare_id(int(ref), text)))
    link = _LINK.match(ref)
    if link:
        return _parse_link_path(link.group("path").strip("/"), text)
    name = ref.removeprefix("@")
    if _USERNAME.fullmatch(name):
        return ChannelRef("username", name.lower())
    raise ConfigError(_problem(text))


def _bare_id(number: int, original: str) -> int:
    """Turn Bot-API style ids (-100xxxxxxxxxx) into the bare channel id.

    Raises:
        ConfigError: the number cannot be a channel's: zero, a group's small negative id,
            or past the largest channel id.
    """
    if number < 0:
        number = -number - _CHANNEL_ID_OFFSET
    if not 0 < number < _CHANNEL_ID_OFFSET:
        raise ConfigError(
            f"{original!r} is not a channel id; use the id Telegram shows for the channel, "
            "like 1234567890 or -1001234567890"
        )
    return number


def _parse_link_path(path: str, original: str) -> ChannelRef:
    parts = path.split("?")[0].split("/")
    if parts[0].startswith("+") and len(parts[0]) > 1:
        return ChannelRef("invite", parts[0][1:])
    if parts[0] == "joinchat" and len(parts) > 1 and parts[1]:
        return ChannelRef("invite", parts[1])
    if parts[0] == "c" and len(parts) > 1 and parts[1].isdigit():
        return ChannelRef("id", str(_bare_id(int(parts[1]), original)))
    if parts[0] == "s" and len(parts) > 1:
        parts = parts[1:]
    elif parts[0] in _RESERVED:
        raise ConfigError(_problem(original))
    if _USERNAME.fullmatch(parts[0]):
        return ChannelRef("username", parts[0].lower())
    raise ConfigError(_problem(original))


def _problem(text: str) -> str:
    return (
        f"{text!r} is not a channel reference; use @name, t.me/name, a numeric id "
        "or an invite link t.me/+hash"
    )


def names_channel(text: str, channel: Channel) -> bool:
    """Tell whether the reference ``text`` names ``channel`` (by its ref, username or id).

    Raises:
        ConfigError: ``text`` is no channel reference.
    """
    wanted = parse_ref(text)
    if channel.ref == text.strip():
        return True
    if wanted.kind == "username" and (channel.username or "").lower() == wanted.value:
        return True
    if wanted.kind == "id" and channel.telegram_id == wanted.channel_id:
        return True
    try:
        return parse_ref(channel.ref) == wanted
    except ConfigError:
        return False
