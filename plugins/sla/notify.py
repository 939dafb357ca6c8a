"""Turning clock changes into Slack work items, each under a key that makes it happen at most once.

Keys: ``sla:announce:<ticket>`` (look up names, then post), ``sla:arrival:<ticket>`` (the post),
``sla:reminder:<minutes>:<ticket>`` and ``sla:breach:<ticket>`` (thread replies, work kind ``sla.notice``,
rendered when performed so that a late one says what is true then), and the updates of the
arrival message ``sla:breached:<ticket>``, ``sla:answered:<ticket>``, ``sla:closed:<ticket>``,
``sla:taken:<ticket>``.
Each update waits for the previous change of the message (``after``), so they land in the order they happened.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.api import FAILED, SLACK_POST, SLACK_UPDATE, ClaimedItem, PluginContext, perform_core_effect
from plugins.sla import messages
from plugins.sla.business_hours import calendar_for
from plugins.sla.clocks import Notice
from plugins.sla.models import CLOSED, RUNNING, SlaClock
from plugins.sla.settings import settings_of

ANNOUNCE_KIND = "sla.announce"
NOTICE_KIND = "sla.notice"


def arrival_key(ticket_id: int) -> str:
    return f"sla:arrival:{ticket_id}"


def announce(ctx: PluginContext, clock: SlaClock) -> bool:
    """Ask for the arrival message if the team is to be told and it was not asked for yet.

    A ticket whose segment became known only after it was answered or closed (routing held up by a helpdesk
    outage) is announced too: the channel keeps one message per ticket of the segment, showing how it went.
    """
    if not clock.notify or not clock.channel:
        return False
    return ctx.enqueue(ANNOUNCE_KIND, f"sla:announce:{clock.ticket_id}", {
        "ticket_id": clock.ticket_id, "requester_id": clock.requester_id,
        "organization_id": clock.organization_id,
    })


def _prerequisite(ctx: PluginContext, clock: SlaClock) -> str | None:
    """The item the next change of the arrival message must wait for; None when the message is lost."""
    arrival = arrival_key(clock.ticket_id)
    if clock.last_message_key is None:
        return None
    if ctx.work_state(clock.last_message_key) != FAILED:
        return clock.last_message_key
    # An update that failed for good must not hold back the next one forever; the post itself must exist.
    return arrival if ctx.work_state(arrival) not in (FAILED, None) else None


def update_arrival(ctx: PluginContext, clock: SlaClock, change: str) -> bool:
    """Re-render the arrival message for the clock's current state (``change``: answered, breached...)."""
    after = _prerequisite(ctx, clock)
    if after is None:
        return False
    key = f"sla:{change}:{clock.ticket_id}"
    payload = {"message_of": arrival_key(clock.ticket_id), **messages.arrival(clock, ctx.account.helpdesk_url)}
    if ctx.enqueue(SLACK_UPDATE, key, payload, after=after):
        clock.last_message_key = key
        return True
    return False


def failed_arrivals(ctx: PluginContext, ticket_ids: list[int]) -> set[str]:
    """The arrival posts among these tickets' that failed for good (one query for a whole pass)."""
    if not ticket_ids:
        return set()
    states = ctx.work_states([arrival_key(ticket_id) for ticket_id in ticket_ids])
    return {key for key, found in states.items() if found.state == FAILED}


def _thread_reply(ctx: PluginContext, clock: SlaClock, key: str, notice: Notice,
                  failed: set[str] | None) -> bool:
    arrival = arrival_key(clock.ticket_id)
    if failed is None:
        failed = failed_arrivals(ctx, [clock.ticket_id])
    if clock.last_message_key is None or arrival in failed:
        return False  # no arrival message to reply under; its update shows the state instead
    payload = {"ticket_id": clock.ticket_id, "notice": notice.kind, "minutes": notice.minutes}
    return ctx.enqueue(NOTICE_KIND, key, payload, after=arrival)


def tell(ctx: PluginContext, clock: SlaClock, notice: Notice, failed: set[str] | None = None) -> None:
    """Post a reminder or the breach under the arrival message (and mark the arrival message breached).

    ``failed``: the pass's ``failed_arrivals``, read once for all its clocks (looked up here when absent).
    """
    if not clock.notify:
        return
    if notice.kind == "breach":
        _thread_reply(ctx, clock, f"sla:breach:{clock.ticket_id}", notice, failed)
        update_arrival(ctx, clock, "breached")
    else:
        _thread_reply(ctx, clock, f"sla:reminder:{notice.minutes}:{clock.ticket_id}", notice, failed)


def _stale(clock: SlaClock | None, payload: dict[str, Any], now: datetime) -> str | None:
    """Why a reminder or breach no longer says what is true (Slack was slow, the ticket moved on), if so."""
    if clock is None or clock.due_at is None:
        return "the clock is gone"
    if payload["notice"] == "breach":
        if clock.replied_at is not None and clock.replied_at <= clock.due_at:
            return "answered in time after all"
        return "closed without a breach" if clock.state == CLOSED and clock.breached_at is None else None
    if clock.state != RUNNING:
        return f"the clock is {clock.state}"
    if now >= clock.due_at:
        return "the deadline has passed: the breach says it"
    if any(point < payload["minutes"] for point in clock.reminders_done):
        return "a later reminder took its place"
    return None


def perform_notice(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Post a reminder or the breach in the arrival's thread, saying what is true now, exactly once.

    Rendered when performed, not when asked for: a reminder that waited out a Slack outage says the time
    actually left, and one overtaken by a later reminder, a reply or the deadline is dropped.
    """
    ticket_id = int(item.payload["ticket_id"])
    # A short read of its own: no lock (and on SQLite no write transaction) is held across the Slack call.
    found = ctx.read(sa.select(SlaClock).where(SlaClock.account_id == ctx.account.id,
                                               SlaClock.ticket_id == ticket_id))
    clock = found[0] if found else None
    now = ctx.now()
    reason = _stale(clock, item.payload, now)
    if reason is not None or clock is None or clock.due_at is None:
        return {"skipped": reason}
    if item.payload["notice"] == "breach":
        message = messages.breach(clock)
    else:
        calendar = calendar_for(settings_of(ctx).business_hours)
        remaining = (calendar.minutes_between(now, clock.due_at) if clock.business_hours
                     else (clock.due_at - now).total_seconds() / 60)
        message = messages.reminder(clock, remaining)
    post = replace(item, payload={"thread_of": arrival_key(ticket_id), "channel": clock.channel, **message})
    return perform_core_effect(SLACK_POST, post, ctx)


def perform_announce(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Look up the requester's and organization's names, then ask for the arrival post (once)."""
    # Helpdesk first, database after: a lock must never be held across an HTTP call.
    names = _lookup_names(ctx, item.payload.get("requester_id"), item.payload.get("organization_id"))
    ticket_id = int(item.payload["ticket_id"])
    clock = ctx.session.scalars(
        sa.select(SlaClock).where(SlaClock.account_id == ctx.account.id, SlaClock.ticket_id == ticket_id)
        .with_for_update()
    ).one_or_none()
    if clock is None or not clock.notify or not clock.channel:
        return {"posted": False, "state": clock.state if clock else None}
    for name, value in names.items():
        if value:
            setattr(clock, name, value[:255])
    key = arrival_key(ticket_id)
    payload = {"channel": clock.channel, **messages.arrival(clock, ctx.account.helpdesk_url)}
    if ctx.enqueue(SLACK_POST, key, payload):
        clock.last_message_key = key
    return {"posted": True, "channel": clock.channel}


def _lookup_names(ctx: PluginContext, requester_id: Any, organization_id: Any) -> dict[str, str | None]:
    """Names for the arrival message: from the helpdesk mirror (routing and the sidebar have usually read the
    requester and organization already), else from the helpdesk when it has spare budget. A helpdesk hiccup
    only makes the message plainer, never later. What is read is stored in the mirror for the next reader."""
    names: dict[str, str | None] = {}
    requester_id, organization_id = int(requester_id or 0) or None, int(organization_id or 0) or None
    with ctx.mirror_reader() as mirror:
        user = mirror.user(requester_id) if requester_id else None
        organization = mirror.organization(organization_id) if organization_id else None
    if user is not None and user.name:
        names["requester_name"], names["requester_email"] = user.name, user.email
        requester_id = None
    if organization is not None and organization.name:
        names["organization_name"] = organization.name
        organization_id = None
    if not (requester_id or organization_id) or not ctx.zendesk.has_spare_budget():
        # During a spike the helpdesk's budget goes to routing and replies; the message goes out as it is.
        return names
    read: dict[str, Any] = {}
    try:
        if requester_id:
            read["user"] = ctx.zendesk.call("GET", f"/users/{requester_id}.json", what="requester")["user"]
            names["requester_name"], names["requester_email"] = read["user"].get("name"), read["user"].get("email")
        if organization_id:
            read["organization"] = ctx.zendesk.call("GET", f"/organizations/{organization_id}.json",
                                                    what="organization")["organization"]
            names["organization_name"] = read["organization"].get("name")
    except Exception as error:  # HelpdeskError, BudgetExhausted, a timeout: post now, plainer
        ctx.log.warning("names for the arrival message unavailable: %s", error)
    if "user" in read:
        ctx.mirror.store_users([read["user"]], ctx.now())
    if "organization" in read:
        ctx.mirror.store_organizations([read["organization"]], ctx.now())
    return names
