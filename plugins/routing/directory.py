"""What routing knows of a ticket's requester and organization: read from the core's helpdesk mirror.

Records come whole from the helpdesk (``show_many``, incremental exports: routing stores them in the mirror)
and partial from webhook events (which carry a user's email and organization, never tags or fields; the core
applies them). A record whose tags and fields cannot be trusted (``MirrorUser.trusted`` is false) is fetched
again by the next ticket that needs it. See ``app.mirror`` for the one invalidation rule.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.api import Mirror, MirrorUser, TicketSnapshot
from plugins.routing.rules import Facts, OrganizationFacts, RequesterFacts, RuleSet

SHOW_MANY_MAX = 100


def facts_for(session: Session, account_id: int, ticket: TicketSnapshot, rules: RuleSet) -> Facts:
    """What the cache knows about the ticket's requester and organization (only what the rules look at)."""
    mirror = Mirror(session, account_id)
    requester = None
    user_row = None
    needs_requester = rules.uses("requester")
    organization_id = ticket.organization_id
    if ticket.requester_id is not None and (needs_requester or organization_id is None):
        user_row = mirror.user(ticket.requester_id)
        requester = _requester_facts(ticket, user_row)
    if organization_id is None and user_row is not None:
        organization_id = user_row.organization_id  # the helpdesk sets the requester's organization anyway
    organization = None
    if organization_id is not None:
        organization = OrganizationFacts(id=organization_id)
        if rules.uses("organization"):
            row = mirror.organization(organization_id)
            if row is not None and row.trusted:
                organization = OrganizationFacts(id=organization_id, tags=row.tags, fields=dict(row.fields))
    return Facts(ticket=ticket, organization=organization, requester=requester)


def _requester_facts(ticket: TicketSnapshot, row: MirrorUser | None) -> RequesterFacts:
    assert ticket.requester_id is not None
    if row is not None and row.trusted:
        return RequesterFacts(id=ticket.requester_id, email=row.email, email_known=True, tags=row.tags,
                              fields=dict(row.fields))
    email = ticket.requester_email or (row.email if row is not None else None)
    return RequesterFacts(id=ticket.requester_id, email=email, email_known=bool(email))
