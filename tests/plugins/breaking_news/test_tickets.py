"""New tickets about a live incident are tagged and counted; their requesters hear once when it is fixed."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.db import storage
from app.models import RequesterNoticeRecord
from app.plugins import SidebarTicket
from tests.conftest import ticket_event
from tests.plugins.breaking_news.conftest import work_items


def tag_updates(app) -> dict[int, list[str]]:
    return {item.payload["ticket_id"]: item.payload["ticket"]["additional_tags"]
            for item in work_items(app, "zendesk.ticket_update") if item.created_by == "breaking_news"}


def test_matching_ticket_is_tagged_and_counted(app, news, post_webhook, worker):
    incident = news.create(affected_features=["Live streaming"], keywords=["black screen"])
    post_webhook(ticket_event(101, subject="Black   screen during the match", requester_id=7001))
    post_webhook(ticket_event(102, subject="Invoice question", description="live-streaming is fine"))
    post_webhook(ticket_event(103, subject="Help", tags=["live_streaming"]))
    post_webhook(ticket_event(104, subject="Blackscreen?"))  # not the whole words
    worker.handle_events()
    assert tag_updates(app) == {101: [f"incident_{incident['id']}"], 102: [f"incident_{incident['id']}"],
                                103: [f"incident_{incident['id']}"]}
    tickets = news.client.get(f"/admin/api/news/incidents/{incident['id']}/tickets", headers=news.headers)
    assert tickets.get_json()["ticket_count"] == 3
    by_ticket = {row["ticket_id"]: row for row in tickets.get_json()["tickets"]}
    assert (by_ticket[101]["matched_by"], by_ticket[101]["matched_on"], by_ticket[101]["requester_id"]) == (
        "keyword", "black screen", 7001)
    assert by_ticket[103]["matched_by"] == "feature"
    assert news.show(incident["id"])["incident"]["ticket_count"] == 3


def test_same_ticket_event_twice_counts_and_tags_once(app, news, post_webhook, worker):
    incident = news.create(keywords=["buffering"])
    post_webhook(ticket_event(201, subject="buffering again"))
    post_webhook(ticket_event(201, subject="buffering again"))  # another delivery, another event id
    worker.handle_events()
    assert len(tag_updates(app)) == 1
    assert news.show(incident["id"])["incident"]["ticket_count"] == 1


def test_tickets_are_matched_only_while_the_incident_is_live(app, news, post_webhook, worker, clock):
    start = clock.now() + timedelta(hours=1)
    scheduled = news.create(severity="maintenance", keywords=["login"], starts_at=start,
                            ends_at=start + timedelta(hours=1))
    resolved = news.create(keywords=["login"])
    news.resolve(resolved["id"])
    post_webhook(ticket_event(301, subject="login broken"))
    worker.handle_events()
    assert tag_updates(app) == {}
    clock.advance(hours=1, minutes=1)
    post_webhook(ticket_event(302, subject="login broken"))
    worker.handle_events()
    assert tag_updates(app) == {302: [f"incident_{scheduled['id']}"]}


def test_ticket_an_agent_tags_by_hand_is_counted(news, post_webhook, worker):
    incident = news.create(keywords=["nothing matches this"])
    tags = [f"incident_{incident['id']}", "vip"]
    post_webhook(ticket_event(401, "ticket.tags_changed", subject="Odd", tags=tags))
    post_webhook(ticket_event(402, "ticket.tags_changed", subject="Odd", tags=["incident_99999"]))
    worker.handle_events()
    assert news.show(incident["id"])["incident"]["ticket_count"] == 1


def test_tag_updates_due_together_share_one_batch(app, news, post_webhook, worker):
    news.create(keywords=["buffering"])
    for ticket_id in range(500, 520):
        post_webhook(ticket_event(ticket_id, subject="buffering"))
    worker.handle_events()
    items = [item for item in work_items(app, "zendesk.ticket_update") if item.created_by == "breaking_news"]
    assert len(items) == 20
    assert len({item.next_attempt_at for item in items}) == 1  # coalesced: due together, one update_many


def test_sidebar_panel_shows_live_incidents_and_counts(app, news, post_webhook, worker, account_id):
    from app.accounts import get_account
    from app.sidebar.panels import gather_panels

    incident = news.create(keywords=["buffering"], severity="outage")
    post_webhook(ticket_event(601, subject="buffering"))
    worker.handle_events()
    ticket = SidebarTicket(id=601, subject="buffering", status="new", requester_id=1, requester_email=None,
                           requester_name=None, organization_id=None, group_id=None, tags=(), created_at=None)

    def panels() -> dict:
        with storage.session(app) as session:
            return gather_panels(app, session, get_account(account_id), ticket)

    panel = panels()["breaking_news"]
    [shown] = panel["data"]["incidents"]
    [item] = panel["blocks"][0]["items"]
    assert item["badge"]["tone"] == "red" and item["meta"][1] == {"t": "breaking_news.tickets",
                                                                   "args": {"count": 1}}
    assert item["meta"][2] == {"badge": {"t": "breaking_news.this_ticket"}, "tone": "red"}
    assert (shown["id"], shown["severity"], shown["ticket_count"], shown["this_ticket_is_linked"]) == (
        incident["id"], "outage", 1, True)
    assert shown["ticket_count_text"] == "1 ticket about this incident"
    news.resolve(incident["id"])
    assert "breaking_news" not in panels()


def notices(app) -> list[RequesterNoticeRecord]:
    with storage.session(app) as session:
        query = sa.select(RequesterNoticeRecord).order_by(RequesterNoticeRecord.requester_id)
        return list(session.scalars(query))


def test_resolving_tells_each_requester_once_when_the_incident_asks(app, news, post_webhook, worker):
    incident = news.create(keywords=["buffering"], notify_requesters=True)
    post_webhook(ticket_event(701, subject="buffering", requester_id=9101))
    post_webhook(ticket_event(702, subject="buffering again", requester_id=9101))
    post_webhook(ticket_event(703, subject="buffering", requester_id=9102))
    worker.handle_events()
    news.resolve(incident["id"])
    worker.handle_events()
    worker.handle_events()
    rows = notices(app)
    assert [(row.requester_id, sorted(row.ticket_ids)) for row in rows] == [(9101, [701, 702]), (9102, [703])]
    assert {row.subject_key for row in rows} == {f"incident:{incident['id']}"}
    assert rows[0].context == {"title": "Live streams fail to start"}
    assert rows[0].templates["locales"]["en"]["subject"] == "Fixed: {title}"
    assert len(work_items(app, "zendesk.requester_notice")) == 2
    summary = news.show(incident["id"])["requester_notices"]
    assert (summary["total"], summary["pending"]) == (2, 2)


def test_resolving_without_notify_tells_nobody(app, news, post_webhook, worker):
    incident = news.create(keywords=["buffering"])
    post_webhook(ticket_event(801, subject="buffering", requester_id=9201))
    worker.handle_events()
    news.resolve(incident["id"])
    worker.handle_events()
    assert notices(app) == []


def test_notify_can_be_decided_when_resolving(app, news, post_webhook, worker):
    incident = news.create(keywords=["buffering"])
    post_webhook(ticket_event(901, subject="buffering", requester_id=9301))
    worker.handle_events()
    news.resolve(incident["id"], notify_requesters=True)
    worker.handle_events()
    assert [row.requester_id for row in notices(app)] == [9301]
