"""The ticket context a sidebar open needs, served from the database and fetched at most once per open.

Where it comes from, cheapest first:

* ``ticket_index``: every helpdesk ticket event carries the ticket, so the worker keeps a row per ticket
  (subject, status, requester, organization, group, tags) without any API call. It also answers "the
  requester's other recent tickets".
* ``directory_cache``: the requester and organization as the helpdesk last sideloaded them.
* the helpdesk: one ``GET /tickets/{id}.json?include=users,organizations`` when the cache lacks the ticket,
  its requester or its organization. New tickets are fetched by the worker when their ``ticket.created`` event
  arrives (``sidebar_warm_cache``), so an agent rarely waits for the helpdesk; entries older than
  ``sidebar_cache_seconds`` (or marked stale by a user or organization event) are served, then refreshed by
  a work item in the background.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app import workqueue
from app.accounts import AccountView
from app.db import insert_for
from app.events import TicketSnapshot, parse_time
from app.sidebar.models import DirectoryRecord, TicketIndex

FETCH_KIND = "sidebar.fetch_ticket"
T = TypeVar("T")
RECENT_LIMIT = 5
# Ticket fields the index keeps in columns (the rest stays in ``data``).
_COLUMNS = ("subject", "status", "priority", "requester_id", "organization_id", "group_id")


class TicketUnavailable(Exception):
    """Neither the cache nor the helpdesk can say anything about the ticket; the message says why."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class TicketContext:
    """The open ticket with its requester and organization, and how it was obtained."""

    ticket: dict[str, Any]
    requester: dict[str, Any] | None
    organization: dict[str, Any] | None
    recent: list[dict[str, Any]] = field(default_factory=list)
    helpdesk_calls: int = 0
    cached: bool = True
    refreshing: bool = False
    warning: str | None = None




def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _insert(session: Session) -> Any:
    return lambda target: insert_for(session, target)


# --- writing the cache ----------------------------------------------------------------------------------

def record_snapshot(session: Session, account_id: int, snapshot: TicketSnapshot) -> bool:
    """Index a ticket as an event described it, unless a newer state is already known; True if written."""
    row = session.get(TicketIndex, (account_id, snapshot.id))
    if row is not None and row.updated_at and snapshot.updated_at and snapshot.updated_at < row.updated_at:
        return False  # events arrive out of order; an older snapshot must not overwrite a newer one
    values = {
        "subject": snapshot.subject, "status": snapshot.status, "priority": snapshot.priority,
        "requester_id": snapshot.requester_id, "organization_id": snapshot.organization_id,
        "group_id": snapshot.group_id, "tags": list(snapshot.tags), "created_at": snapshot.created_at,
        "updated_at": snapshot.updated_at,
    }
    if row is None:
        statement = _insert(session)(TicketIndex).values(account_id=account_id, ticket_id=snapshot.id,
                                                          **values)
        session.execute(statement.on_conflict_do_nothing())
        return True
    for name, value in values.items():
        if value is not None or name in ("organization_id", "group_id"):
            setattr(row, name, value)
    return True


def store_answer(session: Session, account_id: int, answer: dict[str, Any], now: datetime) -> int | None:
    """Store a ``GET /tickets/{id}.json?include=users,organizations`` answer; returns the ticket id."""
    ticket = answer.get("ticket") if isinstance(answer.get("ticket"), dict) else None
    for kind, key in (("user", "users"), ("organization", "organizations")):
        for record in answer.get(key) or []:
            record_id = _int(record.get("id")) if isinstance(record, dict) else None
            if record_id is None:
                continue
            statement = _insert(session)(DirectoryRecord).values(
                account_id=account_id, kind=kind, record_id=record_id, data=record, fetched_at=now,
                stale=False)
            session.execute(statement.on_conflict_do_update(
                index_elements=["account_id", "kind", "record_id"],
                set_={"data": record, "fetched_at": now, "stale": False}))
    if ticket is None or _int(ticket.get("id")) is None:
        return None
    ticket_id = int(ticket["id"])
    updated_at = parse_time(ticket.get("updated_at"))
    row = session.get(TicketIndex, (account_id, ticket_id))
    if row is None:
        row = TicketIndex(account_id=account_id, ticket_id=ticket_id, tags=[])
        session.add(row)
    if row.updated_at is None or updated_at is None or updated_at >= row.updated_at:
        for name in _COLUMNS:
            setattr(row, name, _int(ticket.get(name)) if name.endswith("_id") else ticket.get(name))
        row.tags = list(ticket.get("tags") or [])
        row.created_at = parse_time(ticket.get("created_at"))
        row.updated_at = updated_at
    row.data, row.fetched_at = ticket, now
    session.flush()
    return ticket_id


def mark_stale(session: Session, account_id: int, kind: str, record_id: int) -> None:
    """A user or organization changed in the helpdesk: keep serving it, but fetch it again on next open."""
    session.execute(sa.update(DirectoryRecord).where(
        DirectoryRecord.account_id == account_id, DirectoryRecord.kind == kind,
        DirectoryRecord.record_id == record_id).values(stale=True))


def needs_fetch(session: Session, account_id: int, snapshot: TicketSnapshot, now: datetime,
                max_age: timedelta) -> bool:
    """Whether the cache lacks (or holds an old copy of) this ticket's requester or organization."""
    for kind, record_id in (("user", snapshot.requester_id), ("organization", snapshot.organization_id)):
        if record_id is None:
            continue
        record = session.get(DirectoryRecord, (account_id, kind, record_id))
        if record is None or record.stale or now - record.fetched_at > max_age:
            return True
    return False


def is_fresh(session: Session, account_id: int, ticket_id: int, now: datetime, max_age: timedelta) -> bool:
    """Whether an open of this ticket would be served from the cache without a refresh."""
    row = session.get(TicketIndex, (account_id, ticket_id))
    if row is None:
        return False
    snapshot = TicketSnapshot(id=ticket_id, requester_id=row.requester_id, organization_id=row.organization_id)
    return not needs_fetch(session, account_id, snapshot, now, max_age)


# --- reading it -----------------------------------------------------------------------------------------

def fetch_ticket(client: Any, ticket_id: int, *, timeout: float) -> dict[str, Any]:
    """The one helpdesk call: the ticket with its users and organizations sideloaded.

    ``client`` is the account's ``app.zendesk.Zendesk``; its session keeps to the shared rate budget.

    Raises:
        app.zendesk.HelpdeskError: the helpdesk answered with an error (404 for an unknown ticket).
        Exception: the network or the rate budget failed.
    """
    from app.zendesk import HelpdeskError

    response = client.session.request("GET", f"{client.api_root}/tickets/{ticket_id}.json",
                                      params={"include": "users,organizations"}, timeout=timeout)
    if response.status_code >= 400:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        raise HelpdeskError(response.status_code, body, f"show ticket {ticket_id}")
    answer: dict[str, Any] = response.json()
    return answer


def open_ticket(app: Flask, account: AccountView, ticket_id: int, now: datetime,
                finish: Callable[[Session, TicketContext], T]) -> T:
    """Gather an open ticket's context (from the cache, else with one helpdesk call), then ``finish`` it.

    A cached open is one transaction: the cache read and ``finish`` (the panels) share it. No transaction is
    held while the helpdesk is called (on SQLite it would hold the write lock the shared rate budget needs).

    Raises:
        TicketUnavailable: the ticket is not cached and the helpdesk could not (or would not) give it.
    """
    from app.db import storage

    with storage.session(app) as session:
        context, known = _from_cache(app, session, account, ticket_id, now)
        if context is not None:
            return finish(session, context)
    context = _fetch_now(app, account, ticket_id, now, known)
    with storage.session(app) as session:
        return finish(session, context)


def _from_cache(app: Flask, session: Session, account: AccountView, ticket_id: int,
                now: datetime) -> tuple[TicketContext | None, dict[str, Any] | None]:
    """The cached context (None when incomplete) and what the index knows of the ticket anyway."""
    settings = app.config["DESKMATE"]
    row, requester, organization = _cached(session, account.id, ticket_id)
    if row is None:
        return None, None
    if (row.requester_id is not None and requester is None) or (
            row.organization_id is not None and organization is None):
        return None, _ticket_view(row)
    context = TicketContext(ticket=_ticket_view(row), requester=requester.data if requester else None,
                            organization=organization.data if organization else None)
    max_age = timedelta(seconds=settings.sidebar_cache_seconds)
    if any(record is not None and (record.stale or now - record.fetched_at > max_age)
           for record in (requester, organization)):
        # Served as it is; one background fetch per ticket and cache period brings it up to date.
        bucket = int(now.timestamp() // settings.sidebar_cache_seconds)
        workqueue.enqueue(session, account_id=account.id, kind=FETCH_KIND,
                          key=f"sidebar:refresh:{ticket_id}:{bucket}", payload={"ticket_id": ticket_id},
                          now=now, max_attempts=3, created_by="sidebar")
        context.refreshing = True
    return context, context.ticket


def _cached(session: Session, account_id: int, ticket_id: int) -> tuple[
        TicketIndex | None, DirectoryRecord | None, DirectoryRecord | None]:
    row = session.get(TicketIndex, (account_id, ticket_id))
    if row is None:
        return None, None, None
    requester = (session.get(DirectoryRecord, (account_id, "user", row.requester_id))
                 if row.requester_id else None)
    organization = (session.get(DirectoryRecord, (account_id, "organization", row.organization_id))
                    if row.organization_id else None)
    return row, requester, organization


def _fetch_now(app: Flask, account: AccountView, ticket_id: int, now: datetime,
               known: dict[str, Any] | None) -> TicketContext:
    """Fetch the ticket while the agent waits; on failure fall back to what the events said, if anything."""
    from app.db import storage
    from app.zendesk import HelpdeskError, zendesk_clients

    try:
        answer = fetch_ticket(zendesk_clients.for_account(account, app), ticket_id,
                              timeout=app.config["DESKMATE"].sidebar_helpdesk_timeout_seconds)
    except HelpdeskError as exc:
        if exc.status == 404:
            raise TicketUnavailable(f"ticket {ticket_id} does not exist in the helpdesk", 404) from None
        failure = f"the helpdesk answered {exc.status}"
    except Exception as exc:  # network errors and the rate budget: the agent still gets what is known
        failure = f"the helpdesk could not be reached ({type(exc).__name__})"
    else:
        with storage.session(app) as session:
            store_answer(session, account.id, answer, now)
            row, requester, organization = _cached(session, account.id, ticket_id)
            if row is None:
                raise TicketUnavailable("the helpdesk's answer held no ticket")
            return TicketContext(ticket=_ticket_view(row), requester=requester.data if requester else None,
                                 organization=organization.data if organization else None, helpdesk_calls=1,
                                 cached=False)
    if known is None:
        raise TicketUnavailable(f"ticket {ticket_id} is not known yet and {failure}")
    return TicketContext(ticket=known, requester=None, organization=None, helpdesk_calls=1, warning=failure)


def _ticket_view(row: TicketIndex) -> dict[str, Any]:
    data = dict(row.data or {})
    return {
        "id": row.ticket_id, "subject": row.subject, "status": row.status, "priority": row.priority,
        "requester_id": row.requester_id, "organization_id": row.organization_id, "group_id": row.group_id,
        "tags": list(row.tags or []), "type": data.get("type"), "via": (data.get("via") or {}).get("channel"),
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        "custom_fields": data.get("custom_fields") or [],
    }


def recent_tickets(session: Session, account_id: int, requester_id: int, *, exclude: int,
                   limit: int = RECENT_LIMIT) -> list[dict[str, Any]]:
    """The requester's other tickets Deskmate has seen, most recently updated first."""
    rows = session.scalars(
        sa.select(TicketIndex).where(TicketIndex.account_id == account_id,
                                     TicketIndex.requester_id == requester_id,
                                     TicketIndex.ticket_id != exclude)
        .order_by(TicketIndex.updated_at.desc().nulls_last(), TicketIndex.ticket_id.desc()).limit(limit))
    return [{"id": row.ticket_id, "subject": row.subject, "status": row.status,
             "updated_at": row.updated_at.isoformat() if row.updated_at else None} for row in rows]
