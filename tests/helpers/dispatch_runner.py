"""Run the dispatcher on a database and one webhook until killed (the crash test's victim).

Usage: ``python -m tests.helpers.dispatch_runner DATABASE_URL WEBHOOK_URL``
"""

from __future__ import annotations

import asyncio
import sys

from monitor.alerts.dispatch import Dispatcher
from monitor.alerts.webhook import WebhookSink
from monitor.config import DeliverySettings, WebhookSinkSettings
from monitor.storage.engine import create_engine
from monitor.storage.outbox import Outbox


async def main(database_url: str, webhook_url: str) -> None:
    """Dispatch forever; the test ends this process with SIGKILL."""
    engine = create_engine(database_url)
    settings = WebhookSinkSettings(kind="webhook", name="hook", url=webhook_url, timeout=10)
    sink = WebhookSink(settings)
    dispatcher = Dispatcher(Outbox(engine), {"hook": sink}, DeliverySettings(), idle_poll=0.1)
    await dispatcher.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
