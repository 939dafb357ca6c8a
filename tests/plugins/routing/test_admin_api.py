"""The routing admin API and sidebar panel: rules read and replaced with validation, decisions shown."""

from __future__ import annotations

import json

from app.accounts import get_account
from app.db import storage
from app.plugins import SidebarTicket
from app.sidebar.panels import gather_panels
from tests.conftest import ticket_event
from tests.plugins.routing.conftest import PARTNER_REQUESTER, PREMIUM_ORG, VIEWER, decision, work

NEW_RULES = """\
default_segment: user
segments:
  premium_partner: {group: Tier 2, priority: urgent, tags: [vip_partner]}
  user: {group: Tier 1}
rules:
  - name: partner org
    segment: premium_partner
    organization: {id: [301]}
"""


def test_rules_are_shown_with_their_source_and_resolved_groups(client, admin_headers, known_directory):
    answer = client.get("/admin/api/routing/rules", headers=admin_headers).get_json()
    assert answer["source"] == "file"
    assert answer["rules"]["rules"][0]["organization"] == {"tags": ["premium_partner"]}
    assert answer["groups"] == {"Tier 1": 11, "Tier 2": 12}
    assert "premium_partner" in answer["text"]


def test_rules_need_an_admin_token(client):
    assert client.get("/admin/api/routing/rules").status_code == 401
    assert client.put("/admin/api/routing/rules", data=NEW_RULES,
                      content_type="application/yaml").status_code == 401


def test_new_rules_take_effect_for_the_next_ticket(app, client, admin_headers, post_webhook, worker,
                                                   known_directory):
    answer = client.put("/admin/api/routing/rules", data=NEW_RULES, content_type="application/yaml",
                        headers=admin_headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["version"] == 1
    resolutions = [item.idempotency_key for item in work(app, "routing.resolve_groups")]
    assert resolutions == ["routing:groups:rules:v1"]
    post_webhook(ticket_event(2001, requester_id=VIEWER, organization_id=PREMIUM_ORG))
    worker.handle_events()
    row = decision(app, 2001)
    assert (row.segment, row.priority, row.reason) == ("premium_partner", "urgent", "organization 301")
    shown = client.get("/admin/api/routing/rules", headers=admin_headers).get_json()
    assert (shown["source"], shown["version"], shown["format"]) == ("admin_api", 1, "yaml")


def test_invalid_rules_are_refused_with_the_line_and_the_old_rules_stay(client, admin_headers):
    broken = NEW_RULES.replace("segment: premium_partner", "segment: premium")
    answer = client.put("/admin/api/routing/rules", data=broken, content_type="application/yaml",
                        headers=admin_headers)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["message"] == ("the rules were refused: line 7 (rules[0].segment): "
                                "unknown segment 'premium'; known: premium_partner, user")
    assert error["problems"] == [{"line": 7, "path": "rules[0].segment",
                                  "message": "unknown segment 'premium'; known: premium_partner, user"}]
    assert client.get("/admin/api/routing/rules", headers=admin_headers).get_json()["source"] == "file"


def test_rules_as_json_are_refused_with_the_index_of_the_bad_rule(client, admin_headers):
    rules = {"segments": {"user": {"group": "Tier 1"}},
             "rules": [{"name": "ok", "segment": "user", "ticket": {"channel": "email"}},
                       {"name": "bad", "segment": "user", "ticket": {"brand": ["main"]}}]}
    answer = client.put("/admin/api/routing/rules", json=rules, headers=admin_headers)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["problems"][0]["path"] == "rules[1].ticket.brand[0]"
    assert answer.get_json()["error"]["problems"][0]["line"] is None


def test_rules_embedded_in_json_are_accepted(client, admin_headers):
    answer = client.put("/admin/api/routing/rules", json={"yaml": NEW_RULES}, headers=admin_headers)
    assert answer.status_code == 200
    assert answer.get_json()["format"] == "yaml"


def test_unreadable_bodies_get_a_4xx_not_a_500(client, admin_headers):
    assert client.put("/admin/api/routing/rules", data="x", content_type="text/plain",
                      headers=admin_headers).status_code == 415
    assert client.put("/admin/api/routing/rules", data="[1, 2]", content_type="application/json",
                      headers=admin_headers).status_code == 400
    assert client.put("/admin/api/routing/rules", json={"yaml": 5}, headers=admin_headers).status_code == 400
    assert client.put("/admin/api/routing/rules", data="  ", content_type="application/yaml",
                      headers=admin_headers).status_code == 400
    assert client.get("/admin/api/routing/decisions?limit=lots", headers=admin_headers).status_code == 400
    assert client.get("/admin/api/routing/decisions?status=lost", headers=admin_headers).status_code == 400


def test_decisions_are_listed_and_shown_one_by_one(client, admin_headers, post_webhook, worker,
                                                   known_directory):
    post_webhook(ticket_event(2002, requester_id=PARTNER_REQUESTER, organization_id=PREMIUM_ORG))
    post_webhook(ticket_event(2003, requester_id=VIEWER))
    worker.handle_events()
    listed = client.get("/admin/api/routing/decisions?segment=premium_partner",
                        headers=admin_headers).get_json()
    assert [row["ticket_id"] for row in listed["decisions"]] == [2002]
    assert listed["counts"] == {"pending": 2}
    one = client.get("/admin/api/routing/decisions/2003", headers=admin_headers).get_json()
    assert (one["segment"], one["group"], one["reason"]) == ("user", "Tier 1",
                                                             "no rule matched: default segment user")
    assert one["reasons"] == [{"kind": "default", "value": "user"}]
    missing = client.get("/admin/api/routing/decisions/9999", headers=admin_headers)
    assert missing.status_code == 404


def test_sidebar_panel_shows_segment_tier_and_reason(app, post_webhook, worker, known_directory, account_id):
    post_webhook(ticket_event(2004, requester_id=PARTNER_REQUESTER, organization_id=PREMIUM_ORG))
    worker.handle_events()
    ticket = SidebarTicket(id=2004, subject="Stream down", status="new", requester_id=PARTNER_REQUESTER,
                           requester_email=None, requester_name=None, organization_id=PREMIUM_ORG,
                           group_id=None, tags=(), created_at=None)
    with storage.session(app) as session:
        panels = gather_panels(app, session, get_account(account_id, app), ticket)
    assert panels["routing"]["header"]["badges"][0]["tone"] == "premium"
    panel = panels["routing"]["data"]
    assert {key: panel[key] for key in ("segment", "tier", "reason", "group")} == {
        "segment": "premium_partner", "tier": "Tier 2", "reason": "organization tag premium_partner",
        "group": "Tier 2"}
    assert panel["decided_at"] == decision(app, 2004).decided_at.isoformat()
    json.dumps(panel)


def test_sidebar_shows_nothing_for_a_ticket_never_routed(app, known_directory, account_id):
    ticket = SidebarTicket(id=2005, subject=None, status="open", requester_id=None, requester_email=None,
                           requester_name=None, organization_id=None, group_id=None, tags=(), created_at=None)
    with storage.session(app) as session:
        assert "routing" not in gather_panels(app, session, get_account(account_id, app), ticket)
