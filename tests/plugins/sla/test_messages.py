"""The Slack messages: customer text is escaped, long text stays within Block Kit's limits, dates localise."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from plugins.sla import messages
from plugins.sla.models import SlaClock

STARTED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def a_clock(**fields):
    values = {"ticket_id": 4711, "subject": "Stream down", "segment": "premium_partner", "priority": "high",
              "state": "running", "started_at": STARTED, "target_minutes": 90, "business_hours": False,
              "due_at": STARTED + timedelta(minutes=90), "requester_id": 501, "organization_id": None,
              "requester_name": None, "requester_email": None, "organization_name": None, "taken_by": None,
              "reply_minutes": None, "breached_at": None, "mention": None}
    return SlaClock(**{**values, **fields})


def test_customer_text_cannot_inject_slack_markup():
    clock = a_clock(subject="<!channel> & <https://evil.example|click>", requester_name="<@U0ADMIN>")
    blocks = json.dumps(messages.arrival(clock, "https://acme.zendesk.com")["blocks"])
    assert "<!channel>" not in blocks and "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in blocks
    assert "&lt;@U0ADMIN&gt;" in blocks


def test_very_long_subject_is_cut_to_fit_block_kit():
    message = messages.arrival(a_clock(subject="buffering " * 1000), "https://acme.zendesk.com")
    assert len(json.dumps(message["blocks"])) < 6000
    assert len(message["text"]) <= 3000


def test_deadline_uses_slack_date_formatting_with_a_utc_fallback():
    message = messages.arrival(a_clock(), "https://acme.zendesk.com")
    due = int((STARTED + timedelta(minutes=90)).timestamp())
    assert f"<!date^{due}^{{date_short_pretty}} at {{time}}|2026-11-23 10:30 UTC>" in json.dumps(message["blocks"])


def test_reminder_mentions_the_user_group_and_says_the_time_left():
    text = messages.reminder(a_clock(mention="S0TIER2"), 9.6)["text"]
    assert text.startswith(":alarm_clock: 10 min left to reply to #4711")
    assert text.endswith("<!subteam^S0TIER2>")


def test_answered_late_says_so_and_drops_the_take_button():
    clock = a_clock(state="answered", reply_minutes=135, breached_at=STARTED + timedelta(minutes=90))
    message = messages.arrival(clock, "https://acme.zendesk.com")
    assert "Answered in 2 h 15 min, after the 90 min target had passed" in message["text"]
    assert "sla_take" not in json.dumps(message["blocks"])
