"""First-reply clocks: start, target, reply, close, and what the scheduler must say when a moment comes.

Pure decisions on an ``SlaClock`` row; the caller holds the row (locked) in its transaction and turns the
returned notices into work items (``plugins.sla.notify``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api import TicketSnapshot, insert_for
from plugins.sla.business_hours import BusinessCalendar, calendar_for
from plugins.sla.models import ANSWERED, BREACHED, CLOSED, RUNNING, SlaClock
from plugins.sla.settings import SlaSettings, Target

SAME_UPDATE = timedelta(seconds=5)


@dataclass(frozen=True)
class Notice:
    """Something to tell the team: a reminder (``minutes`` = its point) or the breach."""

    kind: str  # "reminder" | "breach"
    minutes: int | None = None
    remaining_minutes: float | None = None


def clock_for(session: Session, account_id: int, ticket: TicketSnapshot, now: datetime,
              started_at: datetime | None = None) -> SlaClock:
    """The ticket's clock, created (started at the ticket's creation) if it does not exist yet; locked.

    Two workers handling two events of one new ticket both insert; the conflict is ignored and both then
    lock the one row, so neither fails nor starts a second clock.
    """
    insert = insert_for(session, SlaClock)
    start = started_at or ticket.created_at or now
    session.execute(insert.values(
        account_id=account_id, ticket_id=ticket.id, state=RUNNING, started_at=start, tags=list(ticket.tags),
        reminders=[], reminders_done=[], business_hours=False, notify=False, created_at=now, updated_at=now,
    ).on_conflict_do_nothing())
    clock = session.scalars(
        sa.select(SlaClock).where(SlaClock.account_id == account_id, SlaClock.ticket_id == ticket.id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()
    absorb(clock, ticket)
    return clock


def absorb(clock: SlaClock, ticket: TicketSnapshot) -> None:
    """Copy what the ticket says about itself, unless the clock already knows a newer version of it."""
    if clock.ticket_updated_at and ticket.updated_at and ticket.updated_at < clock.ticket_updated_at:
        return  # an older event arriving late must not undo a newer one
    if ticket.created_at and ticket.created_at < clock.started_at:
        clock.started_at = ticket.created_at  # the first event seen was not the creation
    values: dict[str, Any] = {
        "subject": (ticket.subject or "")[:255] or None, "requester_id": ticket.requester_id,
        "requester_email": ticket.requester_email, "organization_id": ticket.organization_id,
        "priority": ticket.priority, "group_id": ticket.group_id, "ticket_type": ticket.type,
        "form_id": ticket.form_id, "assignee_id": ticket.assignee_id,
    }
    for name, value in values.items():
        if value is not None:
            setattr(clock, name, value)
    if ticket.tags or clock.tags:
        clock.tags = sorted(set(ticket.tags))
    if ticket.updated_at:
        clock.ticket_updated_at = ticket.updated_at


def deadline(started_at: datetime, target: Target, calendar: BusinessCalendar) -> datetime:
    if target.business_hours:
        return calendar.add(started_at, target.minutes)
    return started_at + timedelta(minutes=target.minutes)


def elapsed_minutes(clock: SlaClock, until: datetime, calendar: BusinessCalendar) -> float:
    """Minutes from the start to ``until``, in the clock's measure (business or calendar)."""
    if clock.business_hours:
        return round(calendar.minutes_between(clock.started_at, until), 2)
    return round(max(0.0, (until - clock.started_at).total_seconds() / 60), 2)


def reminder_moment(clock: SlaClock, minutes: int, calendar: BusinessCalendar) -> datetime:
    assert clock.due_at is not None
    if clock.business_hours:
        return calendar.subtract(clock.due_at, minutes)
    return clock.due_at - timedelta(minutes=minutes)


def next_due(clock: SlaClock, calendar: BusinessCalendar) -> datetime | None:
    """The next moment the clock needs the scheduler: the earliest reminder not yet done, or the deadline."""
    if clock.state != RUNNING or clock.due_at is None:
        return None
    moments = [reminder_moment(clock, minutes, calendar) for minutes in clock.reminders
               if minutes not in clock.reminders_done]
    return min([*moments, clock.due_at])


def attach_target(clock: SlaClock, segment: str, settings: SlaSettings, now: datetime) -> Target | None:
    """Give the clock the target for its segment and priority; re-plan the deadline if the target changed.

    A clock that was already answered gets its outcome recomputed; one that already breached keeps its
    breach (the message is out) even if the new target would be longer.
    """
    clock.segment = segment
    target = settings.target_for(segment, clock.priority)
    calendar = calendar_for(settings.business_hours)
    if target is None:
        clock.target_minutes, clock.due_at, clock.reminders, clock.next_due_at = None, None, [], None
        clock.notify = False
        return None
    same = (clock.target_minutes == target.minutes and clock.business_hours == target.business_hours
            and clock.due_at is not None)
    clock.notify = target.notify
    clock.mention = target.mention
    clock.reminders = list(target.reminders)
    if not same and clock.state != BREACHED:
        clock.target_minutes, clock.business_hours = target.minutes, target.business_hours
        clock.due_at = deadline(clock.started_at, target, calendar)
    if clock.replied_at is not None:
        clock.reply_minutes = elapsed_minutes(clock, clock.replied_at, calendar)
        assert clock.due_at is not None
        clock.breached_at = clock.due_at if clock.replied_at > clock.due_at else None
    clock.next_due_at = next_due(clock, calendar)
    clock.updated_at = now
    return target


def record_reply(clock: SlaClock, replied_at: datetime, settings: SlaSettings, now: datetime) -> bool:
    """Stop the clock at the first reply; False when it was already stopped (a later reply, a redelivery)."""
    if clock.replied_at is not None:
        return False
    # A reply and "solved" in one update reach us as two events, the status change first.
    same_update = (clock.state == CLOSED and clock.closed_at is not None
                   and replied_at <= clock.closed_at + SAME_UPDATE)
    if clock.state not in (RUNNING, BREACHED) and not same_update:
        return False
    calendar = calendar_for(settings.business_hours)
    clock.replied_at = max(replied_at, clock.started_at)
    clock.reply_minutes = elapsed_minutes(clock, clock.replied_at, calendar)
    if clock.due_at is not None:
        # Answered late while no pass saw the deadline: a breach all the same. Answered in time but the event
        # reached us after a pass had called the breach: no breach after all (the update says so).
        clock.breached_at = clock.due_at if clock.replied_at > clock.due_at else None
    clock.state, clock.next_due_at, clock.closed_at, clock.updated_at = ANSWERED, None, None, now
    return True


def record_close(clock: SlaClock, closed_at: datetime, now: datetime) -> bool:
    """Stop a clock whose ticket was solved or closed without a reply; False if it had already stopped."""
    if clock.state not in (RUNNING, BREACHED):
        return False
    clock.state, clock.closed_at, clock.next_due_at, clock.updated_at = CLOSED, closed_at, None, now
    return True


def advance(clock: SlaClock, now: datetime, calendar: BusinessCalendar) -> Notice | None:
    """What the team must hear now that ``now`` has come, collapsed to the current state.

    After downtime several moments may have passed at once: only the breach is said once the deadline has
    passed, and only the latest of several overdue reminders (saying the time actually left) otherwise.
    """
    if clock.state != RUNNING or clock.due_at is None:
        clock.next_due_at = None
        return None
    notice = None
    if now >= clock.due_at:
        clock.state, clock.breached_at = BREACHED, clock.due_at
        clock.reminders_done = sorted(set(clock.reminders) | set(clock.reminders_done), reverse=True)
        notice = Notice("breach")
    else:
        passed = [minutes for minutes in clock.reminders if minutes not in clock.reminders_done
                  and reminder_moment(clock, minutes, calendar) <= now]
        if passed:
            clock.reminders_done = sorted(set(passed) | set(clock.reminders_done), reverse=True)
            remaining = (calendar.minutes_between(now, clock.due_at) if clock.business_hours
                         else (clock.due_at - now).total_seconds() / 60)
            notice = Notice("reminder", min(passed), round(remaining, 1))
    clock.next_due_at = next_due(clock, calendar)
    clock.updated_at = now
    return notice


def moment_of_notice(clock: SlaClock, now: datetime, calendar: BusinessCalendar) -> datetime | None:
    """The moment whose notice ``advance`` would give at ``now`` (the deadline, or the latest overdue reminder):
    a notice says no reply came by then, which is only true once everything up to then has been heard."""
    if clock.state != RUNNING or clock.due_at is None:
        return None
    if now >= clock.due_at:
        return clock.due_at
    moments = [reminder_moment(clock, minutes, calendar) for minutes in clock.reminders
               if minutes not in clock.reminders_done]
    return max((moment for moment in moments if moment <= now), default=None)


def sidebar_panel(clock: SlaClock, now: datetime) -> dict[str, Any]:
    """The sidebar's view of a clock (documented in the README)."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "state": clock.state, "segment": clock.segment, "target_minutes": clock.target_minutes,
        "business_hours": clock.business_hours, "started_at": iso(clock.started_at),
        "due_at": iso(clock.due_at),
        "minutes_left": (round((clock.due_at - now).total_seconds() / 60, 1)
                         if clock.state == RUNNING and clock.due_at else None),
        "replied_at": iso(clock.replied_at), "reply_minutes": clock.reply_minutes,
        "breached": clock.breached_at is not None, "met_target": clock.met_target,
    }


__all__ = ["ANSWERED", "BREACHED", "CLOSED", "RUNNING", "Notice", "absorb", "advance", "attach_target",
           "clock_for", "moment_of_notice", "record_close", "record_reply", "sidebar_panel"]
