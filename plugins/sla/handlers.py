"""How each event moves a first-reply clock: created, routed, replied to, re-prioritised, solved.

Events may come twice and out of order: a clock is created by whichever of its ticket's events comes first,
the first reply is recorded once, and an older ticket snapshot never overwrites a newer one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.api import Event, PluginContext, TicketSnapshot
from plugins.sla import notify
from plugins.sla.clocks import absorb, attach_target, clock_for, record_close, record_reply
from plugins.sla.models import SlaClock
from plugins.sla.settings import SlaSettings, settings_of

STOPPED_STATUSES = frozenset({"solved", "closed"})


def waits_for_routing(ctx: PluginContext) -> bool:
    wanted = settings_of(ctx).wait_for_routing
    return ("routing" in ctx.config.plugins) if wanted is None else wanted


def existing_clock(ctx: PluginContext, ticket_id: int) -> SlaClock | None:
    return ctx.session.scalars(
        sa.select(SlaClock).where(SlaClock.account_id == ctx.account.id, SlaClock.ticket_id == ticket_id)
        .with_for_update()
    ).one_or_none()


def handle(event: Event, ctx: PluginContext) -> None:
    """Dispatch one event to what it means for the ticket's clock."""
    if event.type == "slack.block_actions":
        from plugins.sla.take import on_click

        on_click(event, ctx)
        return
    ticket = event.ticket
    if ticket is None and event.ticket_id is not None and event.type == "routing.ticket_routed":
        ticket = TicketSnapshot(id=event.ticket_id)
    if ticket is None:
        return
    if event.type == "ticket.created":
        on_created(ctx, ticket)
    elif event.type == "routing.ticket_routed":
        on_routed(ctx, ticket, event.data)
    elif event.type == "ticket.comment_added":
        on_comment(ctx, ticket, event)
    elif event.type in ("ticket.status_changed", "ticket.soft_deleted"):
        on_status(ctx, ticket, event)
    elif event.type.startswith("ticket."):
        on_other_change(ctx, ticket)


def is_measured(ticket: TicketSnapshot, settings: SlaSettings) -> bool:
    """Whether the ticket waits for a first reply at all.

    Like the helpdesk's own first-reply metric, a ticket an agent (or an integration, or Deskmate itself for a
    follow-up) opened on a requester's behalf is not measured: its submitter is not its requester.
    """
    if settings.measure_agent_created or ticket.submitter_id is None or ticket.requester_id is None:
        return True
    return ticket.submitter_id == ticket.requester_id


def on_created(ctx: PluginContext, ticket: TicketSnapshot) -> None:
    """Start the clock at the ticket's creation; without routing, give it the default segment's target now."""
    settings = settings_of(ctx)
    if ticket.status in STOPPED_STATUSES or not is_measured(ticket, settings):
        return  # created already solved (an import), or opened by an agent: nobody waits for a reply
    clock = clock_for(ctx.session, ctx.account.id, ticket, ctx.now())
    if clock.segment is None:
        if waits_for_routing(ctx):
            # Should routing never say, the scheduler gives the ticket the default segment after a grace time.
            clock.next_due_at = clock.started_at + timedelta(minutes=settings.routing_grace_minutes)
        else:
            _route(ctx, clock, settings.default_segment)


def route_by_default(ctx: PluginContext, clock: SlaClock) -> None:
    """The routing plugin said nothing within the grace time: the default segment's target applies."""
    ctx.log.warning("ticket %s was not routed within %s minutes; using segment %s", clock.ticket_id,
                    settings_of(ctx).routing_grace_minutes, settings_of(ctx).default_segment)
    _route(ctx, clock, settings_of(ctx).default_segment)


def on_routed(ctx: PluginContext, ticket: TicketSnapshot, data: dict[str, Any]) -> None:
    """The routing plugin decided the segment (and group): attach the target and tell the team if wanted."""
    if not is_measured(ticket, settings_of(ctx)) and existing_clock(ctx, ticket.id) is None:
        return
    clock = clock_for(ctx.session, ctx.account.id, ticket, ctx.now())
    if data.get("group_id") is not None:
        clock.group_id = int(data["group_id"])
    if data.get("group_name"):
        clock.group_name = str(data["group_name"])[:255]
    if data.get("priority"):
        clock.priority = str(data["priority"]).lower()
    if data.get("organization_id") is not None and clock.organization_id is None:
        clock.organization_id = int(data["organization_id"])
    if data.get("requester_id") is not None and clock.requester_id is None:
        clock.requester_id = int(data["requester_id"])
    if isinstance(data.get("tags"), list) and data["tags"]:
        # Routing's tags reach the ticket by an update whose echo the core does not hand out: merged here
        # so that reports by tag see them.
        clock.tags = sorted(set(clock.tags or []) | {str(tag) for tag in data["tags"]})
    _route(ctx, clock, str(data.get("segment") or settings_of(ctx).default_segment))


def _route(ctx: PluginContext, clock: SlaClock, segment: str) -> None:
    settings = settings_of(ctx)
    target = attach_target(clock, segment, settings, ctx.now())
    clock.channel = settings.channel_for(segment, clock.group_id)
    clock.notify = bool(target and target.notify and clock.channel and ctx.has_slack)
    notify.announce(ctx, clock)


def is_first_reply(comment: dict[str, Any], ticket: TicketSnapshot, settings: SlaSettings,
                   own_user_id: int | None = None) -> bool:
    """A public comment by an agent: not an internal note, not the requester, not an automated author, and never
    Deskmate's own (a release notice or an acknowledgement is not an answer from a person, whatever
    ``automated_author_ids`` says)."""
    author = comment.get("author") or {}
    public = comment.get("is_public", comment.get("public"))
    if public not in (True, "true", "True"):
        return False
    if author.get("is_staff") not in (True, "true", "True"):
        return False
    try:
        author_id = int(author.get("id") or 0)
    except (TypeError, ValueError):
        return False
    # -1 is the helpdesk's own system user (automations, triggers).
    automated = author_id <= 0 or author_id in settings.automated_author_ids or author_id == own_user_id
    return not automated and author_id != ticket.requester_id


def on_comment(ctx: PluginContext, ticket: TicketSnapshot, event: Event) -> None:
    """The first public agent reply stops the clock and updates the arrival message."""
    comment = event.data.get("comment") or {}
    if not is_first_reply(comment, ticket, settings_of(ctx), ctx.own_user_id):
        clock = existing_clock(ctx, ticket.id)
        if clock is not None:
            absorb(clock, ticket)
        return
    if not is_measured(ticket, settings_of(ctx)) and existing_clock(ctx, ticket.id) is None:
        return
    clock = clock_for(ctx.session, ctx.account.id, ticket, ctx.now())
    if record_reply(clock, event.occurred_at, settings_of(ctx), ctx.now()):
        notify.update_arrival(ctx, clock, "answered")


def on_status(ctx: PluginContext, ticket: TicketSnapshot, event: Event) -> None:
    """Solved, closed or deleted without a reply: stop the clock, no more reminders."""
    clock = existing_clock(ctx, ticket.id)
    if clock is None:
        return
    absorb(clock, ticket)
    stopped = event.type == "ticket.soft_deleted" or ticket.status in STOPPED_STATUSES
    if stopped and record_close(clock, event.occurred_at, ctx.now()):
        notify.update_arrival(ctx, clock, "closed")


def on_other_change(ctx: PluginContext, ticket: TicketSnapshot) -> None:
    """Keep the report dimensions current; a new priority may mean a new target."""
    clock = existing_clock(ctx, ticket.id)
    if clock is None:
        return
    before = clock.priority
    absorb(clock, ticket)
    if clock.segment is not None and clock.priority != before:
        _route(ctx, clock, clock.segment)
