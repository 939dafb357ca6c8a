"""Chromium for the browser tests: Debian's build (Playwright cannot download its own here), launched once per
module, and a Deskmate app served on loopback for it. Import the fixtures where a test needs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import ServerThread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium; the test skips, saying why, where it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    """The test's app on a loopback port; its base URL."""
    server = ServerThread(app).start()
    yield server.url
    server.stop()


def admin_page(browser: Any, served: str, admin_token: str, language: str) -> Any:
    """A new browser page of an admin in Rome reading ``language``, signed in through the login form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Rome",
                                  locale={"en": "en-GB", "fr": "fr-FR", "it": "it-IT"}[language])
    page = context.new_page()
    page.goto(f"{served}/admin/login?lang={language}")
    page.fill("#token", admin_token)
    page.click("button.primary")
    page.wait_for_url(f"{served}/admin/**")
    return page
