"""Which new tickets are about a live incident, and counting them against it.

A ticket matches when one of the incident's keywords or affected features appears, as whole words and in any
case, in its subject or description, or equals one of its tags (spaces and dashes read as underscores). A
ticket an agent tags ``incident_<id>`` by hand is counted too.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api import TicketSnapshot, insert_for
from plugins.breaking_news.models import Incident, IncidentTicket


@lru_cache(maxsize=1024)
def _pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in term.split()]
    return re.compile(r"(?<!\w)" + r"[\s_-]+".join(words) + r"(?!\w)", re.IGNORECASE)


def as_tag(term: str) -> str:
    return re.sub(r"[\s-]+", "_", term.strip().lower())


def match(incident: Incident, ticket: TicketSnapshot) -> tuple[str, str] | None:
    """``(matched_by, term)`` when the ticket is about the incident, else None."""
    text = f"{ticket.subject or ''}\n{ticket.description or ''}"
    tags = {tag.lower() for tag in ticket.tags}
    for matched_by, terms in (("feature", incident.affected_features), ("keyword", incident.keywords)):
        for term in terms:
            if as_tag(term) in tags or _pattern(term).search(text):
                return matched_by, term
    return None


def tagged_incident_ids(ticket: TicketSnapshot, prefix: str) -> set[int]:
    """Incident ids named by the ticket's ``<prefix><id>`` tags."""
    ids = set()
    for tag in ticket.tags:
        if tag.startswith(prefix) and tag[len(prefix):].isdigit():
            ids.add(int(tag[len(prefix):]))
    return ids


def link(session: Session, *, account_id: int, incident_id: int, ticket: TicketSnapshot, matched_by: str,
         term: str, now: datetime) -> bool:
    """Count the ticket against the incident; False when it already was (events may come twice)."""
    insert = insert_for(session, IncidentTicket)
    statement = insert.values(account_id=account_id, incident_id=incident_id, ticket_id=ticket.id,
                              requester_id=ticket.requester_id, requester_email=ticket.requester_email,
                              matched_by=matched_by, matched_on=term[:200], linked_at=now)
    result = session.execute(statement.on_conflict_do_nothing(index_elements=["incident_id", "ticket_id"]))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def incidents_of_account(session: Session, account_id: int, ids: set[int]) -> list[Incident]:
    if not ids:
        return []
    return list(session.scalars(sa.select(Incident).where(Incident.account_id == account_id,
                                                          Incident.id.in_(ids))))
