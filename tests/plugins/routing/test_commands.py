"""``flask routing backfill`` and ``sync``: older tickets routed (or only reported); the cache warmed."""

from __future__ import annotations

import sqlalchemy as sa

from app.db import storage
from app.models import WorkItem
from plugins.routing.models import RoutingDecision
from tests.plugins.routing.conftest import build_desk, decision, new_ticket, settle, ticket


def stored_decisions(app) -> int:
    with storage.session(app) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(RoutingDecision)) or 0


def work_items(app) -> int:
    with storage.session(app) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(WorkItem)) or 0


def test_backfill_dry_run_reports_and_changes_nothing(app, helpdesk, runner):
    desk = build_desk(helpdesk)
    for requester in (desk["partner"], desk["member"], desk["member"]):
        new_ticket(helpdesk, requester)
    solved = new_ticket(helpdesk, desk["member"])
    helpdesk.api("PUT", f"/tickets/{solved}.json", json={"ticket": {"status": "solved"}})
    result = runner.invoke(args=["routing", "backfill", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: nothing changed" in result.output
    table = [line.split("│")[1:-1] for line in result.output.splitlines() if "│" in line]
    counts = {name.strip(): count.strip() for name, count in table}
    assert (counts["segment premium_partner"], counts["segment user"], counts["not open"]) == ("1", "2", "1")
    assert (stored_decisions(app), work_items(app)) == (0, 0)


def test_backfill_routes_open_tickets_once(app, helpdesk, runner, worker):
    desk = build_desk(helpdesk)
    partner_ticket = new_ticket(helpdesk, desk["partner"])
    member_ticket = new_ticket(helpdesk, desk["member"])
    assert runner.invoke(args=["routing", "backfill"]).exit_code == 0
    worker.run_until_idle()
    assert ticket(helpdesk, partner_ticket)["group_id"] == desk["tier_2"]
    assert ticket(helpdesk, member_ticket)["group_id"] == desk["tier_1"]
    assert decision(app, partner_ticket).reason == "organization tag premium_partner"
    again = runner.invoke(args=["routing", "backfill"])
    assert "already routed" in again.output
    assert stored_decisions(app) == 2


def test_sync_warms_the_cache_so_the_next_tickets_need_no_fetch(app, helpdesk, runner, deskmate_server,
                                                                 worker):
    desk = build_desk(helpdesk)
    result = runner.invoke(args=["routing", "sync"])
    assert result.exit_code == 0, result.output
    assert "groups" in result.output
    helpdesk.call("POST", "/__sandbox/stats/reset")
    ticket_id = new_ticket(helpdesk, desk["partner"])
    settle(helpdesk, worker)
    assert ticket(helpdesk, ticket_id)["group_id"] == desk["tier_2"]
    called = helpdesk.stats()["by_endpoint"]
    assert [name for name in called if "show_many" in name or "groups" in name] == []
