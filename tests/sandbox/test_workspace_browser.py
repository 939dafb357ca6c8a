"""In Chromium: the agent workspace hosts a sidebar app that uses Zendesk's own ZAF SDK; screenshots.

Skips (with the reason) when /usr/bin/chromium is missing or npm cannot provide zendesk_app_framework_sdk.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from flask import Flask, Response, request
from slack_sdk import WebClient

from sandbox.seed import seed_helpdesk, seed_slack
from sandbox.server import ServerThread
from sandbox.testing import (
    SLACK_BOT_TOKEN,
    RunningHelpdesk,
    RunningSlack,
    WebhookReceiver,
    start_helpdesk,
    start_slack,
)
from sandbox.zaf_sdk import SdkUnavailable, sdk_bundle

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SIDEBAR_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="/zaf_sdk.js"></script></head>
<body><p id="status">starting</p><script>
var out = {};
var client = ZAFClient.init();
client.on("app.registered", function (context) { out.registered = context; });
client.get("ticket.id").then(function (answer) {
  out.ticketId = answer["ticket.id"];
  return client.get(["ticket.subject", "ticket.requester", "ticket.organization", "currentUser",
                     "ticket.nope"]);
}).then(function (answer) {
  out.many = answer;
  return client.invoke("resize", {height: "300px"});
}).then(function (answer) {
  out.resize = answer;
  return client.set("ticket.priority", "urgent");
}).then(function (answer) {
  out.set = answer;
  return client.request("/api/v2/tickets/" + out.ticketId + ".json");
}).then(function (answer) {
  out.requested = answer.ticket.id;
  window.__zaf = out;
  document.getElementById("status").textContent =
    "ticket " + out.ticketId + " · " + out.many["ticket.subject"];
}).catch(function (error) { window.__zafError = String(error && error.message || error); });
</script></body></html>"""


class SidebarApp:
    """A tiny app server for the sidebar frame: the SDK bundle, the test page, and the tokens posted to it."""

    def __init__(self, bundle: str) -> None:
        self.tokens: list[str] = []
        self.widget_hits = 0
        app = Flask("sidebar_app")

        @app.route("/sidebar", methods=["GET", "POST"])
        def sidebar() -> Response:
            if request.method == "POST":
                self.tokens.append(request.form["token"])
            return Response(SIDEBAR_PAGE, mimetype="text/html")

        @app.get("/zaf_sdk.js")
        def sdk() -> Response:
            return Response(bundle, mimetype="application/javascript")

        @app.get("/news/widget.js")
        def widget() -> Response:
            self.widget_hits += 1
            return Response(
                "document.getElementById('deskmate-breaking-news').textContent = 'Breaking: all good';",
                mimetype="application/javascript",
            )

        self.server = ServerThread(app)


@pytest.fixture(scope="module")
def sidebar_app() -> Iterator[SidebarApp]:
    if shutil.which("npm") is None and not (ARTIFACTS / "zaf_sdk" / "zaf_sdk.bundle.js").exists():
        pytest.skip("npm is not available to fetch zendesk_app_framework_sdk")
    try:
        bundle = sdk_bundle(ARTIFACTS / "zaf_sdk")
    except SdkUnavailable as exc:
        pytest.skip(f"zendesk_app_framework_sdk unavailable: {exc}")
    app = SidebarApp(bundle)
    app.server.start()
    yield app
    app.server.stop()


@pytest.fixture(scope="module")
def sandbox(sidebar_app: SidebarApp) -> Iterator[tuple[RunningHelpdesk, RunningSlack]]:
    slack = start_slack()
    seed_slack(slack.state)
    helpdesk = start_helpdesk(
        sidebar_url=f"{sidebar_app.server.url}/sidebar",
        sidebar_signed_urls=True,
        widget_url=f"{sidebar_app.server.url}/news/widget.js",
        slack_url=slack.url,
    )
    seed_helpdesk(helpdesk.state)
    yield helpdesk, slack
    helpdesk.server.stop()
    helpdesk.state.close()
    slack.server.stop()


def test_sidebar_app_talks_zaf_with_the_workspace(
    browser: Any, sandbox: tuple[RunningHelpdesk, RunningSlack], sidebar_app: SidebarApp
) -> None:
    helpdesk, _ = sandbox
    ticket = helpdesk.state.get_ticket(42)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{helpdesk.url}/agent/tickets/42")
    frame_element = page.wait_for_selector("#sidebar-frame")
    frame = frame_element.content_frame()
    frame.wait_for_function("window.__zaf !== undefined || window.__zafError !== undefined", timeout=15000)
    assert frame.evaluate("window.__zafError") is None
    out = frame.evaluate("window.__zaf")
    assert out["ticketId"] == 42
    assert out["registered"]["context"]["location"] == "ticket_sidebar"
    assert out["registered"]["metadata"]["installationId"] > 0
    assert out["many"]["ticket.subject"] == ticket["subject"]
    assert out["many"]["ticket.requester"]["id"] == ticket["requester_id"]
    assert out["many"]["currentUser"]["email"] == helpdesk.state.admin_email
    assert "ticket.nope" in out["many"]["errors"]
    assert out["set"]["ticket.priority"] == "urgent"
    assert page.inner_text("#ticket-priority") == "urgent"
    assert out["requested"] == 42
    assert frame_element.bounding_box()["height"] == 300
    # Signed URLs: the frame was loaded by a POST whose token verifies with the app's public key.
    installation = helpdesk.state.sidebar_installation()[1]  # type: ignore[index]
    pem = requests.get(f"{helpdesk.url}/api/v2/apps/{installation['app_id']}/public_key.pem", timeout=5).text
    claims = jwt.decode(
        sidebar_app.tokens[-1],
        pem,
        algorithms=["RS256"],
        issuer="sandbox.zendesk.com",
        audience=f"https://sandbox.zendesk.com/api/v2/apps/installations/{installation['id']}.json",
    )
    assert claims["context"]["ticket_id"] == 42
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workspace_ticket.png"), full_page=True)
    page.close()


def test_workspace_list_and_help_center_screenshots(
    browser: Any, sandbox: tuple[RunningHelpdesk, RunningSlack], sidebar_app: SidebarApp
) -> None:
    helpdesk, _ = sandbox
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{helpdesk.url}/agent/")
    assert page.locator("table.tickets tbody tr").count() == 300
    page.screenshot(path=str(ARTIFACTS / "workspace_list.png"))
    page.goto(f"{helpdesk.url}/hc/")
    page.wait_for_function("document.getElementById('deskmate-breaking-news').textContent.length > 0")
    assert sidebar_app.widget_hits >= 1
    assert page.locator("#ticket_form_id option").count() == 2
    page.screenshot(path=str(ARTIFACTS / "help_center.png"), full_page=True)
    page.fill("#email", "new.viewer@mail.example")
    page.fill("#description", "The replay has no sound")
    page.select_option("#ticket_form_id", label="Partner escalation")
    page.click("button[type=submit]")
    created = int(page.inner_text("#request-created").split("#")[1].split()[0])
    assert helpdesk.state.get_ticket(created)["via"]["channel"] == "web"
    page.close()
    for name in ("workspace_list.png", "help_center.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000


def test_slack_channel_view_renders_and_sends_clicks(
    browser: Any, sandbox: tuple[RunningHelpdesk, RunningSlack], webhook_receiver: WebhookReceiver
) -> None:
    _, slack = sandbox
    client = WebClient(token=SLACK_BOT_TOKEN, base_url=slack.api_url)
    posted = client.chat_postMessage(
        channel="#sla-alerts",
        text="SLA warning",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": "First reply due in 15 min"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*#42* from *Studio Aurora* <https://x.example|open>"},
                "fields": [
                    {"type": "mrkdwn", "text": "*Group*\nTier 2"},
                    {"type": "mrkdwn", "text": "*Due*\n10:30"},
                ],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "premium partner · 90 min target"}]},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "take_ticket",
                        "value": "42",
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Take it"},
                    }
                ],
            },
        ],
    )
    client.chat_postMessage(channel="#sla-alerts", thread_ts=posted["ts"], text="Giulia is on it")
    client.chat_update(
        channel="#sla-alerts",
        ts=posted["ts"],
        text="SLA warning (updated)",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "~First reply due~ answered"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "take_ticket",
                        "value": "42",
                        "text": {"type": "plain_text", "text": "Take it"},
                    }
                ],
            },
        ],
    )
    slack.control("POST", "/config", json={"interactivity_url": webhook_receiver.url})
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(f"{slack.url}/__sandbox/channel/sla-alerts?static=1")
    assert "Giulia is on it" in page.inner_text(".thread")
    assert page.locator("details.history").count() == 1
    page.screenshot(path=str(ARTIFACTS / "slack_channel.png"), full_page=True)
    page.click("button[data-action-id=take_ticket]")
    webhook_receiver.wait_for(1)
    assert "take_ticket" in webhook_receiver.requests[0].body.decode()
    page.close()
    assert (ARTIFACTS / "slack_channel.png").stat().st_size > 5_000
