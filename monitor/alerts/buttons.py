"""The feedback buttons under a Telegram alert: what they say and what their presses carry.

Three buttons: confirmed, false positive, mute the channel for 24 hours. A button's callback
data is ``fb:<action>:<alert id>`` (well under Telegram's 64 bytes); the alert id leads to the
post and its channel. Once pressed, the keyboard shows what was recorded and by whom, and
stays pressable (people change their minds). Pure: the sink turns these rows into Telegram
buttons, and ``monitor.alerts.presses`` records the presses.
"""

from __future__ import annotations

from dataclasses import dataclass

MUTE_HOURS = 24
_PREFIX = "fb"
# action code in the callback data -> what it records
ACTIONS: dict[str, str] = {"c": "confirmed", "f": "false_positive", "m": "mute"}
_CODES = {action: code for code, action in ACTIONS.items()}
_TEXT = {
    "confirmed": "✅ Confirmed",
    "false_positive": "❌ False positive",
    "mute": f"🔇 Mute channel {MUTE_HOURS} h",
}

Keyboard = tuple[tuple[tuple[str, bytes], ...], ...]


@dataclass(frozen=True)
class Press:
    """A press of one of an alert's buttons: ``action`` is confirmed, false_positive or mute."""

    action: str
    alert_id: int


@dataclass(frozen=True)
class Judged:
    """What an alert's keyboard shows: the post's current label and a mute, with who did it."""

    label: str | None = None
    label_by: str | None = None
    muted_by: str | None = None


def button_data(action: str, alert_id: int) -> bytes:
    """The callback data of ``action``'s button under alert ``alert_id``."""
    return f"{_PREFIX}:{_CODES[action]}:{alert_id}".encode()


def parse_press(data: bytes) -> Press | None:
    """Read a button's callback data; None for data that is not one of ours."""
    try:
        prefix, code, alert_id = data.decode("ascii").split(":")
    except (UnicodeDecodeError, ValueError):
        return None
    if prefix != _PREFIX or code not in ACTIONS or not alert_id.isdigit():
        return None
    return Press(ACTIONS[code], int(alert_id))


def keyboard(alert_id: int, judged: Judged | None = None) -> Keyboard:
    """The buttons of alert ``alert_id``: one row, the recorded choice marked with its judge."""
    shown = judged or Judged()
    labels = {"confirmed": shown.label_by, "false_positive": shown.label_by}
    row = []
    for action in ("confirmed", "false_positive", "mute"):
        text = _TEXT[action]
        by = shown.muted_by if action == "mute" else labels[action]
        if action == "mute" and by is not None:
            text = f"🔇 Muted {MUTE_HOURS} h · {by}"
        elif action == shown.label and by is not None:
            text = f"{text} · {by}"
        row.append((text, button_data(action, alert_id)))
    return (tuple(row),)


def answer_text(press: Press) -> str:
    """The short notice the presser sees once the press is recorded."""
    if press.action == "mute":
        return f"Channel muted for {MUTE_HOURS} h: its posts are stored, not alerted"
    return f"Recorded: {press.action.replace('_', ' ')}"


def message_ids(ref: str | None) -> list[int]:
    """The message ids of a Telegram sink's reference (``chat:1,2``)."""
    if not ref or ":" not in ref:
        return []
    ids = ref.rsplit(":", 1)[1]
    return [int(part) for part in ids.split(",") if part.isdigit()]
