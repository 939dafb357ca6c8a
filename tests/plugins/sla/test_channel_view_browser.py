"""In Chromium: the Slack emulator's channel view shows Deskmate's SLA messages as Slack would (dates in the
reader's time, emoji, bold), and "Open in helpdesk" opens the ticket in the sandbox's agent workspace.

Screenshots: tests/artifacts/slack_channel_sla.png and tests/artifacts/slack_open_in_helpdesk.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.plugins.sla.conftest import clock_of

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def test_sla_messages_render_as_in_slack_and_open_the_sandbox_ticket(desk, route, worker, clock, helpdesk,
                                                                       slack_emulator, browser):
    ticket_id = desk.new_ticket()
    route(ticket_id)
    worker.run_until_idle(timers=True)
    clock.set(clock_of(worker.app, ticket_id).started_at + timedelta(minutes=60))
    worker.run_until_idle(timers=True)  # the first reminder, in the arrival's thread
    desk.reply(ticket_id)
    worker.run_until_idle(timers=True)  # answered: the arrival message is updated

    page = browser.new_page(viewport={"width": 1100, "height": 720})
    page.goto(f"{slack_emulator.url}/__sandbox/channel/premium-partners?static=1")
    body = page.locator("main")
    expect(body).to_contain_text(f"New premium partner ticket #{ticket_id}")
    expect(body).to_contain_text(re.compile(r"First reply due\s*(Today|Tomorrow|Yesterday) at \d{1,2}:\d\d [AP]M"))
    expect(body).to_contain_text("⏰ 30 min left to reply")
    expect(body).to_contain_text("✅ Answered in")
    text = body.inner_text()
    assert "<!date" not in text and ":alarm_clock:" not in text and ":white_check_mark:" not in text
    assert page.locator(".section-text b a").first.get_attribute("href") == \
        f"{helpdesk.url}/agent/tickets/{ticket_id}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "slack_channel_sla.png"), full_page=True)

    with page.expect_popup() as opened:
        page.get_by_role("button", name="Open in helpdesk").click()
    ticket_page = opened.value
    ticket_page.wait_for_load_state()
    assert ticket_page.url == f"{helpdesk.url}/agent/tickets/{ticket_id}"
    expect(ticket_page.locator("body")).to_contain_text("Live stream keeps buffering")
    ticket_page.screenshot(path=str(ARTIFACTS / "slack_open_in_helpdesk.png"))
    page.close()
