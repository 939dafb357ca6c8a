"""Catch-up after an outage: ticket changes whose webhooks never arrived become events all the same.

The helpdesk retries a failed webhook delivery only a few times, and its circuit breaker stops delivering to an
endpoint that keeps failing; whatever it could not deliver while Deskmate was down is gone. So Deskmate keeps,
per account, how far it has heard from the helpdesk (``helpdesk_cursors.heard_until``), and on start and every
``catch_up_interval_seconds`` reads the incremental ticket export from there. Each ticket the export lists is
compared with what Deskmate has heard of it: the mirror's ``updated_at`` (every handled event updated it) and
the events stored but not yet handled. A ticket changed later than that becomes the event its webhook would
have made, stored in the inbox like a delivery (``source`` ``zendesk``, the event-subscribed envelope):

* ``ticket.created`` for a ticket created since the cursor whose creation Deskmate never received (even if later
  changes of it arrived, such as a reply once Deskmate was back). Its key,
  ``ticket:<id>:created``, is the one the inbox gives a delivered ``ticket.created`` too (``inbox.delivery_key``):
  a ticket is created once, so whichever of the webhook and the catch-up comes second is a duplicate;
* ``ticket.soft_deleted`` for a known ticket the export reports as deleted;
* ``ticket.updated`` (the "any other change" event, which routing re-checks and the SLA and feature requests
  read whole) for any other change, keyed by the ticket and its ``updated_at``. The export gives a ticket's state,
  not its separate changes, so a late webhook of one of those changes is stored too and handled as the same,
  or an older, state of the ticket (plugins compare ``updated_at``), changing nothing.

Changes younger than ``catch_up_settle_seconds`` are left for their webhooks, normally seconds away, and read by
a later pass. The export has a rate limit of its own (Zendesk: 10 requests a minute), kept by a budget of its own
next to the account's (``RateBudget`` with ``api="zendesk_export"``); every call also takes a token from the
account's shared budget, like any other helpdesk call. A pass reads pages until the export is drained or its
budget asks it to wait, storing each page's events and the cursor's new position in one transaction, so a pass
cut short (a crash, a 429, the budget) loses nothing and the next one resumes there. One pass per account runs
at a time (a lease on the cursor row), whatever the number of workers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import click
import requests
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from app.accounts import AccountView, active_accounts
from app.clock import Clock, get_clock
from app.db import insert_for, rowcount, storage
from app.events import ENVELOPE_PREFIX, EventError, normalise, parse_time
from app.hookspecs import hookimpl
from app.inbox import created_key
from app.mirror.models import HelpdeskTicket
from app.models import HelpdeskCursor, InboundEvent
from app.plugins import PluginContext, Timer
from app.ratelimit import BudgetExhausted, RateBudget
from app.zendesk import HelpdeskError, zendesk_clients

NAME = "catch_up"
TICKETS = "tickets"
EXPORT_PATH = "/incremental/tickets/cursor.json"
EXPORT_API = "zendesk_export"

log = logging.getLogger("deskmate.catch_up")


@dataclass
class PassResult:
    """What one pass did: ``skipped`` when another process held the account's pass."""

    skipped: bool = False
    pages: int = 0
    tickets: int = 0
    made: dict[str, int] = field(default_factory=dict)
    heard_until: datetime | None = None
    stopped_by: str | None = None  # why the pass ended before the export did (budget, an error)

    @property
    def events(self) -> int:
        return sum(self.made.values())


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


# --- the cursor ----------------------------------------------------------------------------------------------


def _lease(app: Flask, account_id: int, owner: str, now: datetime, *, force: bool) -> HelpdeskCursor | None:
    """Take the account's cursor for one pass (creating it on the first), or None when another process has it
    or, unless ``force``, when a pass ended less than most of an interval ago (every worker runs the timer: the
    account still gets about one pass an interval)."""
    settings = app.config["DESKMATE"]
    lease = timedelta(seconds=settings.worker_lease_seconds)
    recent = now - timedelta(seconds=0.9 * settings.catch_up_interval_seconds)
    with storage.session(app) as session:
        session.execute(insert_for(session, HelpdeskCursor).values(
            account_id=account_id, stream=TICKETS,
            heard_until=now - timedelta(minutes=settings.catch_up_initial_lookback_minutes),
            events_made=0, created_at=now, updated_at=now,
        ).on_conflict_do_nothing())
        taken = rowcount(session.execute(
            sa.update(HelpdeskCursor)
            .where(HelpdeskCursor.account_id == account_id, HelpdeskCursor.stream == TICKETS,
                   sa.or_(HelpdeskCursor.leased_until.is_(None), HelpdeskCursor.leased_until < now,
                          HelpdeskCursor.leased_by == owner),
                   sa.true() if force else sa.or_(HelpdeskCursor.last_pass_at.is_(None),
                                                  HelpdeskCursor.last_pass_at <= recent))
            .values(leased_by=owner, leased_until=now + lease)
        ))
        if not taken:
            return None
        cursor = session.get(HelpdeskCursor, (account_id, TICKETS))
        assert cursor is not None
        session.expunge(cursor)
        return cursor


def _release(app: Flask, account_id: int, owner: str, now: datetime, error: str | None) -> None:
    with storage.session(app) as session:
        session.execute(
            sa.update(HelpdeskCursor)
            .where(HelpdeskCursor.account_id == account_id, HelpdeskCursor.stream == TICKETS,
                   HelpdeskCursor.leased_by == owner)
            .values(leased_by=None, leased_until=None, last_pass_at=now, last_error=error, updated_at=now)
        )


def cursor_of(app: Flask, account_id: int) -> HelpdeskCursor | None:
    """The account's ticket cursor as stored (None before the first pass)."""
    with storage.session(app) as session:
        cursor = session.get(HelpdeskCursor, (account_id, TICKETS))
        if cursor is not None:
            session.expunge(cursor)
        return cursor


# --- one pass ------------------------------------------------------------------------------------------------


def export_budget(app: Flask, account: AccountView) -> RateBudget:
    """The export's own rate budget for the account (its limit is separate from the account's API limit). On
    the wall clock, like the account's budget: the helpdesk counts real minutes."""
    settings = app.config["DESKMATE"]
    return RateBudget(storage.engine(app), account.id, per_minute=settings.catch_up_export_per_minute,
                      share=settings.rate_budget_share, now=Clock().now, api=EXPORT_API)


def _page_wait(app: Flask) -> float:
    """How long a pass waits for its next page's token: about one and a half refills, so that a long backlog is
    read at the export's pace within one pass (on the worker's scheduler thread, which handles no events)."""
    settings = app.config["DESKMATE"]
    allowed = settings.catch_up_export_per_minute * settings.rate_budget_share
    return max(settings.rate_budget_max_wait_seconds, 1.5 * 60.0 / allowed)


def run_pass(app: Flask, account: AccountView, *, owner: str | None = None, force: bool = False) -> PassResult:
    """Read the account's ticket export from its cursor and store the events Deskmate never received.

    Never raises for the helpdesk's answers: a refusal, a 429 or an exhausted budget ends the pass early, with
    the cursor where the last stored page left it and the reason in ``stopped_by`` (and the cursor's
    ``last_error``).
    """
    owner = owner or _owner()
    clock = get_clock(app)
    started = clock.now()
    cursor = _lease(app, account.id, owner, started, force=force)
    if cursor is None:
        return PassResult(skipped=True)
    settings = app.config["DESKMATE"]
    result = PassResult(heard_until=cursor.heard_until)
    error: str | None = None
    try:
        _read_export(app, account, cursor, owner, started - timedelta(seconds=settings.catch_up_settle_seconds),
                     result)
    except BudgetExhausted as exc:
        result.stopped_by = f"rate budget: {exc}"
    except (HelpdeskError, requests.RequestException, RuntimeError) as exc:  # RuntimeError: no credentials
        result.stopped_by = error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("catch-up of %s stopped: %s", account.subdomain, error)
    finally:
        _release(app, account.id, owner, clock.now(), error)
    if result.events:
        log.info("catch-up of %s made %s", account.subdomain, result.made)
    return result


def _read_export(app: Flask, account: AccountView, cursor: HelpdeskCursor, owner: str, horizon: datetime,
                 result: PassResult) -> None:
    settings = app.config["DESKMATE"]
    zendesk = zendesk_clients.for_account(account, app)
    budget = export_budget(app, account)
    since = cursor.heard_until
    # Whole seconds, as the export takes them: the boundary second is read again and its tickets found heard.
    params: dict[str, Any] = {"start_time": int(since.timestamp())}
    while True:
        budget.acquire(_page_wait(app))
        page = zendesk.call("GET", EXPORT_PATH, params=params, what="ticket export")
        result.pages += 1
        tickets = [t for t in page.get("tickets") or [] if isinstance(t, dict) and t.get("id") is not None]
        # Read to the end even past the horizon: a ticket changed too recently to judge may have been created
        # long enough ago for its missing creation to count (its export entry shows only its latest change).
        drained = bool(page.get("end_of_stream")) or not page.get("after_cursor")
        # Tickets come in updated_at order: once the export is drained, every change up to the horizon has been
        # judged; otherwise every change up to the newest ticket of this page (or the horizon, if before).
        stamps = [stamp for stamp in (parse_time(t.get("updated_at")) for t in tickets) if stamp is not None]
        reached = horizon if drained else min(horizon, max(stamps, default=since))
        with storage.session(app) as session:
            made = make_events(session, account.id, tickets, since=since, horizon=horizon,
                               now=get_clock(app).now())
            heard = max(since, reached)
            session.execute(
                sa.update(HelpdeskCursor)
                .where(HelpdeskCursor.account_id == account.id, HelpdeskCursor.stream == TICKETS,
                       HelpdeskCursor.leased_by == owner)
                .values(heard_until=heard, events_made=HelpdeskCursor.events_made + sum(made.values()),
                        leased_until=get_clock(app).now() + timedelta(seconds=settings.worker_lease_seconds))
            )
        result.tickets += len(tickets)
        for kind, count in made.items():
            result.made[kind] = result.made.get(kind, 0) + count
        result.heard_until = heard
        if drained:
            return
        params = {"cursor": page["after_cursor"]}


def _heard_at(session: Session, account_id: int,
              ticket_ids: list[int]) -> tuple[dict[int, datetime | None], set[int], set[int]]:
    """For each ticket: the newest ``updated_at`` Deskmate has of it (mirror, or stored and not yet handled
    events); the tickets it knows at all; the tickets whose creation it received."""
    heard: dict[int, datetime | None] = {}
    for ticket_id, updated_at in session.execute(
            sa.select(HelpdeskTicket.ticket_id, HelpdeskTicket.updated_at)
            .where(HelpdeskTicket.account_id == account_id, HelpdeskTicket.ticket_id.in_(ticket_ids))):
        heard[ticket_id] = updated_at
    # Events stored and not handled yet have not reached the mirror: what they say counts as heard too.
    waiting = session.execute(
        sa.select(InboundEvent.id, InboundEvent.ticket_id, InboundEvent.source, InboundEvent.event_type,
                  InboundEvent.payload, InboundEvent.received_at)
        .where(InboundEvent.account_id == account_id, InboundEvent.ticket_id.in_(ticket_ids),
               InboundEvent.source == "zendesk", InboundEvent.state != "done"))
    for row in waiting:
        try:
            event = normalise(row.payload, source=row.source, event_type=row.event_type, row_id=row.id,
                              account_id=account_id, received_at=row.received_at)
        except EventError:
            continue
        stamp = event.ticket.updated_at if event.ticket is not None else None
        known = heard.get(row.ticket_id)
        heard[row.ticket_id] = stamp if known is None or (stamp is not None and stamp > known) else known
    created = {ticket_id for ticket_id in session.scalars(
        sa.select(InboundEvent.ticket_id)
        .where(InboundEvent.account_id == account_id, InboundEvent.ticket_id.in_(ticket_ids),
               InboundEvent.source == "zendesk", InboundEvent.event_type == "ticket.created"))
        if ticket_id is not None}
    return heard, set(heard), created


def make_events(session: Session, account_id: int, tickets: Iterable[dict[str, Any]], *, since: datetime,
                horizon: datetime, now: datetime) -> dict[str, int]:
    """Store, in ``session``'s transaction, the event of each exported ticket whose creation (between ``since``
    and ``horizon``) or latest change (by ``horizon``) Deskmate never heard of; the number stored by type (a key
    stored before, by a webhook or an earlier pass, stores nothing). Later changes are left to a later pass."""
    by_id: dict[int, dict[str, Any]] = {}
    for ticket in tickets:
        try:
            by_id[int(ticket["id"])] = ticket
        except (TypeError, ValueError):
            continue
    if not by_id:
        return {}
    heard, known, created = _heard_at(session, account_id, sorted(by_id))
    made: dict[str, int] = {}
    for ticket_id, ticket in by_id.items():
        updated_at = parse_time(ticket.get("updated_at"))
        created_at = parse_time(ticket.get("created_at"))
        deleted = ticket.get("status") == "deleted"
        # A creation is missed even when later changes of the ticket arrived (a reply after Deskmate came back):
        # routing and the SLA start from the creation, which those changes do not replace.
        new = (not deleted and ticket_id not in created and created_at is not None
               and since - timedelta(seconds=1) <= created_at <= horizon)
        last_heard = heard.get(ticket_id)
        if not new and (updated_at is None or updated_at > horizon
                        or (last_heard is not None and updated_at <= last_heard)):
            continue
        if deleted:
            if ticket_id not in known:
                continue  # never heard of, and gone: nothing for anyone to undo
            event_type, key = "ticket.soft_deleted", f"catchup:ticket:{ticket_id}:deleted"
        elif new:
            event_type, key = "ticket.created", created_key(ticket_id)
        else:
            assert updated_at is not None
            event_type, key = "ticket.updated", f"catchup:ticket:{ticket_id}:{int(updated_at.timestamp())}"
        envelope = envelope_of(ticket, event_type, key, now)
        stored = rowcount(session.execute(insert_for(session, InboundEvent).values(
            account_id=account_id, source="zendesk", event_type=event_type, ticket_id=ticket_id, event_key=key,
            invocation_id=None, payload=envelope, state="pending", attempts=0, received_at=now, next_attempt_at=now,
        ).on_conflict_do_nothing()))
        if stored:
            made[event_type] = made.get(event_type, 0) + 1
    return made


def envelope_of(ticket: dict[str, Any], event_type: str, key: str, now: datetime) -> dict[str, Any]:
    """The event-subscribed envelope the helpdesk would have sent for ``ticket`` (an API record), so that the
    worker reads it like any delivery. ``event.catch_up`` tells plugins (and operators) where it came from."""
    via = ticket.get("via")
    detail = {
        "id": ticket["id"],
        "subject": ticket.get("subject"),
        "description": ticket.get("description"),
        "status": "deleted" if ticket.get("status") == "deleted" else ticket.get("status"),
        "priority": ticket.get("priority"),
        "type": ticket.get("type"),
        "requester_id": ticket.get("requester_id"),
        "submitter_id": ticket.get("submitter_id"),
        "organization_id": ticket.get("organization_id"),
        "group_id": ticket.get("group_id"),
        "assignee_id": ticket.get("assignee_id"),
        "brand_id": ticket.get("brand_id"),
        "form_id": ticket.get("ticket_form_id"),
        "via": {"channel": via.get("channel")} if isinstance(via, dict) else None,
        "tags": list(ticket.get("tags") or []),
        "custom_fields": ticket.get("custom_fields") or [],
        "created_at": ticket.get("created_at"),
        "updated_at": ticket.get("updated_at"),
    }
    return {
        "type": ENVELOPE_PREFIX + event_type,
        "id": key,
        "time": ticket.get("updated_at") or now.isoformat(),
        "subject": f"zen:ticket:{ticket['id']}",
        "detail": detail,
        "event": {"catch_up": True},
    }


# --- the timer and the command ---------------------------------------------------------------------------------


def _timer_pass(ctx: PluginContext) -> None:
    run_pass(current_app._get_current_object(), ctx.account)  # type: ignore[attr-defined]


@hookimpl
def register_timers() -> list[Timer]:
    every = current_app.config["DESKMATE"].catch_up_interval_seconds
    if not every:
        return []
    return [Timer("catch_up", every, _timer_pass, run_at_start=True)]


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command("run")
    @click.option("--account", "subdomain", default=None, help="Only this account (its subdomain).")
    def run_command(subdomain: str | None) -> None:
        """Read the ticket export from each account's cursor now and store the events never received."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        for account in active_accounts(app):
            if subdomain and account.subdomain != subdomain:
                continue
            result = run_pass(app, account, force=True)
            if result.skipped:
                click.echo(f"{account.subdomain}: a pass is under way elsewhere")
                continue
            click.echo(f"{account.subdomain}: {result.pages} pages, {result.tickets} tickets, events {result.made}, "
                       f"heard until {result.heard_until.isoformat() if result.heard_until else '-'}"
                       + (f"; stopped: {result.stopped_by}" if result.stopped_by else ""))

    @cli.command("status")
    def status_command() -> None:
        """Where each account's cursor stands."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        for account in active_accounts(app):
            cursor = cursor_of(app, account.id)
            if cursor is None:
                click.echo(f"{account.subdomain}: no pass yet")
                continue
            click.echo(f"{account.subdomain}: heard until {cursor.heard_until.isoformat()}, "
                       f"{cursor.events_made} events made, last pass "
                       f"{cursor.last_pass_at.isoformat() if cursor.last_pass_at else '-'}"
                       + (f", last error: {cursor.last_error}" if cursor.last_error else ""))


def init_app(app: Flask) -> None:
    """Register the catch-up pass (a core timer) and ``flask catch-up``. Call after the plugin manager."""
    from app import catch_up
    from app.plugins import plugin_manager

    plugin_manager.register_builtin(app, catch_up, NAME)
