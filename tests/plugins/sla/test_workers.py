"""Several workers at once: every message of every ticket is posted once; a 429 storm loses nothing."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from app.worker import Worker
from tests.conftest import database_kind
from tests.plugins.sla.conftest import arrivals, clock_of, slack_messages, thread_replies

TICKETS = range(101, 113)


@pytest.fixture
def fast_slack(slack_emulator):
    """Twelve tickets announced at once in one channel: let it take them (the storm test meets 429s)."""
    slack_emulator.call("POST", "/__sandbox/config", json={"post_rate": 1000, "post_burst": 1000})
    return slack_emulator


def run_together(workers, rounds=3):
    """Each worker drains events, work and timed passes in its own thread, all at the same time."""
    errors = []

    def drain(worker):
        try:
            for _ in range(rounds):
                worker.run_until_idle(timers=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def keys_posted(slack):
    return Counter(m["metadata"]["event_payload"]["deskmate_key"] for m in slack_messages(slack))


@pytest.mark.skipif(database_kind() != "postgresql",
                    reason="several workers share the work on PostgreSQL")
def test_two_workers_on_postgresql_post_each_message_once(app, fast_slack, new_ticket, route, comment, clock):
    workers = [Worker(app, worker_id="worker-a"), Worker(app, worker_id="worker-b")]
    started = clock.now()
    for ticket_id in TICKETS:
        new_ticket(ticket_id)
        route(ticket_id)
    run_together(workers)
    for minutes, answered in ((60, 101), (80, 102), (90, None), (95, 103)):
        clock.set(started + timedelta(minutes=minutes))
        if answered:
            comment(answered)
        run_together(workers)
    posted = keys_posted(fast_slack)
    assert set(posted.values()) == {1}, [key for key, count in posted.items() if count > 1]
    expected = ({f"sla:arrival:{t}" for t in TICKETS} | {f"sla:reminder:30:{t}" for t in TICKETS if t != 101}
                | {f"sla:reminder:10:{t}" for t in TICKETS if t not in (101, 102)}
                | {f"sla:breach:{t}" for t in TICKETS if t not in (101, 102)})
    assert set(posted) == expected
    assert all(clock_of(app, t).state == "breached" for t in TICKETS if t not in (101, 102, 103))
    assert clock_of(app, 103).state == "answered"


def test_interleaved_workers_post_each_message_once(app, fast_slack, new_ticket, route, clock):
    """The same, step by step: two workers take turns mid-way through every stage."""
    first, second = Worker(app, worker_id="first"), Worker(app, worker_id="second")
    started = clock.now()
    for ticket_id in TICKETS:
        new_ticket(ticket_id)
        route(ticket_id)
    for minutes in (0, 60, 80, 90, 90):
        clock.set(started + timedelta(minutes=minutes))
        for _ in range(6):
            first.run_timers()
            second.run_timers()
            first.handle_events(limit=2)
            second.handle_events(limit=2)
            first.perform_work(limit=3)
            second.perform_work(limit=3)
    posted = keys_posted(fast_slack)
    assert set(posted.values()) == {1}
    assert len(posted) == len(TICKETS) * 4
    assert first.items_done and second.items_done


def test_slack_429_storm_delays_messages_but_loses_none(app, slack_emulator, new_ticket, route, comment,
                                                       worker, clock):
    started = clock.now()
    for ticket_id in (201, 202, 203):
        new_ticket(ticket_id)
        route(ticket_id)
    for _ in range(3):  # three arrivals in one channel: the emulator's one-a-second limit spaces them out
        clock.advance(seconds=10)
        worker.run_until_idle(timers=True)
    assert len(arrivals(slack_emulator)) == 3
    # Slack answers every call with 429 from minute 55 to minute 70: the 30-minute reminders fall inside,
    # and ticket 203 is answered meanwhile.
    clock.set(started + timedelta(minutes=55))
    slack_emulator.faults(storm_seconds=15 * 60)
    for minute in range(56, 70):
        clock.set(started + timedelta(minutes=minute))
        if minute == 65:
            comment(203)
        worker.run_until_idle(timers=True)
    assert thread_replies(slack_emulator) == []
    assert slack_emulator.stats()["rate_limited"] == 0  # not the channel limit: the storm itself
    assert slack_emulator.call("GET", "/__sandbox/faults")["storm_remaining"] > 0
    for seconds in range(70 * 60, 92 * 60, 20):
        clock.set(started + timedelta(seconds=seconds))
        worker.run_until_idle(timers=True)
    posted = keys_posted(slack_emulator)
    assert set(posted.values()) == {1}
    for ticket_id in (201, 202):
        assert {f"sla:reminder:30:{ticket_id}", f"sla:reminder:10:{ticket_id}", f"sla:breach:{ticket_id}"} \
            <= set(posted)
    late = [m["text"] for m in thread_replies(slack_emulator) if m["text"].startswith(":alarm_clock:")]
    # Delayed, not lost, and honest about it: posted when the storm ended, with the time actually left.
    assert sorted(text.split(" left")[0] for text in late) == [
        ":alarm_clock: 10 min", ":alarm_clock: 10 min", ":alarm_clock: 20 min", ":alarm_clock: 20 min"]
    # Ticket 203 was answered during the storm: its reminders are dropped, its arrival says answered.
    assert not any(key.endswith(":203") and "reminder" in key for key in posted)
    answered = next(m for m in arrivals(slack_emulator) if "#203" in m["text"])
    assert "Answered in 65 min" in answered["text"]
