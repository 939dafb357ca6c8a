"""In Chromium, without internet: the sidebar says that Zendesk's SDK did not load (in the browser's language)
instead of "No ticket open"; with the sandbox's own copy of the SDK (``/zaf_sdk.js``, as ``make run`` uses)
it works with every request outside this machine refused.

Screenshots: tests/artifacts/sidebar_offline_sdk_failed.png, sidebar_offline_sdk_failed_it.png, _fr.png and
sidebar_offline_local_sdk.png.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from sandbox.zendesk.sdk import EXTENSION, LocalSdk
from tests.sandbox_fixtures import Emulator
from tests.sidebar.test_sidebar_browser import ARTIFACTS, ZAF_CDN, desk, zaf_sdk

pytestmark = pytest.mark.browser
__all__ = ["desk", "zaf_sdk"]  # the fixtures this module reuses


def offline(route: Any) -> None:
    """Only this machine answers: everything else fails as with no network."""
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort("internetdisconnected")


def open_ticket(browser: Any, url: str, locale: str = "en-US") -> tuple[Any, Any]:
    page = browser.new_context(locale=locale, viewport={"width": 1400, "height": 800}).new_page()
    page.route("**/*", offline)
    page.goto(url)
    frame = page.wait_for_selector("#sidebar-frame").content_frame()
    frame.wait_for_selector("#app[data-state=ready], #app[data-state=error], #app[data-state=empty]",
                            timeout=45_000)
    return page, frame


@pytest.fixture
def local_sdk(app_config: dict[str, Any], helpdesk: Emulator, zaf_sdk: str) -> str:
    """The helpdesk emulator serves the SDK bundled from npm (the cache ``zaf_sdk`` filled), as under make run."""
    helpdesk.server.app.extensions[EXTENSION] = LocalSdk(ARTIFACTS / "zaf_sdk").start()
    app_config["sidebar_zaf_sdk_url"] = f"{helpdesk.url}/zaf_sdk.js"
    return app_config["sidebar_zaf_sdk_url"]


def test_without_internet_the_sidebar_says_the_sdk_did_not_load_and_what_to_do(browser, desk, helpdesk):
    ticket = desk.ticket("ops@studio-aurora.example", "Live stream buffering", "Since 20:00.")
    desk.settle()

    page, frame = open_ticket(browser, f"{helpdesk.url}/agent/tickets/{ticket}")
    app = frame.locator("#app")
    expect(app).to_have_attribute("data-state", "error")
    expect(app).to_contain_text("Deskmate cannot reach the helpdesk")
    expect(app).to_contain_text("Zendesk's app framework did not load from static.zdassets.com: check the "
                                "internet connection, then reload the ticket.")
    assert "No ticket open" not in app.inner_text()
    expect(frame.get_by_role("button", name="Try again")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar_offline_sdk_failed.png"))
    page.close()

    page, frame = open_ticket(browser, f"{helpdesk.url}/agent/tickets/{ticket}", locale="it-IT")
    app = frame.locator("#app")
    expect(app).to_contain_text("Deskmate non raggiunge l'helpdesk")
    expect(app).to_contain_text("Il framework delle app di Zendesk non si è caricato da static.zdassets.com: "
                                "controlla la connessione a internet, poi ricarica il ticket.")
    expect(frame.get_by_role("button", name="Riprova")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "sidebar_offline_sdk_failed_it.png"))
    page.close()

    page, frame = open_ticket(browser, f"{helpdesk.url}/agent/tickets/{ticket}", locale="fr-FR")
    app = frame.locator("#app")
    expect(app).to_contain_text("Deskmate ne joint pas le helpdesk")
    expect(app).to_contain_text("Le framework d\u2019applications de Zendesk ne s\u2019est pas chargé depuis "
                                "static.zdassets.com : vérifiez la connexion internet, puis rechargez le ticket.")
    expect(frame.get_by_role("button", name="Réessayer")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "sidebar_offline_sdk_failed_fr.png"))
    page.close()


def test_with_the_sandboxs_own_sdk_the_sidebar_works_without_internet(browser, local_sdk, desk, helpdesk):
    ticket = desk.ticket("ops@studio-aurora.example", "Live stream buffering", "Since 20:00.")
    desk.settle()

    page, frame = open_ticket(browser, f"{helpdesk.url}/agent/tickets/{ticket}")
    app = frame.locator("#app")
    expect(app).to_have_attribute("data-state", "ready")
    expect(app).to_contain_text("Premium partner")
    expect(app).to_contain_text("Studio Aurora")
    page.screenshot(path=str(ARTIFACTS / "sidebar_offline_local_sdk.png"))
    page.close()


# An SDK that loads but whose helpdesk never answers (a host page that does not speak ZAF).
SILENT_SDK = ("window.ZAFClient = {init: function () { return {"
              "get: function () { return new Promise(function () {}); }, on: function () {}, invoke: function () {}};"
              " }};")


def test_when_the_helpdesk_does_not_answer_the_sidebar_says_so(browser, desk, helpdesk):
    ticket = desk.ticket("ops@studio-aurora.example", "Live stream buffering", "Since 20:00.")
    desk.settle()

    page = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 800}).new_page()
    page.route(ZAF_CDN, lambda route: route.fulfill(status=200, body=SILENT_SDK,
                                                    content_type="application/javascript"))
    page.goto(f"{helpdesk.url}/agent/tickets/{ticket}")
    frame = page.wait_for_selector("#sidebar-frame").content_frame()
    app = frame.locator("#app")
    expect(app).to_have_attribute("data-state", "error", timeout=20_000)
    expect(app).to_contain_text("Deskmate cannot reach the helpdesk")
    expect(app).to_contain_text("The helpdesk did not say which ticket is open within 10 seconds: reload the ticket.")
    page.close()
