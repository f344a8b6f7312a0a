"""The desk in tests: served in the test's event loop, and a real browser (Debian's chromium)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Config
from monitor.web.server import DeskServer

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()


@contextlib.asynccontextmanager
async def serve_desk(config: Config, listen: str = "127.0.0.1:0") -> AsyncIterator[str]:
    """Serve the desk for ``config`` on a free port; yield its address, stop it afterwards."""
    server = DeskServer(config, listen)
    stop = asyncio.Event()
    task = asyncio.create_task(server.serve(stop))
    ready = asyncio.create_task(server.ready.wait())
    await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if task.done():
        task.result()  # raises the desk's error
    try:
        yield server.address.rstrip("/")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


@contextlib.asynccontextmanager
async def browser_page() -> AsyncIterator[Any]:
    """A page in headless chromium driven by Playwright (never its own browser download)."""
    if not HAVE_CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs chromium)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            yield page
        finally:
            await browser.close()
