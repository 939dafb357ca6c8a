"""Retention: old done rows go, in batches; every row that exactly-once depends on stays (docs/operations.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import inbox, workqueue
from app.accounts import get_account
from app.db import storage
from app.effects import SLACK_POST, SLACK_UPDATE, TICKET_COMMENT
from app.models import InboundEvent, RequesterNoticeRecord, WorkItem
from app.notices import NoticeTemplate, NoticeTemplates, RequesterNotice, notify_requesters
from app.plugins import PluginContext
from tests.conftest import ticket_event
from tests.core import sample_plugin

DAYS = 14


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["tests.core.sample_plugin"]
    app_config["sidebar_warm_cache"] = False  # no helpdesk here: only the sample plugin's rows are counted
    app_config["retention_days"] = DAYS
    app_config["retention_batch_size"] = 2  # several batches even for a handful of rows
    sample_plugin.reset()
    return app_config


def event_keys(app) -> list[str]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(InboundEvent.event_key).order_by(InboundEvent.id)))


def work_keys(app) -> dict[str, str]:
    with storage.session(app) as session:
        return dict(session.execute(sa.select(WorkItem.idempotency_key, WorkItem.state)).all())


def purge(runner, *args: str) -> str:
    result = runner.invoke(args=["purge", *args])
    assert result.exit_code == 0, result.output
    return str(result.output)


def enqueue(app, account_id, clock, kind, key, **extra) -> None:
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind=kind, key=key, payload={}, now=clock.now(), **extra)


def set_state(app, key, state) -> None:
    with storage.session(app) as session:
        session.execute(sa.update(WorkItem).where(WorkItem.idempotency_key == key)
                        .values(state=state, finished_at=sa.func.coalesce(WorkItem.finished_at, WorkItem.created_at)))


def test_purge_deletes_done_rows_older_than_the_window_and_keeps_the_rest(app, post_webhook, worker, clock,
                                                                          account_id, runner):
    for ticket in (1, 2, 3):
        post_webhook(ticket_event(ticket))
    worker.run_until_idle()
    # Old, but not done: a failed item (Failed work), a Slack post and an update of it (later updates and thread
    # replies read the message's ts and wait for it), a pending item, and an event still to be retried.
    for kind, key, state in ((TICKET_COMMENT, "x:failed", "failed"), (SLACK_POST, "x:post", "done"),
                             (SLACK_UPDATE, "x:update", "done"), (TICKET_COMMENT, "x:pending", None)):
        enqueue(app, account_id, clock, kind, key, due_at=clock.now() + timedelta(days=60))
        if state:
            set_state(app, key, state)
    inbox.store(app, account_id=account_id, source="zendesk", event_type="ticket.created", ticket_id=9,
                event_key="evt:retried-later", payload=ticket_event(9), now=clock.now())
    with storage.session(app) as session:
        session.execute(sa.update(InboundEvent).where(InboundEvent.event_key == "evt:retried-later")
                        .values(next_attempt_at=clock.now() + timedelta(days=60)))
    clock.advance(days=DAYS - 1)
    post_webhook(ticket_event(4))
    worker.run_until_idle()
    clock.advance(days=2)  # tickets 1-3 are now 15 days old, ticket 4 one day

    assert "would delete 6 inbound events, 6 work items" in purge(runner, "--dry-run")
    assert len(event_keys(app)) == 9  # a dry run deletes nothing

    assert "deleted 6 inbound events, 6 work items" in purge(runner)
    keys = event_keys(app)
    assert len(keys) == 3 and "evt:retried-later" in keys  # ticket 4's event and its emission, and the pending one
    assert work_keys(app) == {
        "x:failed": "failed", "x:post": "done", "x:update": "done", "x:pending": "pending",
        "sample_plugin:record:4": "done", "sample_plugin:batch:4": "done",
    }
    assert "deleted 0 inbound events, 0 work items" in purge(runner)  # a second run finds nothing more


def test_duplicate_webhook_within_the_window_is_still_recognised_after_a_purge(app, post_webhook, worker, clock):
    old, recent = ticket_event(1), ticket_event(2)
    assert post_webhook(old).status_code == 202
    worker.run_until_idle()
    clock.advance(days=10)
    assert post_webhook(recent).status_code == 202
    worker.run_until_idle()
    clock.advance(days=DAYS - 10 + 1)  # old: 15 days, beyond the window; recent: 5 days, within it
    worker.run_timers({"purge"})
    assert f"evt:{old['id']}" not in event_keys(app)  # the purge did run

    again = post_webhook(recent)  # the helpdesk delivers the same event again (another invocation)
    assert (again.status_code, again.get_json()) == (200, {"status": "duplicate"})
    worker.run_until_idle()
    assert sample_plugin.performed == {"sample_plugin:record:1": 1, "sample_plugin:record:2": 1}


def test_purges_by_two_workers_at_once_delete_each_row_once(app, post_webhook, worker, clock, account_id):
    from app.retention import purge_account

    for ticket in range(1, 6):
        post_webhook(ticket_event(ticket))
    worker.run_until_idle()
    clock.advance(days=DAYS + 1)
    account = get_account(account_id, app)
    first = purge_account(app, account, before=clock.now() - timedelta(days=DAYS), batch_size=2)
    second = purge_account(app, account, before=clock.now() - timedelta(days=DAYS), batch_size=2)
    assert (first.events, first.work_items) == (10, 10)
    assert (second.events, second.work_items) == (0, 0)


TEMPLATES = NoticeTemplates({"en": NoticeTemplate("{title} is here", "Hi {first_name}, {title} shipped")},
                            default_locale="en")


def test_requester_notice_is_not_sent_again_once_its_delivery_item_is_purged(app, helpdesk, worker, clock,
                                                                             account_id, runner):
    requester = helpdesk.api("POST", "/users.json", json={"user": {"name": "Ana Martin",
                                                                   "email": "ana@viewers.example"}})["user"]["id"]
    ticket = helpdesk.call("POST", "/__sandbox/tickets", json={"requester_id": requester, "subject": "4K?",
                                                              "body": "Could you?"})["ticket"]["id"]
    notice = RequesterNotice(requester_id=requester, kind="released", subject_key="feature_request:42",
                             ticket_ids=(ticket,), templates=TEMPLATES, context={"title": "4K downloads"})

    def record() -> list[str]:
        with storage.session(app) as session:
            ctx = PluginContext(app, "tests", get_account(account_id, app), session, None)
            return notify_requesters(ctx, [notice]).recorded

    assert len(record()) == 1
    worker.run_until_idle()
    comments = helpdesk.api("GET", f"/tickets/{ticket}/comments.json")["comments"]
    assert [c["body"] for c in comments] == ["Could you?", "Hi Ana, 4K downloads shipped"]

    assert work_keys(app) == {notice.key: "done"}
    clock.advance(days=DAYS + 30)
    purge(runner)
    assert work_keys(app) == {}  # the delivery item is gone: what stops a second notice is the record alone
    helpdesk.call("POST", "/__sandbox/stats/reset")
    assert record() == []  # the release is run again: the notice's record, which is kept, says it was told
    worker.run_until_idle()
    assert helpdesk.stats()["api_calls"] == 0
    assert len(helpdesk.api("GET", f"/tickets/{ticket}/comments.json")["comments"]) == 2
    with storage.session(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RequesterNoticeRecord)) == 1
