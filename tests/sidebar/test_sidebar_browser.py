"""In Chromium: the real sidebar inside the sandbox agent workspace, loaded by the signed POST, with Zendesk's
own ZAF SDK (npm ``zendesk_app_framework_sdk``, bundled for the test) talking to the workspace host.

Skips (with the reason) when /usr/bin/chromium is missing or npm cannot provide the SDK.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from sandbox.zaf_sdk import SdkUnavailable, sdk_bundle
from tests.sandbox_fixtures import Emulator

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ZAF_CDN = "https://static.zdassets.com/zendesk_app_framework_sdk/**"


@pytest.fixture(scope="module")
def zaf_sdk() -> str:
    try:
        return sdk_bundle(ARTIFACTS / "zaf_sdk")
    except SdkUnavailable as exc:
        pytest.skip(f"zendesk_app_framework_sdk unavailable: {exc}")




class Desk:
    """The sandbox account with Deskmate installed in it, and the worker that keeps up with its events."""

    def __init__(self, helpdesk: Emulator, worker: Any) -> None:
        self.helpdesk = helpdesk
        self.worker = worker

    def settle(self) -> None:
        """Deliver every webhook and let the worker act on it, until nothing more happens."""
        for _ in range(6):
            self.helpdesk.flush_deliveries()
            self.helpdesk.state.wait_for_jobs(10)
            if not self.worker.run_until_idle(timers=True):
                break

    def ticket(self, email: str, subject: str, body: str) -> int:
        answer = self.helpdesk.call("POST", "/__sandbox/tickets", json={
            "requester_email": email, "subject": subject, "body": body, "via": "web"})
        return int(answer["ticket"]["id"])


@pytest.fixture
def desk(helpdesk: Emulator, served: str, runner: Any, worker: Any) -> Desk:
    state = helpdesk.state
    state.create_organization({"name": "Studio Aurora", "domain_names": ["studio-aurora.example"],
                               "tags": ["premium_partner"],
                               "organization_fields": {"partner_tier": "premium"}})
    state.create_user({"name": "Luca Rossi", "email": "luca.rossi@mail.example", "locale": "it",
                       "user_fields": {
        "plan": "Standard", "subscription_status": "active", "subscription_renews_at": "2026-12-14",
        "recent_purchases": "2026-11-20 | ppv | Derby di Milano | 9.99 EUR\n2026-11-14 | subscription | "
                            "Standard monthly | 12.99 EUR",
        "refunds": "2026-11-21 | ppv | Derby di Milano | 9.99 EUR", "promo_codes": "WELCOME10"}})
    state.create_user({"name": "Giulia Conti", "email": "giulia.conti@deskmate.example", "role": "agent",
                       "locale": "it"})
    result = runner.invoke(args=["zendesk", "install", "--service-url", served, "--with-app"])
    assert result.exit_code == 0, result.output
    return Desk(helpdesk, worker)


def open_sidebar(browser: Any, zaf_sdk: str, url: str) -> tuple[Any, Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.route(ZAF_CDN, lambda route: route.fulfill(status=200, body=zaf_sdk,
                                                    content_type="application/javascript"))
    page.goto(url)
    frame = page.wait_for_selector("#sidebar-frame").content_frame()
    frame.wait_for_selector("#app[data-state=ready], #app[data-state=error]", timeout=20_000)
    return page, frame


def test_sidebar_in_the_workspace_for_a_partner_and_a_user_with_a_linked_feature_request(
        browser, zaf_sdk, desk, helpdesk, admin_headers, client, served):
    partner = desk.ticket("ops@studio-aurora.example", "Live stream buffering on every event",
                          "Our pay-per-view stream keeps buffering since this morning.")
    viewer = desk.ticket("luca.rossi@mail.example", "Cannot download replays for offline viewing",
                         "Please let me download the replay of the match to watch it offline.")
    desk.settle()
    request = client.post("/admin/api/feature-requests", headers=admin_headers, json={
        "title": "Download replays for offline viewing",
        "description": "Viewers want to download event replays and watch them offline."}).get_json()
    request_id = request["id"]

    # A premium partner's ticket, seen by the admin (English).
    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{partner}")
    assert frame.get_attribute("#app", "data-state") == "ready", frame.inner_text("#app")
    text = frame.inner_text("#app")
    assert "Premium partner" in text
    assert "Tier 2" in text
    assert "Studio Aurora" in text
    assert re.search(r"\d+ h \d+ min left|\d+ min \d+ s left", text), text
    clock = frame.locator("[data-panel=sla] .dm-clock")
    left = int(clock.get_attribute("data-seconds-left"))
    assert 85 * 60 < left <= 90 * 60  # a premium partner's 90-minute first-reply target
    expect(clock).not_to_have_attribute("data-seconds-left", str(left), timeout=5000)  # it ticks in the page
    assert frame.inner_text("[data-panel=customer]").count("premium") >= 1
    # The frame was resized by ZAF to the sidebar's height.
    height = page.eval_on_selector("#sidebar-frame", "el => el.getBoundingClientRect().height")
    assert height > 300
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar_premium_partner.png"), full_page=True)
    page.close()

    # A user's ticket, seen by an Italian agent: the sidebar speaks Italian; link the suggested request.
    giulia = helpdesk.state.user_by_email("giulia.conti@deskmate.example")["id"]
    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{viewer}?as={giulia}")
    text = frame.inner_text("#app").lower()  # section titles are shown in capitals
    assert "utente" in text and "prima risposta" in text and "richieste di funzionalità" in text, text
    assert "premium partner" not in text
    assert "standard" in text and "derby di milano" in text and "welcome10" in text
    page.screenshot(path=str(ARTIFACTS / "sidebar_user_it.png"), full_page=True)
    suggestion = frame.locator(f"[data-list=suggestions] [data-request='{request_id}'] button")
    if suggestion.count() == 0:  # not similar enough to be suggested: find it by its number instead
        frame.fill("#dm-request-search", f"#{request_id}")
        suggestion = frame.locator(f"[data-list=search-results] [data-request='{request_id}'] button")
    suggestion.first.click()
    frame.wait_for_selector(f"[data-list=linked] [data-request='{request_id}']", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "sidebar_linked_request.png"), full_page=True)
    page.close()

    linked = client.get(f"/admin/api/feature-requests/{request_id}", headers=admin_headers).get_json()
    assert [(link["ticket_id"], link["linked_via"]) for link in linked["links"]] == [(viewer, "sidebar")]
    for name in ("sidebar_premium_partner.png", "sidebar_user_it.png", "sidebar_linked_request.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
