"""Feedback from the alert itself: a press of an alert's button, recorded like the desk's.

The Telegram sink hears a press and hands it here with the chat message it was under and who
pressed. The press is honoured only for an alert this sink sent as that very message (so a
forged callback cannot judge another post), then recorded through the same storage calls as
``monitor feedback`` and ``monitor mute``. The result says what to answer the presser and how
the keyboard should look now. Nothing here touches Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.alerts.buttons import MUTE_HOURS, Judged, Press, answer_text, message_ids
from monitor.errors import FeedbackError
from monitor.logs import get_logger
from monitor.storage.engine import DATABASE_ERRORS, error_line
from monitor.storage.feedback import AlertOrigin, FeedbackStore

log = get_logger("monitor.alerts.presses")


@dataclass(frozen=True)
class PressOutcome:
    """What to tell the presser, and the keyboard's new state (None: leave it as it is)."""

    answer: str
    judged: Judged | None = None


def shown_who(who: str) -> str:
    """How a judge is shown on a button: ``telegram:@ann`` as ``@ann``, others as recorded."""
    return who.removeprefix("telegram:")


class PressRecorder:
    """Records presses of alert buttons in the feedback store."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    async def record(self, press: Press, *, sink: str, message_id: int, who: str) -> PressOutcome:
        """Record ``press`` of the button under ``message_id`` sent by ``sink``."""
        try:
            origin = await self.store.alert_origin(press.alert_id)
            if origin is None or not _sent_as(origin, sink, message_id):
                log.warning("alert_press_refused", sink=sink, alert_id=press.alert_id)
                return PressOutcome("This alert is not known here; nothing was recorded")
            await self._apply(press, origin, who)
            judged = await self.judged(origin)
        except FeedbackError as error:
            return PressOutcome(str(error))
        except DATABASE_ERRORS as error:
            log.error("alert_press_failed", sink=sink, error=error_line(error))
            return PressOutcome("Could not record it (database trouble); press again later")
        log.info("alert_press_recorded", sink=sink, alert_id=press.alert_id, action=press.action)
        return PressOutcome(answer_text(press), judged)

    async def _apply(self, press: Press, origin: AlertOrigin, who: str) -> None:
        if press.action == "mute":
            await self.store.mute("channel", origin.channel, MUTE_HOURS, who)
        else:
            await self.store.record_feedback(origin.post_id, press.action, None, who)

    async def judged(self, origin: AlertOrigin) -> Judged:
        """The keyboard's state for an alert: its post's current label, its channel's mute."""
        current = (await self.store.feedback_for([origin.post_id])).get(origin.post_id)
        mutes = await self.store.active_mutes()
        mute = next((m for m in mutes if m.kind == "channel" and m.target == origin.channel), None)
        return Judged(
            label=current.label if current else None,
            label_by=shown_who(current.who) if current else None,
            muted_by=shown_who(mute.who) if mute else None,
        )


def _sent_as(origin: AlertOrigin, sink: str, message_id: int) -> bool:
    """Tell whether the alert went out through ``sink`` as (part of) ``message_id``.

    An alert whose reference is not recorded yet (the press beat the bookkeeping) counts.
    """
    if origin.sink != sink:
        return False
    return origin.external_id is None or message_id in message_ids(origin.external_id)
