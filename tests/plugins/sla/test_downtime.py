"""After downtime the bot says what is true now: late reminders collapse, answered tickets stay quiet."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import workqueue
from app.accounts import active_accounts
from app.db import storage
from app.models import WorkItem
from app.plugins import plugin_manager
from app.worker import Worker
from tests.plugins.sla.conftest import arrivals, clock_of, thread_replies, work_keys


@pytest.fixture
def announced(slack_emulator, new_ticket, route, worker, clock):
    """Ticket 1 from a premium partner, announced; then the worker goes down (nothing runs)."""
    new_ticket(1)
    route(1)
    worker.run_until_idle(timers=True)
    assert len(arrivals(slack_emulator)) == 1
    return clock_of(worker.app, 1).started_at


def restart_at(app, clock, moment):
    """A new worker process starts at ``moment`` and catches up."""
    clock.set(moment)
    restarted = Worker(app, worker_id="restarted")
    restarted.run_until_idle(timers=True)
    return restarted


def test_restart_after_both_reminder_moments_sends_only_the_latest(announced, app, slack_emulator, clock):
    restart_at(app, clock, announced + timedelta(minutes=85))
    [reminder] = [m["text"] for m in thread_replies(slack_emulator)]
    assert reminder.startswith(":alarm_clock: 5 min left")  # the time actually left, not "10 minutes"
    assert "sla:reminder:30:1" not in work_keys(app)
    assert clock_of(app, 1).reminders_done == [30, 10]


def test_restart_after_the_deadline_sends_only_the_breach(announced, app, slack_emulator, clock):
    restart_at(app, clock, announced + timedelta(minutes=95))
    [breach] = [m["text"] for m in thread_replies(slack_emulator)]
    assert breach.startswith(":red_circle:")
    assert "Target missed" in arrivals(slack_emulator)[0]["text"]


def test_ticket_answered_during_downtime_gets_no_late_reminder(announced, app, comment, slack_emulator,
                                                               clock):
    clock.set(announced + timedelta(minutes=70))
    comment(1)  # the web process stores the event; no worker handles it yet
    restarted = restart_at(app, clock, announced + timedelta(minutes=95))
    restarted.run_until_idle(timers=True)
    assert thread_replies(slack_emulator) == []
    assert "Answered in 70 min (target 90 min)" in arrivals(slack_emulator)[0]["text"]
    assert clock_of(app, 1).met_target is True


def test_worker_killed_after_posting_a_reminder_does_not_post_it_again(announced, app, slack_emulator, clock):
    # A worker claims the 30-minute reminder, posts it, and is killed before it can record that it did.
    clock.set(announced + timedelta(minutes=60))
    Worker(app, worker_id="doomed").run_timers()
    claimed = workqueue.claim(storage.engine(app), worker_id="doomed", now=clock.now(), lease_seconds=60,
                              limit=50)
    item = next(item for item in claimed if item.key == "sla:reminder:30:1")
    with storage.session(app) as session:
        ctx = plugin_manager.context(app, "sla", active_accounts(app)[0], session)
        plugin_manager.work_handlers(app)["sla.notice"](item, ctx)
    assert len(thread_replies(slack_emulator)) == 1
    # The lease runs out; a restarted worker claims the item again and finds the message already posted.
    restart_at(app, clock, announced + timedelta(minutes=62))
    assert len(thread_replies(slack_emulator)) == 1
    with storage.session(app) as session:
        done = session.scalars(sa.select(WorkItem)
                               .where(WorkItem.idempotency_key == "sla:reminder:30:1")).one()
    assert (done.state, done.attempts, done.result["reconciled"]) == ("done", 2, True)
