"""The widget in a real browser (Debian's Chromium): banner, dismissal, return after an update, inert text.

Deskmate and the help-center page (the helpdesk emulator's ``/hc/``, or a page in Zendesk's own request-form
markup) are served on two loopback origins, so the widget's request is a real cross-origin request that only
works because the page's origin is configured for the account.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from app.accounts import upsert_account
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

FORM_ID = 360001
MALICIOUS_TITLE = "<img src=x onerror=\"window.__pwned='title'\"> Live streams fail"
MALICIOUS_BODY = (
    "We are on it. <script>window.__pwned='script'</script>\n\n"
    "- <img src=x onerror=\"window.__pwned='img'\">\n"
    "- [click me](javascript:window.__pwned='link')\n"
    "- [status page](https://status.example.com/live)"
)

# Zendesk's request form names its ticket-form picker request_issue_type_select; so does this page.
HELP_CENTER_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Help center</title></head>
<body>
<header><h1>Acme help center</h1></header>
<main>
  <form id="new_request">
    <label for="request_issue_type_select">What can we help with?</label>
    <select id="request_issue_type_select" name="request_issue_type_select">
      <option value="">-</option>
      <option value="{form_id}">Streaming problem</option>
      <option value="2">Billing</option>
    </select>
    <label for="request_subject">Subject</label><input id="request_subject" name="request[subject]">
  </form>
</main>
<script src="{widget}" data-account="acme" async></script>
</body></html>"""


def help_center(widget_url: str, lang: str = "en") -> Flask:
    page = Flask("help_center")

    @page.get("/hc/en-us/requests/new")
    def new_request() -> Any:
        return HELP_CENTER_PAGE.format(widget=widget_url, form_id=FORM_ID, lang=lang)

    return page


@pytest.fixture
def servers(app: Flask, clock: Any) -> Iterator[tuple[str, str]]:
    from sandbox.server import ServerThread

    deskmate = ServerThread(app).start()
    center = ServerThread(help_center(f"{deskmate.url}/news/widget.js")).start()
    upsert_account(app, subdomain="acme", now=clock.now(),
                   settings={"breaking_news": {"allowed_origins": [center.url], "poll_seconds": 5}})
    yield deskmate.url, center.url
    center.stop()
    deskmate.stop()


def admin(deskmate: str, token: str, method: str, path: str, **body: Any) -> dict[str, Any]:
    answer = requests.request(method, f"{deskmate}/admin/api/news{path}", json=body,
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()  # type: ignore[no-any-return]


@pytest.fixture
def sandbox_help_center(app: Flask, clock: Any, helpdesk: Any, deskmate_server: Any) -> tuple[str, str]:
    """The helpdesk emulator's help-center page carrying the widget served by Deskmate over HTTP."""
    helpdesk.call("POST", "/__sandbox/config", json={"widget_url": f"{deskmate_server.url}/news/widget.js"})
    upsert_account(app, subdomain="acme", now=clock.now(),
                   settings={"breaking_news": {"allowed_origins": [helpdesk.url], "poll_seconds": 5}})
    return deskmate_server.url, f"{helpdesk.url}/hc/"


def test_banner_shows_dismisses_returns_after_an_update_and_stays_inert(
        sandbox_help_center, helpdesk, browser, admin_token, worker):
    deskmate, page_url = sandbox_help_center
    forms = helpdesk.api("GET", "/ticket_forms.json")["ticket_forms"]
    partner_form = next(form["id"] for form in forms if form["name"] == "Partner escalation")
    incident = admin(deskmate, admin_token, "POST", "/incidents", title=MALICIOUS_TITLE, body=MALICIOUS_BODY,
                     severity="outage", keywords=["black screen"])["incident"]
    admin(deskmate, admin_token, "PUT", f"/quick-links/{partner_form}", links=[
        {"kind": "article", "title": "Fix buffering", "url": "https://help.acme.example/articles/1"},
        {"kind": "notice", "title": "<b>Known issue</b>", "text": "Streams may stutter tonight."}])
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_url)

    banner = page.locator("#deskmate-breaking-news #deskmate-news")  # in the theme's reserved place
    item = banner.locator(".dmn-item")
    item.wait_for(timeout=10_000)
    assert banner.get_attribute("role") == "region"
    assert banner.get_attribute("aria-live") == "polite"
    assert banner.get_attribute("aria-label") == "Service status"
    assert "Outage: <img src=x onerror=" in item.locator(".dmn-title").inner_text()
    assert "<script>window.__pwned='script'</script>" in item.inner_text()
    close = item.locator("button.dmn-close")
    assert close.get_attribute("aria-label").startswith("Dismiss this notice")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "breaking_news_banner.png"), full_page=True)

    # Inert: nothing ran, no element came from the text, the only link is the plain https one.
    assert page.evaluate("window.__pwned") is None
    assert banner.locator("img, script, iframe").count() == 0
    assert [a.get_attribute("href") for a in banner.locator("a").all()] == ["https://status.example.com/live"]
    item.get_by_text("click me").click()
    assert page.evaluate("window.__pwned") is None

    # Quick links for the ticket form the customer picks, built from text too.
    links = page.locator("#deskmate-quick-links")
    assert links.count() == 0 or links.is_hidden()
    page.select_option("#ticket_form_id", str(partner_form))
    links.wait_for(timeout=5_000)
    assert links.locator("a").get_attribute("href") == "https://help.acme.example/articles/1"
    assert "<b>Known issue</b>" in links.inner_text()
    page.screenshot(path=str(ARTIFACTS / "breaking_news_quick_links.png"), full_page=True)

    # Dismissed: gone now, and still gone after a reload (remembered per incident update).
    close.click()
    assert item.count() == 0
    page.reload()
    page.wait_for_function("document.getElementById('deskmate-news') !== null")
    assert page.locator("#deskmate-news .dmn-item").count() == 0

    # An update brings it back at the next poll (every 5 s here, with jitter).
    admin(deskmate, admin_token, "POST", f"/incidents/{incident['id']}/updates", status="identified",
          body="A faulty encoder; a fix is rolling out.")
    page.locator("#deskmate-news .dmn-item").wait_for(timeout=15_000)
    assert "A faulty encoder" in page.locator("#deskmate-news").inner_text()
    assert "Identified" in page.locator("#deskmate-news .dmn-meta").inner_text()
    page.screenshot(path=str(ARTIFACTS / "breaking_news_banner_updated.png"), full_page=True)
    assert page.evaluate("window.__pwned") is None

    # A customer who writes anyway: the ticket is tagged and counted against the incident.
    page.fill("#email", "vera@example.com")
    page.fill("#subject", "Black screen on my TV")
    page.fill("#description", "Nothing plays.")
    page.click("button[type=submit]")
    page.locator("#request-created").wait_for(timeout=5_000)
    helpdesk.flush_deliveries()
    worker.run_until_idle()
    counted = admin(deskmate, admin_token, "GET", f"/incidents/{incident['id']}")["incident"]
    assert counted["ticket_count"] == 1
    assert errors == []


def test_zendesk_request_form_markup_and_page_language(app, servers, browser, admin_token, clock):
    """Zendesk's own request form (``request_issue_type_select``) on an Italian page."""
    deskmate, _ = servers
    from sandbox.server import ServerThread

    italian = ServerThread(help_center(f"{deskmate}/news/widget.js", lang="it")).start()
    try:
        upsert_account(app, subdomain="acme", now=clock.now(),
                       settings={"breaking_news": {"allowed_origins": [italian.url]}})
        admin(deskmate, admin_token, "POST", "/incidents", title="Streams fail",
              translations={"it": {"title": "Le dirette non partono", "body": "Stiamo verificando."}})
        admin(deskmate, admin_token, "PUT", f"/quick-links/{FORM_ID}", links=[
            {"kind": "article", "title": "Risolvere il buffering", "url": "https://help.acme.example/it/1"}])
        page = browser.new_page()
        page.goto(f"{italian.url}/hc/en-us/requests/new")
        item = page.locator("#deskmate-news .dmn-item")
        item.wait_for(timeout=10_000)
        assert item.locator(".dmn-title").inner_text() == "Servizio rallentato: Le dirette non partono"
        assert item.get_attribute("lang") == "it"
        assert item.locator("button").get_attribute("aria-label").startswith("Chiudi questo avviso")
        page.select_option("#request_issue_type_select", str(FORM_ID))
        links = page.locator("#deskmate-quick-links")
        links.wait_for(timeout=5_000)
        assert links.get_attribute("aria-label") == "Prima di scriverci"
        page.select_option("#request_issue_type_select", "2")
        assert links.is_hidden()
    finally:
        italian.stop()


def test_page_on_an_origin_that_is_not_configured_gets_no_banner(app, servers, browser, admin_token, clock):
    deskmate, _ = servers
    from sandbox.server import ServerThread

    stranger = ServerThread(help_center(f"{deskmate}/news/widget.js")).start()
    try:
        admin(deskmate, admin_token, "POST", "/incidents", title="Streams fail")
        page = browser.new_page()
        # The server answers (the data is public), but the browser keeps the answer from this page.
        with page.expect_event("requestfailed", predicate=lambda r: "/news/active.json" in r.url) as failed:
            page.goto(f"{stranger.url}/hc/en-us/requests/new")
        assert failed.value.failure
        assert page.locator("#deskmate-news .dmn-item").count() == 0
        assert page.evaluate("document.body.innerText").count("Streams fail") == 0
    finally:
        stranger.stop()


# Counts the widget's own requests only: the help-center page around it may fetch other things.
COUNT_FETCHES = """
window.__fetches = 0;
const realFetch = window.fetch;
window.fetch = function (resource) {
  if (String(resource && resource.url ? resource.url : resource).includes("/news/")) window.__fetches += 1;
  return realFetch.apply(this, arguments);
};
"""
HIDE = ("Object.defineProperty(document, 'hidden', {value: %s, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'));")


def test_widget_polls_with_jitter_and_not_in_a_background_tab(servers, browser, admin_token):
    deskmate, center = servers  # poll_seconds is 5 here
    admin(deskmate, admin_token, "POST", "/incidents", title="Streams fail")
    page = browser.new_page()
    page.add_init_script(COUNT_FETCHES)
    page.clock.install()
    page.goto(f"{center}/hc/en-us/requests/new")
    page.locator("#deskmate-news .dmn-item").wait_for(timeout=10_000)
    assert page.evaluate("window.__fetches") == 1

    page.clock.run_for(4_900)  # the poll comes after 5 s plus up to a third of jitter, never before
    assert page.evaluate("window.__fetches") == 1
    page.clock.run_for(1_800)
    assert page.evaluate("window.__fetches") == 2

    page.wait_for_function("document.querySelectorAll('#deskmate-news .dmn-item').length === 1")
    page.evaluate(HIDE % "true")
    page.clock.run_for(120_000)
    assert page.evaluate("window.__fetches") == 2  # a background tab costs the server nothing
    page.evaluate(HIDE % "false")
    assert page.evaluate("window.__fetches") == 3  # back in front after a while: refreshed at once
