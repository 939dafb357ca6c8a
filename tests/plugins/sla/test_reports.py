"""Reports: attainment, median and p90 first-reply time, breaches by dimension (API, CLI, admin page)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.plugins.sla.conftest import make_clock

MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


@pytest.fixture
def last_week(app, clock):
    """Ten premium tickets and two user tickets from the week of 16 November."""
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    replies = [20, 30, 40, 40, 50, 60, 70, 80, 120, None]  # minutes; the last one is never answered
    for n, minutes in enumerate(replies):
        make_clock(app, 100 + n, started_at=MONDAY + timedelta(days=n % 5, hours=n), reply_minutes=minutes,
                   breached=True if minutes is None else None, group_name="Tier 2" if n < 5 else "Tier 1",
                   ticket_type="incident" if n % 2 else "question", form_id=11, tags=["live", f"n{n}"])
    make_clock(app, 200, started_at=MONDAY, reply_minutes=300, target_minutes=1440, segment="user")
    make_clock(app, 201, started_at=MONDAY, target_minutes=1440, segment="user", state="closed")
    make_clock(app, 300, started_at=MONDAY + timedelta(days=8), reply_minutes=5)  # this week: not reported


def report(client, admin_headers, **params):
    answer = client.get("/admin/api/sla/report", query_string=params, headers=admin_headers)
    return answer.status_code, answer.get_json()


def test_report_gives_attainment_median_p90_and_breaches(last_week, client, admin_headers):
    status, data = report(client, admin_headers, **{"from": "2026-11-16", "to": "2026-11-22",
                                                     "by": "segment"})
    assert status == 200
    overall = data["overall"]
    # 11 decided (10 answered, 1 never answered), 9 within target; the one closed without reply is left out.
    assert (overall["tickets"], overall["answered"], overall["breaches"]) == (12, 10, 2)
    assert (overall["within_target"], overall["closed_without_reply"]) == (9, 1)
    assert overall["attainment"] == round(9 / 11, 4)
    assert overall["median_minutes"] == 55.0  # 20 30 40 40 50 | 60 70 80 120 300
    premium = next(row for row in data["groups"] if row["key"] == "premium_partner")
    assert premium["median_minutes"] == 50.0  # 20 30 40 40 50 60 70 80 120
    assert premium["p90_minutes"] == 88.0  # between 80 and 120, linear
    assert premium["attainment"] == 0.8  # 8 of 10 (one answered late, one never)
    assert data["breaches_by"]["group"] == {"Tier 1": 2}
    assert data["breaches_by"]["type"] == {"incident": 1, "question": 1}
    assert data["breaches_by"]["tag"]["live"] == 2
    assert data["breaches_by"]["form"] == {"form 11": 2}
    assert len(data["daily"]) == 7


def test_report_by_group_splits_the_tickets(last_week, client, admin_headers):
    _, data = report(client, admin_headers, **{"from": "2026-11-16", "to": "2026-11-22", "by": "group"})
    rows = {row["key"]: row for row in data["groups"]}
    assert rows["Tier 2"]["attainment"] == 1.0
    assert (rows["Tier 1"]["tickets"], rows["Tier 1"]["breaches"]) == (5, 2)
    assert rows["(no group)"]["tickets"] == 2


def test_report_period_defaults_to_the_last_seven_days(last_week, client, admin_headers):
    _, data = report(client, admin_headers)
    assert (data["from"], data["to"]) == ("2026-11-17", "2026-11-23")


@pytest.mark.parametrize("params, message", [
    ({"from": "yesterday"}, "dates like"),
    ({"from": "2026-11-20", "to": "2026-11-10"}, "must not be after"),
    ({"from": "2024-01-01", "to": "2026-01-01"}, "at most"),
    ({"by": "colour"}, "by must be one of"),
])
def test_bad_report_requests_are_400_with_a_reason(client, admin_headers, params, message):
    status, data = report(client, admin_headers, **params)
    assert status == 400
    assert message in data["error"]["message"]


def test_report_needs_an_admin_token(client):
    assert client.get("/admin/api/sla/report").status_code == 401


def test_cli_report_prints_a_table(last_week, runner):
    result = runner.invoke(args=["sla", "report", "--from", "2026-11-16", "--to", "2026-11-22",
                                 "--by", "group"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(re.search(r"Tier 1\s+│\s+5\s+│\s+60%\s+│", line) for line in lines), result.output
    assert any(re.search(r"all\s+│\s+12\s+│", line) for line in lines)


def test_cli_report_refuses_a_bad_period(runner):
    result = runner.invoke(args=["sla", "report", "--from", "2026-11-20", "--to", "2026-11-01"])
    assert result.exit_code != 0
    assert "must not be after" in result.output
