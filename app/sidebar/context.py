"""The ticket context a sidebar open needs, served from the helpdesk mirror and fetched at most once per open.

Where it comes from, cheapest first:

* the mirror's tickets (``app.mirror``): every helpdesk ticket event carries the ticket, so the core keeps each
  ticket's subject, status, requester, organization, group and tags without any API call. It also answers
  "the requester's other recent tickets".
* the mirror's users and organizations, as the helpdesk last gave them whole (a sideload, a ``show_many``,
  an export).
* the helpdesk: one ``GET /tickets/{id}.json?include=users,organizations`` when the mirror lacks the ticket,
  or the whole record of its requester or organization. New tickets are fetched by the worker when their
  ``ticket.created`` event arrives (``sidebar_warm_cache``), so an agent rarely waits for the helpdesk;
  records older than ``sidebar_cache_seconds``, or changed since (a user or organization event), are served,
  then refreshed by a work item in the background.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy.orm import Session

from app import workqueue
from app.accounts import AccountView
from app.events import TicketSnapshot
from app.mirror import Mirror, MirrorOrganization, MirrorTicket, MirrorUser

FETCH_KIND = "sidebar.fetch_ticket"
T = TypeVar("T")
RECENT_LIMIT = 5


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


def store_answer(session: Session, account_id: int, answer: dict[str, Any], now: datetime) -> int | None:
    """Store a ``GET /tickets/{id}.json?include=users,organizations`` answer in the mirror; the ticket id."""
    mirror = Mirror(session, account_id)
    mirror.store_users([r for r in answer.get("users") or [] if isinstance(r, dict)], now)
    mirror.store_organizations([r for r in answer.get("organizations") or [] if isinstance(r, dict)], now)
    ticket = answer.get("ticket")
    return mirror.store_ticket(ticket, now) if isinstance(ticket, dict) else None


def _usable(record: MirrorUser | MirrorOrganization | None) -> dict[str, Any] | None:
    """The whole record the sidebar shows, if the helpdesk ever gave it."""
    return record.data if record is not None and record.data is not None and not record.missing else None


def _has_usable(record: MirrorUser | MirrorOrganization | None) -> bool:
    return record is not None and record.has_data and not record.missing


def needs_fetch(session: Session, account_id: int, snapshot: TicketSnapshot, now: datetime,
                max_age: timedelta) -> bool:
    """Whether the mirror lacks (or holds an old or changed copy of) this ticket's requester or organization."""
    mirror = Mirror(session, account_id)
    for record, record_id in ((mirror.user, snapshot.requester_id), (mirror.organization, snapshot.organization_id)):
        if record_id is None:
            continue
        found = record(record_id)
        if found is None or not _has_usable(found) or not found.fetched_within(now, max_age):
            return True
    return False


def is_fresh(session: Session, account_id: int, ticket_id: int, now: datetime, max_age: timedelta) -> bool:
    """Whether an open of this ticket would be served from the mirror without a refresh."""
    ticket = Mirror(session, account_id).ticket(ticket_id)
    if ticket is None:
        return False
    snapshot = TicketSnapshot(id=ticket_id, requester_id=ticket.requester_id,
                              organization_id=ticket.organization_id)
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
    if (row.requester_id is not None and _usable(requester) is None) or (
            row.organization_id is not None and _usable(organization) is None):
        return None, _ticket_view(row)
    context = TicketContext(ticket=_ticket_view(row), requester=_usable(requester),
                            organization=_usable(organization))
    max_age = timedelta(seconds=settings.sidebar_cache_seconds)
    if any(record is not None and not record.fetched_within(now, max_age) for record in (requester, organization)):
        # Served as it is; one background fetch per ticket and cache period brings it up to date.
        bucket = int(now.timestamp() // settings.sidebar_cache_seconds)
        workqueue.enqueue(session, account_id=account.id, kind=FETCH_KIND,
                          key=f"sidebar:refresh:{ticket_id}:{bucket}", payload={"ticket_id": ticket_id},
                          now=now, max_attempts=3, created_by="sidebar")
        context.refreshing = True
    return context, context.ticket


def _cached(session: Session, account_id: int, ticket_id: int) -> tuple[
        MirrorTicket | None, MirrorUser | None, MirrorOrganization | None]:
    mirror = Mirror(session, account_id)
    row = mirror.ticket(ticket_id, whole=True)
    if row is None:
        return None, None, None
    requester = mirror.user(row.requester_id, whole=True) if row.requester_id else None
    organization = mirror.organization(row.organization_id, whole=True) if row.organization_id else None
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
            return TicketContext(ticket=_ticket_view(row), requester=_usable(requester),
                                 organization=_usable(organization), helpdesk_calls=1, cached=False)
    if known is None:
        raise TicketUnavailable(f"ticket {ticket_id} is not known yet and {failure}")
    return TicketContext(ticket=known, requester=None, organization=None, helpdesk_calls=1, warning=failure)


def _ticket_view(row: MirrorTicket) -> dict[str, Any]:
    data = dict(row.data or {})
    return {
        "id": row.id, "subject": row.subject, "status": row.status, "priority": row.priority,
        "requester_id": row.requester_id, "organization_id": row.organization_id, "group_id": row.group_id,
        "tags": list(row.tags or []), "type": data.get("type"), "via": (data.get("via") or {}).get("channel"),
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        "custom_fields": data.get("custom_fields") or [],
    }


def recent_tickets(session: Session, account_id: int, requester_id: int, *, exclude: int,
                   limit: int = RECENT_LIMIT) -> list[dict[str, Any]]:
    """The requester's other tickets Deskmate has seen, most recently updated first."""
    return [{"id": row.id, "subject": row.subject, "status": row.status,
             "updated_at": row.updated_at.isoformat() if row.updated_at else None}
            for row in Mirror(session, account_id).recent_tickets(requester_id, exclude=exclude, limit=limit)]
