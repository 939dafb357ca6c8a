"""The scheduler pass: read only the clocks whose next moment has come, and say what is due now.

Runs every few seconds on every worker. It reads through ``ix_sla_clocks_due`` (``state='running' AND
next_due_at <= now``), locks what it reads (``SKIP LOCKED``: a second worker takes other rows), and writes the
clock's new state and its Slack work items in one transaction, under keys that make a repeat harmless. A
worker that was down simply finds everything that came due meanwhile, collapsed to the current state.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.api import PluginContext, Timer
from plugins.sla import notify
from plugins.sla.business_hours import calendar_for
from plugins.sla.clocks import advance, moment_of_notice
from plugins.sla.handlers import route_by_default
from plugins.sla.models import RUNNING, SlaClock
from plugins.sla.settings import settings_of

PASS_INTERVAL_SECONDS = 2.0


def due_clocks(ctx: PluginContext, limit: int) -> list[SlaClock]:
    """The running clocks whose next moment has come, earliest first, locked for this pass."""
    statement = (
        sa.select(SlaClock)
        .where(SlaClock.account_id == ctx.account.id, SlaClock.state == RUNNING,
               SlaClock.next_due_at <= ctx.now())
        .order_by(SlaClock.next_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(ctx.session.scalars(statement))


def run_pass(ctx: PluginContext) -> None:
    """One pass for one account: move every due clock on (see ``pass_once`` for the count)."""
    pass_once(ctx)


def pass_once(ctx: PluginContext) -> int:
    """One pass for one account; returns how many clocks it moved on."""
    settings = settings_of(ctx)
    now = ctx.now()
    calendar = calendar_for(settings.business_hours)
    clocks = due_clocks(ctx, settings.pass_batch_size)
    # After a restart, events that came in meanwhile (the reply, the ticket solved) are told first: a clock
    # whose ticket has unhandled events waits for the next pass rather than remind about an answered ticket.
    waiting = ctx.tickets_with_unhandled_events([clock.ticket_id for clock in clocks])
    # After an outage, a reply written meanwhile reaches Deskmate only when the catch-up reads it: a reminder or
    # breach whose moment is later than what has surely been heard waits for it (normally that is now).
    heard = ctx.heard_until() if clocks else now
    clocks = [clock for clock in clocks if clock.ticket_id not in waiting
              and not _unheard(moment_of_notice(clock, now, calendar), heard)]
    failed = notify.failed_arrivals(ctx, [clock.ticket_id for clock in clocks if clock.notify])
    with ctx.session.no_autoflush:  # the clocks' changes go out in one flush at the end, not one per query
        for clock in clocks:
            if clock.segment is None:
                route_by_default(ctx, clock)
                continue
            notice = advance(clock, now, calendar)
            if notice is not None:
                notify.tell(ctx, clock, notice, failed)
    return len(clocks)


def _unheard(moment: datetime | None, heard: datetime) -> bool:
    return moment is not None and moment > heard


def timers() -> list[Timer]:
    from plugins.sla.digest import digest_pass

    return [Timer("reminders", PASS_INTERVAL_SECONDS, run_pass), Timer("weekly_digest", 300, digest_pass)]
