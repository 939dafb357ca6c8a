"""The core's side effects against the helpdesk emulator over real HTTP: batched, budgeted, exactly once."""

from __future__ import annotations

import sqlalchemy as sa

from app import workqueue
from app.db import storage
from app.effects import TICKET_COMMENT, TICKET_CREATE, TICKET_UPDATE
from app.models import WorkItem
from tests.sandbox_fixtures import Emulator, wait_for


def new_ticket(helpdesk: Emulator, subject: str = "Stream froze") -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": "viewer@example.com", "subject": subject, "body": "It stopped at minute 3."})
    return int(answer["ticket"]["id"])


def enqueue(app, account_id, clock, kind, key, payload, **kwargs):
    with storage.session(app) as session:
        return workqueue.enqueue(session, account_id=account_id, kind=kind, key=key, payload=payload,
                                 now=clock.now(), **kwargs)


def work_item(app, key) -> WorkItem:
    with storage.session(app) as session:
        return session.scalar(sa.select(WorkItem).where(WorkItem.idempotency_key == key))


def test_ticket_updates_due_together_become_one_update_many(app, helpdesk, worker, account_id, clock):
    group = helpdesk.api("POST", "/groups", json={"group": {"name": "Tier 2"}})["group"]
    ids = [new_ticket(helpdesk, f"ticket {n}") for n in range(5)]
    helpdesk.call("POST", "/__sandbox/stats/reset")
    for ticket_id in ids:
        enqueue(app, account_id, clock, TICKET_UPDATE, f"route:{ticket_id}",
                {"ticket_id": ticket_id, "ticket": {"group_id": group["id"], "priority": "high",
                                                    "additional_tags": ["tier_2"]}})
    worker.run_until_idle()
    for ticket_id in ids:
        ticket = helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]
        assert (ticket["group_id"], ticket["priority"]) == (group["id"], "high")
        assert "tier_2" in ticket["tags"]
        assert work_item(app, f"route:{ticket_id}").state == "done"
    calls = helpdesk.stats()["by_endpoint"]
    assert sum(count for name, count in calls.items() if "update_many" in name) == 1


def test_update_of_a_closed_ticket_fails_visibly_without_blocking_the_others(app, helpdesk, worker, account_id,
                                                                              clock):
    open_id, closed_id = new_ticket(helpdesk), new_ticket(helpdesk)
    helpdesk.api("PUT", f"/tickets/{closed_id}.json", json={"ticket": {"status": "closed"}})
    for ticket_id in (open_id, closed_id):
        enqueue(app, account_id, clock, TICKET_UPDATE, f"prio:{ticket_id}",
                {"ticket_id": ticket_id, "ticket": {"priority": "urgent"}})
    worker.run_until_idle()
    assert work_item(app, f"prio:{open_id}").state == "done"
    failed = work_item(app, f"prio:{closed_id}")
    assert failed.state == "failed"
    assert str(closed_id) in failed.last_error


def test_comment_retried_after_a_lost_answer_is_not_posted_twice(app, helpdesk, worker, account_id, clock):
    ticket_id = new_ticket(helpdesk)
    enqueue(app, account_id, clock, TICKET_COMMENT, "notice:1",
            {"ticket_id": ticket_id, "body": "Your feature shipped!", "public": True})
    worker.run_until_idle()
    # Simulate a worker that posted the comment and died before recording it: the item runs again.
    with storage.session(app) as session:
        session.execute(sa.update(WorkItem).values(state="pending", attempts=1))
    worker.run_until_idle()
    comments = helpdesk.api("GET", f"/tickets/{ticket_id}/comments.json")["comments"]
    assert [c["body"] for c in comments].count("Your feature shipped!") == 1
    item = work_item(app, "notice:1")
    assert (item.state, item.result["reconciled"]) == ("done", True)


def test_ticket_creation_retried_creates_one_ticket(app, helpdesk, worker, account_id, clock):
    source = new_ticket(helpdesk)
    helpdesk.api("PUT", f"/tickets/{source}.json", json={"ticket": {"status": "closed"}})
    payload = {"ticket": {"subject": "Follow-up", "comment": {"body": "It shipped"}, "via_followup_source_id": source,
                          "requester_id": helpdesk.api("GET", f"/tickets/{source}.json")["ticket"]["requester_id"]}}
    enqueue(app, account_id, clock, TICKET_CREATE, "followup:1", payload)
    worker.run_until_idle()
    with storage.session(app) as session:
        session.execute(sa.update(WorkItem).values(state="pending", attempts=1))
    worker.run_until_idle()
    before = helpdesk.call("GET", "/__sandbox/state")
    assert work_item(app, "followup:1").state == "done"
    assert before["tickets"] == 2


def test_helpdesk_429_defers_work_without_spending_attempts(app, helpdesk, worker, account_id, clock):
    ticket_id = new_ticket(helpdesk)
    helpdesk.faults(storm_seconds=2)
    enqueue(app, account_id, clock, TICKET_UPDATE, "storm:1", {"ticket_id": ticket_id,
                                                              "ticket": {"priority": "low"}})
    worker.run_until_idle()
    item = work_item(app, "storm:1")
    assert (item.state, item.attempts) == ("pending", 0)
    assert "429" in item.last_error or "budget" in item.last_error
    assert helpdesk.stats()["responses_429"] >= 1

    def settled() -> bool:
        # The helpdesk's Retry-After blocks the shared budget in real time; the work item's due time moves
        # with the app's clock. Both have to pass.
        clock.advance(seconds=5)
        worker.run_until_idle()
        return work_item(app, "storm:1").state == "done"

    wait_for(settled, timeout=10, message="the deferred update to go through after the storm")
    item = work_item(app, "storm:1")
    assert item.attempts == 1
    assert helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]["priority"] == "low"
