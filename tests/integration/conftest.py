"""Fixtures for integration tests: the local Telegram test server and signed-in clients."""

from __future__ import annotations

from tests.helpers.telegram_server import client, make_client, tg_server

__all__ = ["client", "make_client", "tg_server"]
