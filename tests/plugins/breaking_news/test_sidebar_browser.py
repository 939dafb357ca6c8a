"""In Chromium: a live incident in the real sidebar (inside the sandbox agent workspace, loaded by the signed
POST, with Zendesk's own ZAF SDK), for an English, a French and an Italian agent: the incident's text keeps its
paragraphs and list, and its link is a real link that opens in a new tab, out of reach of the sidebar's frame.

Screenshots go to tests/artifacts/admin/ (sidebar-incident-en.png, sidebar-incident-fr.png, ...).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.sidebar.test_sidebar_browser import ARTIFACTS, desk, open_sidebar, zaf_sdk

pytestmark = pytest.mark.browser
__all__ = ["desk", "zaf_sdk"]  # the fixtures this module reuses

BODY = ("Live streams of pay-per-view events fail to start for some viewers.\n\n"
        "- Replays are **not** affected\n- Refunds are automatic\n\n"
        "Follow [the status page](https://status.example.com/live) for news. "
        "<img src=x onerror=\"window.__pwned=1\"> [not a link](javascript:window.__pwned=2)")
AGENTS = {"en": None,
          "fr": ("Camille Durand", "camille.durand@deskmate.example"),
          "it": ("Giulia Conti", "giulia.conti@deskmate.example")}
WORDS = {"en": ("Active incidents", "Outage", "1 ticket about it", "This ticket", "Since "),
         "fr": ("Incidents en cours", "Panne", "1 ticket lié", "Ce ticket", "Depuis le "),
         "it": ("Incidenti in corso", "Interruzione", "1 ticket collegato", "Questo ticket", "Inizio: ")}


@pytest.mark.parametrize("language", ["en", "fr", "it"])
def test_an_incident_in_the_sidebar_keeps_its_paragraphs_and_its_link(browser, zaf_sdk, desk, helpdesk, news,
                                                                        language):
    news.create(title="Live streams fail to start", body=BODY, severity="outage", keywords=["stream"])
    ticket = desk.ticket("luca.rossi@mail.example", "The stream does not start", "Black screen since 8 pm.")
    desk.settle()
    query = ""
    if AGENTS[language]:
        name, email = AGENTS[language]
        if helpdesk.state.user_by_email(email) is None:
            helpdesk.state.create_user({"name": name, "email": email, "role": "agent", "locale": language})
        query = f"?as={helpdesk.state.user_by_email(email)['id']}"
    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{ticket}{query}")
    assert frame.get_attribute("#app", "data-state") == "ready", frame.inner_text("#app")
    title, severity, count, linked, since = WORDS[language]
    panel = frame.locator("[data-panel=breaking_news]")
    expect(panel.locator(".dm-section__title")).to_have_text(title)
    incident = panel.locator("[data-list=incidents] > li")
    expect(incident).to_have_count(1)
    for words in ("Live streams fail to start", severity, count, linked, since):
        expect(incident).to_contain_text(words)
    text = incident.locator("[data-text]")
    expect(text.locator("p")).to_have_count(2)
    expect(text.locator("li")).to_have_count(2)
    expect(text.locator("li strong")).to_have_text("not")
    link = text.get_by_role("link", name="the status page")
    expect(link).to_have_attribute("href", "https://status.example.com/live")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(text.locator("a")).to_have_count(1)  # the javascript: address stays words
    expect(text).to_contain_text('<img src=x onerror="window.__pwned=1">')  # shown as text, never markup
    assert frame.evaluate("window.__pwned") is None
    # A click opens the status page in a new tab; the sidebar stays where it is.
    page.context.route("https://status.example.com/**", lambda route: route.fulfill(
        status=200, body="<title>Status</title>status page", content_type="text/html"))
    with page.context.expect_page() as opened:
        link.click()
    status_tab = opened.value
    status_tab.wait_for_load_state()
    assert status_tab.url == "https://status.example.com/live"
    assert status_tab.evaluate("window.opener") is None
    status_tab.close()
    ARTIFACTS.joinpath("admin").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin" / f"sidebar-incident-{language}.png"), full_page=True)
    page.close()
