"""Links between tickets and requests, the requesters they make, and the small caches that fill them in.

Linking is idempotent (one link per request and ticket) and always lands on the canonical request: a ticket
linked to a duplicate is linked to the request the duplicate was merged into. Requesters are derived from
links, one per person, so a person with three tickets about a request counts once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api import Mirror, TicketSnapshot
from plugins.feature_requests.models import LINKED_VIA, FeatureRequest, Link, RequesterCache, TicketCache
from plugins.feature_requests.records import FeatureRequestError, canonical, get

REFRESH_KIND = "feature_requests.refresh_ticket"


def tag_for(prefix: str, feature_request_id: int) -> str:
    return f"{prefix}{feature_request_id}"


def ids_in_tags(prefix: str, tags: Sequence[str]) -> set[int]:
    """The request ids named by ``<prefix><id>`` tags (``fr_42`` -> 42)."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d{{1,12}})$")
    return {int(match.group(1)) for tag in tags if (match := pattern.match(tag.strip().lower()))}


def ticket_cache(session: Session, account_id: int, ticket_id: int, now: datetime) -> TicketCache:
    row = session.scalar(sa.select(TicketCache).where(TicketCache.account_id == account_id,
                                                      TicketCache.ticket_id == ticket_id))
    if row is None:
        row = TicketCache(account_id=account_id, ticket_id=ticket_id, tag_changes={}, seen_at=now)
        session.add(row)
        session.flush()
    return row


def requester_cache(session: Session, account_id: int, requester_id: int) -> RequesterCache | None:
    return session.scalar(sa.select(RequesterCache).where(RequesterCache.account_id == account_id,
                                                          RequesterCache.requester_id == requester_id))


def remember_ticket(session: Session, account_id: int, ticket: TicketSnapshot, now: datetime) -> TicketCache:
    """Carry a linked ticket's changed requester (or organization) over to its links.

    The ticket's own state is the core's mirror; the links keep who asked, so they are compared with the ticket.
    """
    row = ticket_cache(session, account_id, ticket.id, now)
    same_ticket = sa.and_(Link.account_id == account_id, Link.ticket_id == ticket.id)
    if ticket.requester_id is not None:
        known = requester_cache(session, account_id, ticket.requester_id)
        session.execute(sa.update(Link).where(
            same_ticket, sa.or_(Link.requester_id.is_(None), Link.requester_id != ticket.requester_id)).values(
            requester_id=ticket.requester_id, organization_id=ticket.organization_id,
            segment=known.segment if known and known.segment else row.segment))
    if ticket.organization_id is not None:
        session.execute(sa.update(Link).where(
            same_ticket, Link.requester_id == ticket.requester_id if ticket.requester_id is not None else sa.true(),
            sa.or_(Link.organization_id.is_(None), Link.organization_id != ticket.organization_id))
            .values(organization_id=ticket.organization_id))
    row.seen_at = now
    return row


def remember_segment(session: Session, account_id: int, *, ticket_id: int | None, requester_id: int | None,
                     organization_id: int | None, segment: str | None, now: datetime) -> None:
    """Keep what routing said about a requester (and their linked ticket): premium partners sort first."""
    if requester_id is not None:
        row = requester_cache(session, account_id, requester_id)
        if row is None:
            session.add(RequesterCache(account_id=account_id, requester_id=requester_id, segment=segment,
                                       updated_at=now))
        else:
            row.segment = segment or row.segment
            row.updated_at = now
    if ticket_id is not None:
        cached = session.scalar(sa.select(TicketCache).where(TicketCache.account_id == account_id,
                                                             TicketCache.ticket_id == ticket_id))
        if cached is not None:
            cached.segment = segment or cached.segment
        session.execute(sa.update(Link).where(Link.account_id == account_id, Link.ticket_id == ticket_id)
                        .values(segment=segment))


@dataclass(frozen=True)
class LinkResult:
    link: Link
    created: bool
    redirected_from: int | None  # the duplicate that was named, when the link landed on its target


def link_ticket(ctx: Any, request: FeatureRequest, ticket_id: int, *, via: str, by: str,
                requester_id: int | None = None, organization_id: int | None = None) -> LinkResult:
    """Link a ticket to a request (its canonical target when it is a duplicate), once.

    When the ticket's requester is not known yet, a ``feature_requests.refresh_ticket`` work item looks it up.
    """
    if via not in LINKED_VIA:
        raise FeatureRequestError(f"linked_via must be one of {', '.join(LINKED_VIA)}")
    session: Session = ctx.session
    account_id = ctx.account.id
    now = ctx.now()
    target = canonical(session, request)
    existing = session.scalar(sa.select(Link).where(Link.account_id == account_id,
                                                    Link.feature_request_id == target.id,
                                                    Link.ticket_id == ticket_id))
    redirected = request.id if target.id != request.id else None
    if existing is not None:
        return LinkResult(existing, False, redirected)
    cached = ticket_cache(session, account_id, ticket_id, now)
    mirrored = ctx.mirror.ticket(ticket_id)
    if mirrored is not None and mirrored.requester_id is not None:  # the helpdesk's word over the caller's
        requester_id, organization_id = mirrored.requester_id, mirrored.organization_id
    known = requester_cache(session, account_id, requester_id) if requester_id is not None else None
    link = Link(account_id=account_id, feature_request_id=target.id, ticket_id=ticket_id,
                requester_id=requester_id, organization_id=organization_id,
                segment=(known.segment if known and known.segment else cached.segment), linked_by=by,
                linked_via=via, created_at=now)
    session.add(link)
    session.flush()
    if requester_id is None or mirrored is None or mirrored.status is None:
        ctx.enqueue(REFRESH_KIND, f"feature_requests:refresh_ticket:{ticket_id}:link:{link.id}",
                    {"ticket_id": ticket_id})
    target.updated_at = now
    return LinkResult(link, True, redirected)


def unlink_ticket(session: Session, request: FeatureRequest, ticket_id: int, now: datetime) -> int:
    """Remove the ticket's link from the request (and from its canonical target); returns links removed."""
    target = canonical(session, request)
    result: Any = session.execute(sa.delete(Link).where(
        Link.account_id == request.account_id, Link.ticket_id == ticket_id,
        Link.feature_request_id.in_({request.id, target.id})))
    removed = result.rowcount
    if removed:
        target.updated_at = now
    return int(removed or 0)


def links_of(session: Session, account_id: int, feature_request_ids: Sequence[int]) -> list[Link]:
    return list(session.scalars(sa.select(Link).where(
        Link.account_id == account_id, Link.feature_request_id.in_(list(feature_request_ids)),
    ).order_by(Link.id)))


def requests_of_ticket(session: Session, account_id: int, ticket_id: int) -> list[FeatureRequest]:
    """The requests a ticket is linked to."""
    return list(session.scalars(sa.select(FeatureRequest).join(Link, sa.and_(
        Link.feature_request_id == FeatureRequest.id, Link.account_id == FeatureRequest.account_id)).where(
        Link.account_id == account_id, Link.ticket_id == ticket_id).order_by(FeatureRequest.id)))


@dataclass
class Requester:
    """One person who asked, with every ticket of theirs linked to the request."""

    requester_id: int
    organization_id: int | None
    segment: str | None
    ticket_ids: list[int]
    premium: bool

    def to_json(self, statuses: dict[int, str | None]) -> dict[str, Any]:
        return {"requester_id": self.requester_id, "organization_id": self.organization_id,
                "segment": self.segment, "premium": self.premium,
                "tickets": [{"id": t, "status": statuses.get(t)} for t in self.ticket_ids]}


def requesters_of(session: Session, account_id: int, request: FeatureRequest,
                  premium_segments: Sequence[str]) -> tuple[list[Requester], list[Link]]:
    """The request's requesters, unique per person, premium partners first; and links of unknown requester."""
    by_person: dict[int, Requester] = {}
    unknown: list[Link] = []
    links = links_of(session, account_id, [request.id])
    people = {link.requester_id for link in links if link.requester_id is not None}
    segments = {row.requester_id: row for row in session.scalars(sa.select(RequesterCache).where(
        RequesterCache.account_id == account_id, RequesterCache.requester_id.in_(people)))} if people else {}
    mirrored = Mirror(session, account_id).users(people)
    for link in links:
        if link.requester_id is None:
            unknown.append(link)
            continue
        person = by_person.get(link.requester_id)
        cached = segments.get(link.requester_id)
        segment = (cached.segment if cached and cached.segment else None) or link.segment
        if person is None:
            person_record = mirrored.get(link.requester_id)
            organization_id = link.organization_id or (person_record.organization_id if person_record else None)
            person = by_person[link.requester_id] = Requester(link.requester_id, organization_id, segment, [],
                                                              False)
        person.ticket_ids.append(link.ticket_id)
        person.segment = person.segment or segment
        person.premium = person.premium or (segment in premium_segments)
    ordered = sorted(by_person.values(), key=lambda p: (not p.premium, p.requester_id))
    return ordered, unknown


def ticket_statuses(session: Session, account_id: int, ticket_ids: Sequence[int]) -> dict[int, str | None]:
    if not ticket_ids:
        return {}
    return {ticket_id: ticket.status for ticket_id, ticket in Mirror(session, account_id).tickets(ticket_ids).items()}


def existing_request(session: Session, account_id: int, feature_request_id: int) -> FeatureRequest | None:
    try:
        return get(session, account_id, feature_request_id)
    except FeatureRequestError:
        return None
