"""The targets API, SLA policies read from the helpdesk, the sidebar panel and the weekly digest."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa

from app.accounts import active_accounts
from app.db import storage
from app.models import WorkItem
from app.plugins import SidebarTicket, plugin_manager
from tests.plugins.sla.conftest import clock_of, make_clock, sla_settings


def test_targets_come_from_the_configuration_until_the_account_sets_its_own(client, admin_headers):
    answer = client.get("/admin/api/sla/targets", headers=admin_headers).get_json()
    assert answer["source"] == "configuration"
    assert [(t["segment"], t["minutes"], t["reminders"]) for t in answer["targets"]] == [
        ("premium_partner", 90, [30, 10]), ("user", 1440, [])]


def test_new_targets_apply_to_tickets_routed_afterwards(app, client, admin_headers, new_ticket, route, worker,
                                                        clock):
    targets = [{"segment": "premium_partner", "minutes": 45, "notify": True, "reminders": [15, 5]}]
    answer = client.put("/admin/api/sla/targets", json={"targets": targets}, headers=admin_headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["source"] == "account"
    created = clock.now()
    new_ticket(1)
    route(1)
    worker.run_until_idle()
    assert clock_of(app, 1).due_at == created + timedelta(minutes=45)
    assert clock_of(app, 1).reminders == [15, 5]
    forgotten = client.delete("/admin/api/sla/targets", headers=admin_headers).get_json()
    assert forgotten == {"source": "configuration"}
    targets = client.get("/admin/api/sla/targets", headers=admin_headers).get_json()["targets"]
    assert targets[0]["minutes"] == 90


@pytest.mark.parametrize("body, message", [
    ({"targets": [{"segment": "user", "minutes": -5}]}, "greater than 0"),
    ({"targets": [{"segment": "user", "minutes": 30, "reminders": [45]}]}, "shorter than the target"),
    ({"targets": [{"segment": "user", "minutes": 30, "priority": "whenever"}]}, "priority must be one of"),
    ({"business_hours": {"timezone": "Nowhere/City"}}, "unknown time zone"),
    ({"channels": {"user": "C1"}}, "unknown: channels"),
    ({}, "send targets"),
])
def test_invalid_targets_are_refused_and_nothing_is_stored(client, admin_headers, body, message):
    answer = client.put("/admin/api/sla/targets", json=body, headers=admin_headers)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]["message"]
    assert client.get("/admin/api/sla/targets", headers=admin_headers).get_json()["source"] == "configuration"


def test_an_empty_list_of_targets_needs_confirm_empty(client, admin_headers):
    refused = client.put("/admin/api/sla/targets", json={"targets": []}, headers=admin_headers)
    assert refused.status_code == 400 and "confirm_empty" in refused.get_json()["error"]["message"]
    assert client.get("/admin/api/sla/targets", headers=admin_headers).get_json()["source"] == "configuration"
    confirmed = client.put("/admin/api/sla/targets", json={"targets": [], "confirm_empty": True},
                           headers=admin_headers)
    assert confirmed.status_code == 200 and confirmed.get_json()["targets"] == []


def test_targets_api_needs_an_admin_token(client):
    assert client.get("/admin/api/sla/targets").status_code == 401
    assert client.put("/admin/api/sla/targets", json={"targets": []}).status_code == 401


def test_non_json_body_is_a_400(client, admin_headers):
    answer = client.put("/admin/api/sla/targets", data="nope", headers=admin_headers)
    assert answer.status_code == 400 and answer.is_json


def test_clock_api_shows_one_ticket(app, client, admin_headers, clock):
    make_clock(app, 77, started_at=clock.now() - timedelta(minutes=30))
    answer = client.get("/admin/api/sla/clocks/77", headers=admin_headers).get_json()
    assert (answer["state"], answer["target_minutes"], answer["minutes_left"]) == ("running", 90, 60.0)
    assert client.get("/admin/api/sla/clocks/78", headers=admin_headers).status_code == 404


# --- SLA policies from the helpdesk ----------------------------------------------------------------------

@pytest.fixture
def mapped_policies(app_config):
    mapping = {"Premium partners": "premium_partner"}
    app_config["plugin_settings"] = {"sla": sla_settings(policy_segments=mapping)}


def create_policy(helpdesk):
    helpdesk.api("POST", "/slas/policies", json={"sla_policy": {
        "title": "Premium partners", "filter": {"all": [{"field": "tags", "operator": "includes",
                                                          "value": "premium"}], "any": []},
        "policy_metrics": [
            {"priority": "urgent", "metric": "first_reply_time", "target": 30, "business_hours": False},
            {"priority": "normal", "metric": "first_reply_time", "target": 60, "business_hours": True},
            {"priority": "normal", "metric": "requester_wait_time", "target": 600, "business_hours": True},
        ]}})
    helpdesk.api("POST", "/slas/policies", json={"sla_policy": {
        "title": "Everyone else", "filter": {"all": [], "any": []},
        "policy_metrics": [{"priority": "low", "metric": "first_reply_time", "target": 2880,
                            "business_hours": True}]}})


def test_policies_are_imported_as_the_segments_targets(mapped_policies, helpdesk, runner, client,
                                                       admin_headers):
    create_policy(helpdesk)
    result = runner.invoke(args=["sla", "import-policies"])
    assert result.exit_code == 0, result.output
    assert "premium_partner urgent: 30 min" in result.output
    assert "premium_partner normal: 60 min (business hours)" in result.output
    assert "'Everyone else' is not mapped" in result.output
    targets = client.get("/admin/api/sla/targets", headers=admin_headers).get_json()["targets"]
    assert [(t["segment"], t["priority"], t["minutes"], t["business_hours"], t["notify"], t["reminders"])
            for t in targets] == [("premium_partner", "urgent", 30, False, True, [10]),
                                  ("premium_partner", "normal", 60, True, True, [30, 10]),
                                  ("user", None, 1440, False, False, [])]


def test_policy_import_through_the_api_is_done_by_the_worker(mapped_policies, helpdesk, client, admin_headers,
                                                             worker):
    create_policy(helpdesk)
    answer = client.post("/admin/api/sla/policies/import", headers=admin_headers)
    assert answer.status_code == 202
    worker.run_until_idle()
    targets = client.get("/admin/api/sla/targets", headers=admin_headers).get_json()["targets"]
    assert targets[0]["minutes"] == 30


# --- the sidebar ----------------------------------------------------------------------------------------

def sidebar_panel(app, ticket_id):
    [function] = [f for n, f in plugin_manager.implementations(app, "sidebar_panels") if n == "sla"]
    ticket = SidebarTicket(id=ticket_id, subject=None, status="open", requester_id=None, requester_email=None,
                           requester_name=None, organization_id=None, group_id=None, tags=(), created_at=None)
    with storage.session(app) as session:
        ctx = plugin_manager.context(app, "sla", active_accounts(app)[0], session)
        return function(ticket=ticket, ctx=ctx)


def test_sidebar_shows_the_countdown_then_the_reply_time(app, new_ticket, route, comment, worker, clock):
    new_ticket(5)
    route(5)
    worker.run_until_idle()
    clock.advance(minutes=25)
    shown = sidebar_panel(app, 5)
    panel = shown["data"]
    assert (panel["state"], panel["minutes_left"], panel["target_minutes"], panel["breached"]) == (
        "running", 65.0, 90, False)
    assert shown["blocks"][0] == {"type": "countdown", "due_at": panel["due_at"], "warn_seconds": 1800,
                                  "left": {"t": "sla.left"}, "overdue": {"t": "sla.overdue"}}
    comment(5)
    worker.run_until_idle()
    shown = sidebar_panel(app, 5)
    panel = shown["data"]
    assert shown["blocks"][0]["text"] == {"t": "sla.answered_in", "args": {"time": {"duration_seconds": 1500.0}}}
    assert (panel["state"], panel["reply_minutes"], panel["met_target"], panel["minutes_left"]) == (
        "answered", 25.0, True, None)
    assert sidebar_panel(app, 6) is None


# --- the weekly digest ----------------------------------------------------------------------------------

@pytest.fixture
def digest_channel(app_config):
    app_config["plugin_settings"] = {"sla": sla_settings(digest_channel="C03SLA", digest_weekday=0,
                                                         digest_hour=9)}


def test_weekly_digest_posts_last_weeks_chart_once(digest_channel, app, slack_emulator, worker, clock):
    for n, minutes in enumerate((20, 45, 130)):
        make_clock(app, 500 + n, started_at=datetime(2026, 11, 17, 10, tzinfo=UTC), reply_minutes=minutes,
                   group_name="Tier 2")
    clock.set(datetime(2026, 11, 23, 8, 59, tzinfo=UTC))  # Monday, a minute early
    worker.run_until_idle(timers=True)
    assert slack_emulator.call("GET", "/__sandbox/messages?channel=C03SLA")["count"] == 0
    for minutes in (1, 6, 60):
        clock.set(datetime(2026, 11, 23, 8, 59, tzinfo=UTC) + timedelta(minutes=minutes))
        worker.run_until_idle(timers=True)
    [post] = slack_emulator.call("GET", "/__sandbox/messages?channel=C03SLA")["messages"]
    assert "week 2026-W47" in post["text"] and "3 tickets, 67% answered within target" in post["text"]
    assert "Breaches by group: Tier 2 1" in post["text"]
    [shared] = post["files"]
    data = requests.get(f"{slack_emulator.url}/__sandbox/files/{shared['id']}", timeout=10).content
    assert data.startswith(b"\x89PNG")  # the chart, as a reader downloads it
    with storage.session(app) as session:
        item = session.scalars(sa.select(WorkItem).where(WorkItem.kind == "slack.upload_file")).one()
    assert item.idempotency_key == "sla:digest-file:2026-W47"
    assert base64.b64decode(item.payload["content_base64"]) == data


def test_digest_missed_by_more_than_a_day_is_skipped(digest_channel, app, slack_emulator, worker, clock):
    clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # Tuesday: the service was down on Monday
    worker.run_until_idle(timers=True)
    assert slack_emulator.call("GET", "/__sandbox/messages?channel=C03SLA")["count"] == 0
