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

The ticket export gives each ticket's latest state, not its comments, so a reply an agent wrote while Deskmate
was down would be missed (and the SLA bot would announce a breach of a ticket long answered). Each pass therefore
also reads the incremental ticket *event* export with its ``comment_events`` sideload from a cursor of its own
(stream ``ticket_events``): each comment Deskmate never received becomes the ``ticket.comment_added`` a webhook
would have made, keyed ``ticket:<id>:comment:<comment id>`` like a delivered one (``inbox.comment_key``), with the
ticket as the helpdesk has it now (``show_many``) and its author's role (the mirror, or ``show_many``). A
ticket's description, part of its creation's update, is not a comment of its own (``ticket.created`` carries it).

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
from app.inbox import comment_key, created_key
from app.mirror import Mirror
from app.mirror.models import HelpdeskTicket
from app.models import HelpdeskCursor, InboundEvent
from app.plugins import PluginContext, Timer
from app.ratelimit import BudgetExhausted, RateBudget
from app.zendesk import HelpdeskError, zendesk_clients

NAME = "catch_up"
TICKETS = "tickets"
COMMENTS = "ticket_events"
EXPORT_PATH = "/incremental/tickets/cursor.json"
EVENTS_PATH = "/incremental/ticket_events.json"
SHOW_MANY = 100  # ids per show_many call, the helpdesk's limit
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


def _release(app: Flask, account_id: int, owner: str, now: datetime, error: str | None,
             gap_until: datetime | None) -> None:
    """End the pass; ``gap_until`` (when it found a gap) moves the account's gap on."""
    values: dict[str, Any] = {"leased_by": None, "leased_until": None, "last_pass_at": now, "last_error": error,
                              "updated_at": now}
    if gap_until is not None:
        values["gap_until"] = gap_until
    with storage.session(app) as session:
        session.execute(
            sa.update(HelpdeskCursor)
            .where(HelpdeskCursor.account_id == account_id, HelpdeskCursor.stream == TICKETS,
                   HelpdeskCursor.leased_by == owner)
            .values(**values)
        )


def _stale(app: Flask, last_pass_at: datetime | None, now: datetime) -> bool:
    """No pass for two intervals: every worker runs the timer, so Deskmate (or all its workers) was down."""
    interval = app.config["DESKMATE"].catch_up_interval_seconds
    return last_pass_at is not None and last_pass_at < now - timedelta(seconds=2 * interval)


def heard_until(app: Flask, account_id: int, now: datetime, session: Session | None = None) -> datetime:
    """The moment up to which Deskmate has surely heard every change of the account's tickets.

    Deliveries are lost only in a gap: while Deskmate was down (no pass ran for two intervals) or while a pass
    kept finding changes never received; ``gap_until`` is the latest such moment. Once both cursors are past it,
    webhooks are trusted again and the answer is ``now``; until then it is the older cursor, what the catch-up
    has read. A plugin about to tell people something did *not* happen by a moment (the SLA bot's breach: no
    reply by the deadline) waits until then, or it would announce breaches of tickets answered while Deskmate
    was not listening. A helpdesk failing the export is not a gap (its webhooks may well be arriving, and an SLA
    bot gone silent is worse); with the catch-up off, or before its first pass, webhooks are all there is.
    Read in ``session`` when given (a caller inside a transaction: on SQLite a second one would wait for the
    write lock its own thread holds).
    """
    if not app.config["DESKMATE"].catch_up_interval_seconds:
        return now
    query = sa.select(HelpdeskCursor.stream, HelpdeskCursor.heard_until, HelpdeskCursor.last_pass_at,
                      HelpdeskCursor.gap_until).where(HelpdeskCursor.account_id == account_id,
                                                      HelpdeskCursor.stream.in_((TICKETS, COMMENTS)))
    if session is not None:
        rows = {row.stream: row for row in session.execute(query)}
    else:
        with Session(storage.reader(app)) as reader:
            rows = {row.stream: row for row in reader.execute(query)}
    tickets = rows.get(TICKETS)
    if tickets is None:
        return now
    read = min(row.heard_until for row in rows.values())
    if _stale(app, tickets.last_pass_at, now):
        return read  # down until a moment ago: the first pass since has not ended yet
    if tickets.gap_until is None or read >= tickets.gap_until:
        return now
    return read


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
    horizon = started - timedelta(seconds=settings.catch_up_settle_seconds)
    # The first pass after Deskmate was down: what was delivered meanwhile is lost, up to about now.
    gap = started if _stale(app, cursor.last_pass_at, started) else None
    try:
        _read_export(app, account, cursor, owner, horizon, result)
        # After the tickets: a comment on a ticket whose creation was missed comes after its ticket.created.
        _read_comments(app, account, owner, horizon, result)
    except BudgetExhausted as exc:
        result.stopped_by = f"rate budget: {exc}"
    except (HelpdeskError, requests.RequestException, RuntimeError) as exc:  # RuntimeError: no credentials
        result.stopped_by = error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("catch-up of %s stopped: %s", account.subdomain, error)
    finally:
        # Changes never received: deliveries were being lost, until about now.
        _release(app, account.id, owner, clock.now(), error, started if result.events else gap)
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


# --- comments: the ticket event export ---------------------------------------------------------------------


def _comment_cursor(app: Flask, account_id: int, now: datetime) -> datetime:
    """Where the account's comment stream stands (created on the first pass, like the ticket cursor)."""
    settings = app.config["DESKMATE"]
    with storage.session(app) as session:
        session.execute(insert_for(session, HelpdeskCursor).values(
            account_id=account_id, stream=COMMENTS,
            heard_until=now - timedelta(minutes=settings.catch_up_initial_lookback_minutes),
            events_made=0, created_at=now, updated_at=now,
        ).on_conflict_do_nothing())
        cursor = session.get(HelpdeskCursor, (account_id, COMMENTS))
        assert cursor is not None
        return cursor.heard_until


@dataclass(frozen=True)
class _Comment:
    ticket_id: int
    updater_id: int | None
    record: dict[str, Any]  # the export's comment child event
    written_at: datetime

    @property
    def key(self) -> str:
        return comment_key(self.ticket_id, self.record["id"])


def comments_of(ticket_events: Iterable[Any], horizon: datetime) -> tuple[list[_Comment], bool]:
    """The comments in a page of the ticket event export written by ``horizon``, and whether the page went
    past it. The comment of a ticket's creation (its description) is left out."""
    comments: list[_Comment] = []
    beyond = False
    for update in ticket_events:
        if not isinstance(update, dict):
            continue
        children = [c for c in update.get("child_events") or [] if isinstance(c, dict)]
        stamp = parse_time(update.get("created_at"))
        try:
            ticket_id = int(update["ticket_id"])
        except (KeyError, TypeError, ValueError):
            continue
        if stamp is None:
            continue
        if stamp > horizon:
            beyond = True
            continue
        if any(c.get("event_type") == "Create" for c in children):
            continue
        updater = update.get("updater_id")
        for child in children:
            if child.get("event_type") == "Comment" and isinstance(child.get("id"), int) and "body" in child:
                comments.append(_Comment(ticket_id, updater if isinstance(updater, int) else None, child,
                                         parse_time(child.get("created_at")) or stamp))
    return comments, beyond


def _read_comments(app: Flask, account: AccountView, owner: str, horizon: datetime, result: PassResult) -> None:
    """Read the ticket event export from the comment cursor to ``horizon`` and store the comments never
    received. Time-based pages: each page's ``end_time`` is the next ``start_time`` (its last second is read
    again, and its comments found stored)."""
    zendesk = zendesk_clients.for_account(account, app)
    budget = export_budget(app, account)
    since = _comment_cursor(app, account.id, get_clock(app).now())
    start = int(since.timestamp())
    while True:
        budget.acquire(_page_wait(app))
        page = zendesk.call("GET", EVENTS_PATH, params={"start_time": start, "include": "comment_events"},
                            what="ticket event export")
        result.pages += 1
        comments, beyond = comments_of(page.get("ticket_events") or [], horizon)
        end_time = page.get("end_time")
        end = datetime.fromtimestamp(end_time, tz=since.tzinfo) if isinstance(end_time, int) else None
        # Stuck on one second (more updates in it than a page holds) or no end time: stop here, the next pass
        # reads that second again.
        stalled = end is None or (not page.get("end_of_stream") and end_time <= start)
        drained = beyond or stalled or bool(page.get("end_of_stream"))
        made = _store_comments(app, zendesk, account.id, comments)
        # Drained: every update up to the export's own limit (a minute ago, at most the settle time) is read.
        reached = horizon if beyond or (page.get("end_of_stream") and not stalled) else min(horizon, end or since)
        with storage.session(app) as session:
            session.execute(
                sa.update(HelpdeskCursor)
                .where(HelpdeskCursor.account_id == account.id, HelpdeskCursor.stream == COMMENTS)
                .values(heard_until=max(since, reached),
                        events_made=HelpdeskCursor.events_made + made, updated_at=get_clock(app).now()))
            # The pass still holds the account's lease: keep it while pages are read.
            session.execute(
                sa.update(HelpdeskCursor)
                .where(HelpdeskCursor.account_id == account.id, HelpdeskCursor.stream == TICKETS,
                       HelpdeskCursor.leased_by == owner)
                .values(leased_until=get_clock(app).now()
                        + timedelta(seconds=app.config["DESKMATE"].worker_lease_seconds)))
        if made:
            result.made["ticket.comment_added"] = result.made.get("ticket.comment_added", 0) + made
        if drained:
            return
        since, start = max(since, reached), end_time


def _show_many(zendesk: Any, member: str, ids: Iterable[int]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    wanted = sorted(set(ids))
    for first in range(0, len(wanted), SHOW_MANY):
        chunk = wanted[first:first + SHOW_MANY]
        answer = zendesk.call("GET", f"/{member}/show_many.json", params={"ids": ",".join(map(str, chunk))},
                              what=f"{member} for missed comments")
        records.extend(r for r in answer.get(member) or [] if isinstance(r, dict) and r.get("id") is not None)
    return records


def _store_comments(app: Flask, zendesk: Any, account_id: int, comments: list[_Comment]) -> int:
    """Store the event of each comment not stored yet; the number stored. Reads first (which comments are
    missing, which authors the mirror knows), then the helpdesk (outside any transaction), then one write."""
    if not comments:
        return 0
    by_key = {comment.key: comment for comment in comments}
    with storage.session(app) as session:
        stored = set(session.scalars(sa.select(InboundEvent.event_key).where(
            InboundEvent.account_id == account_id, InboundEvent.event_key.in_(list(by_key)))))
        missing = [comment for key, comment in by_key.items() if key not in stored]
        if not missing:
            return 0
        known = Mirror(session, account_id).users({c.record["author_id"] for c in missing
                                                   if isinstance(c.record.get("author_id"), int)})
        roles: dict[int, str | None] = {user_id: user.role for user_id, user in known.items() if user.role}
        names: dict[int, str | None] = {user_id: user.name for user_id, user in known.items()}
    tickets = {int(t["id"]): t for t in _show_many(zendesk, "tickets", {c.ticket_id for c in missing})}
    unknown = {c.record["author_id"] for c in missing if c.record.get("author_id") not in roles}
    users = _show_many(zendesk, "users", unknown) if unknown else []
    for user in users:
        roles[int(user["id"])], names[int(user["id"])] = user.get("role"), user.get("name")
    now = get_clock(app).now()
    made = 0
    with storage.session(app) as session:
        if users:
            Mirror(session, account_id).store_users(users, now)
        for comment in missing:
            ticket = tickets.get(comment.ticket_id)
            if ticket is None or ticket.get("status") == "deleted":
                continue  # gone meanwhile: its deletion is the event that matters
            author = comment.record.get("author_id")
            author_id = author if isinstance(author, int) else 0
            envelope = envelope_of(ticket, "ticket.comment_added", comment.key, now,
                                   time=comment.written_at.isoformat(), actor_id=comment.updater_id,
                                   event={"comment": {
                                       "id": str(comment.record["id"]),
                                       "body": comment.record.get("body"),
                                       "is_public": bool(comment.record.get("public")),
                                       "author": {"id": str(author_id),
                                                  "is_staff": roles.get(author_id) in ("agent", "admin"),
                                                  "name": names.get(author_id)},
                                   }})
            made += rowcount(session.execute(insert_for(session, InboundEvent).values(
                account_id=account_id, source="zendesk", event_type="ticket.comment_added",
                ticket_id=comment.ticket_id, event_key=comment.key, invocation_id=None, payload=envelope,
                state="pending", attempts=0, received_at=now, next_attempt_at=now,
            ).on_conflict_do_nothing()))
    return made


def envelope_of(ticket: dict[str, Any], event_type: str, key: str, now: datetime, *, time: str | None = None,
                actor_id: int | None = None, event: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event-subscribed envelope the helpdesk would have sent for ``ticket`` (an API record), so that the
    worker reads it like any delivery: at ``time`` (default: the ticket's last update), by ``actor_id``, with
    ``event`` (a comment). ``event.catch_up`` tells plugins (and operators) where it came from."""
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
    if actor_id is not None:
        detail["actor_id"] = actor_id
    return {
        "type": ENVELOPE_PREFIX + event_type,
        "id": key,
        "time": time or ticket.get("updated_at") or now.isoformat(),
        "subject": f"zen:ticket:{ticket['id']}",
        "detail": detail,
        "event": {**(event or {}), "catch_up": True},
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
