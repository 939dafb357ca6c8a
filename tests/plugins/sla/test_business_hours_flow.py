"""A business-hours target through the worker: deadline and reminders skip the weekend and holidays."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.plugins.sla.conftest import PREMIUM_CHANNEL, clock_of, sla_settings, thread_replies

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def app_config(app_config):
    app_config["plugin_settings"] = {"sla": sla_settings(
        targets=[{"segment": "premium_partner", "minutes": 90, "business_hours": True, "notify": True,
                  "reminders": [30, 10]}],
        business_hours={"timezone": "Europe/Berlin", "holiday_country": "DE", "holiday_subdivision": "BE"})}
    return app_config


def berlin(*parts):
    """A Berlin wall-clock time, as the UTC moment the FakeClock hands out."""
    return datetime(*parts, tzinfo=BERLIN).astimezone(UTC)


def at(clock, worker, *parts):
    clock.set(berlin(*parts))
    worker.run_until_idle(timers=True)


def test_friday_evening_ticket_reminds_and_breaches_on_monday(slack_emulator, new_ticket, route, worker,
                                                              clock):
    clock.set(berlin(2026, 11, 27, 16, 30))
    new_ticket(41)
    route(41)
    worker.run_until_idle(timers=True)
    clock41 = clock_of(worker.app, 41)
    assert clock41.due_at == datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)
    assert clock41.next_due_at == datetime(2026, 11, 30, 9, 30, tzinfo=BERLIN)
    at(clock, worker, 2026, 11, 28, 12, 0)  # Saturday: nothing is due, whatever the calendar time
    at(clock, worker, 2026, 11, 30, 9, 29)
    assert thread_replies(slack_emulator, PREMIUM_CHANNEL) == []
    at(clock, worker, 2026, 11, 30, 9, 30)
    at(clock, worker, 2026, 11, 30, 9, 50)
    at(clock, worker, 2026, 11, 30, 10, 0)
    replies = [m["text"] for m in thread_replies(slack_emulator, PREMIUM_CHANNEL)]
    assert [text.split(" ")[0:3] for text in replies] == [
        [":alarm_clock:", "30", "min"], [":alarm_clock:", "10", "min"],
        [":red_circle:", "First-reply", "target"]]
    assert "90 business min" in replies[2]


def test_christmas_ticket_is_due_after_the_holidays(new_ticket, route, worker, clock):
    clock.set(berlin(2026, 12, 24, 16, 30))
    new_ticket(42)
    route(42)
    worker.run_until_idle()
    assert clock_of(worker.app, 42).due_at == datetime(2026, 12, 28, 10, 0, tzinfo=BERLIN)


def test_reply_time_is_counted_in_business_minutes(new_ticket, route, comment, worker, clock):
    clock.set(berlin(2026, 11, 27, 16, 30))
    new_ticket(43)
    route(43)
    worker.run_until_idle()
    clock.set(berlin(2026, 11, 30, 9, 15))
    comment(43)
    worker.run_until_idle()
    answered = clock_of(worker.app, 43)
    assert (answered.state, answered.reply_minutes, answered.met_target) == ("answered", 45.0, True)
