"""The worker keeps the ticket index from events and warms the cache for new requesters, within a cap."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.db import storage
from app.mirror.models import HelpdeskTicket
from app.models import WorkItem
from app.sidebar.hooks import _warm_ups
from tests.conftest import ticket_event
from tests.sidebar.conftest import index_ticket


@pytest.fixture(autouse=True)
def _core_only(app_config):
    # A helpdesk limit of 700 a minute and a share of 0.003: two warm-ups a minute.
    app_config.update(plugins=[], sidebar_warm_share=0.003)
    _warm_ups.used.clear()
    yield
    _warm_ups.used.clear()


def warm_keys(app) -> list[str]:
    with storage.session(app) as session:
        return sorted(session.scalars(sa.select(WorkItem.idempotency_key).where(
            WorkItem.kind == "sidebar.fetch_ticket")))


def indexed(app, ticket_id: int) -> HelpdeskTicket | None:
    with storage.session(app) as session:
        return session.scalar(sa.select(HelpdeskTicket).where(HelpdeskTicket.ticket_id == ticket_id))


def test_new_tickets_are_indexed_and_new_requesters_warmed(app, post_webhook, worker):
    post_webhook(ticket_event(7001, subject="Stream froze", requester_id=501, status="NEW", tags=["vip"]))
    worker.handle_events()
    row = indexed(app, 7001)
    assert (row.subject, row.status, row.requester_id, row.tags) == ("Stream froze", "new", 501, ["vip"])
    assert warm_keys(app) == ["sidebar:warm:7001:501:None"]


def test_a_cached_requester_is_not_fetched_again(app, post_webhook, worker, account_id):
    index_ticket(app, account_id, 7000, requester={"id": 501, "name": "Ada", "email": "ada@x.example"})
    post_webhook(ticket_event(7001, requester_id=501))
    worker.handle_events()
    assert warm_keys(app) == []


def test_warm_ups_stop_at_the_cap_and_start_again_the_next_minute(app, post_webhook, worker, clock):
    for ticket_id, requester in ((7001, 501), (7002, 502), (7003, 503)):
        post_webhook(ticket_event(ticket_id, requester_id=requester))
    worker.handle_events()
    assert warm_keys(app) == ["sidebar:warm:7001:501:None", "sidebar:warm:7002:502:None"]
    assert indexed(app, 7003) is not None  # indexed anyway: its first open makes the one call itself
    clock.advance(minutes=1)
    post_webhook(ticket_event(7004, requester_id=504))
    worker.handle_events()
    assert "sidebar:warm:7004:504:None" in warm_keys(app)


def test_an_older_event_never_overwrites_a_newer_state(app, post_webhook, worker):
    post_webhook(ticket_event(7001, "ticket.status_changed", status="SOLVED", updated_at="2026-11-23T10:00:00Z"))
    post_webhook(ticket_event(7001, "ticket.status_changed", status="OPEN", updated_at="2026-11-23T09:30:00Z"))
    worker.handle_events()
    assert indexed(app, 7001).status == "solved"


def test_a_warm_up_for_a_ticket_cached_meanwhile_makes_no_call(app, post_webhook, worker, account_id):
    post_webhook(ticket_event(7001, requester_id=501))
    worker.handle_events()
    index_ticket(app, account_id, 7001, requester={"id": 501, "name": "Ada", "email": "ada@x.example"})
    worker.perform_work()  # the helpdesk is unreachable here: a call would fail the item
    with storage.session(app) as session:
        item = session.scalar(sa.select(WorkItem).where(WorkItem.kind == "sidebar.fetch_ticket"))
        assert (item.state, item.result) == ("done", {"ticket_id": 7001, "skipped": "already cached"})


def test_user_events_mark_the_cached_requester_stale(app, post_webhook, worker, account_id, clock):
    from app.mirror.models import HelpdeskUser

    index_ticket(app, account_id, 7001, requester={"id": 501, "name": "Ada", "email": "ada@x.example"})
    post_webhook({"type": "zen:event-type:user.custom_field_changed", "account_id": 9001, "id": "u-1",
                  "time": "2026-11-23T09:00:00Z", "zendesk_event_version": "2022-11-06",
                  "subject": "zen:user:501", "detail": {"id": "501"}, "event": {}})
    worker.handle_events()
    with storage.session(app) as session:
        assert session.get(HelpdeskUser, (account_id, 501)).complete is False
