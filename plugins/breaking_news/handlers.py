"""What the plugin does with events: count new tickets against live incidents, tell requesters of fixes."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from app.api import Event, NoticeTemplate, NoticeTemplates, PluginContext, RequesterNotice, notify_requesters
from plugins.breaking_news import matching
from plugins.breaking_news.incidents import PLUGIN, live_incidents
from plugins.breaking_news.models import Incident, IncidentTicket
from plugins.breaking_news.settings import BreakingNewsSettings

NOTICE_KIND = "incident_resolved"


def handle(event: Event, ctx: PluginContext) -> None:
    """Dispatch one event; anything not about tickets or this plugin's incidents is ignored."""
    if event.source == PLUGIN and event.type == f"{PLUGIN}.incident_resolved":
        notify_resolved(ctx, int(event.data["incident_id"]))
    elif event.source == "zendesk" and event.ticket is not None:
        count_ticket(ctx, event)


def count_ticket(ctx: PluginContext, event: Event) -> None:
    """Link a ticket to live incidents it is about; tag new matches so agents see them in the helpdesk."""
    settings: BreakingNewsSettings = ctx.settings  # type: ignore[assignment]
    ticket = event.ticket
    assert ticket is not None
    now = ctx.now()
    # An agent's (or our own) incident tag counts the ticket, whenever it appears.
    for incident in matching.incidents_of_account(
            ctx.session, ctx.account.id, matching.tagged_incident_ids(ticket, settings.ticket_tag_prefix)):
        matching.link(ctx.session, account_id=ctx.account.id, incident_id=incident.id, ticket=ticket,
                      matched_by="tag", term=f"{settings.ticket_tag_prefix}{incident.id}", now=now)
    if event.type != "ticket.created" or not settings.match_tickets:
        return
    for incident in live_incidents(ctx.session, ctx.account.id, now):
        found = matching.match(incident, ticket)
        if found is None:
            continue
        matched_by, term = found
        if matching.link(ctx.session, account_id=ctx.account.id, incident_id=incident.id, ticket=ticket,
                         matched_by=matched_by, term=term, now=now):
            tag = f"{settings.ticket_tag_prefix}{incident.id}"
            ctx.enqueue("zendesk.ticket_update", f"{PLUGIN}:tag:incident:{incident.id}:ticket:{ticket.id}",
                        {"ticket_id": ticket.id, "ticket": {"additional_tags": [tag]}}, coalesce=True)


def notify_resolved(ctx: PluginContext, incident_id: int) -> int:
    """Tell each requester of a linked ticket, once, that the incident is resolved (if the incident asks)."""
    settings: BreakingNewsSettings = ctx.settings  # type: ignore[assignment]
    incident = ctx.session.scalar(sa.select(Incident).where(Incident.account_id == ctx.account.id,
                                                            Incident.id == incident_id))
    if incident is None or incident.resolved_at is None or not incident.notify_requesters:
        return 0
    tickets_by_requester: dict[int, list[int]] = defaultdict(list)
    for requester_id, ticket_id in ctx.session.execute(
            sa.select(IncidentTicket.requester_id, IncidentTicket.ticket_id).where(
                IncidentTicket.account_id == ctx.account.id, IncidentTicket.incident_id == incident.id,
                IncidentTicket.requester_id.is_not(None)).order_by(IncidentTicket.ticket_id)):
        tickets_by_requester[int(requester_id)].append(int(ticket_id))
    if not tickets_by_requester:
        return 0
    default = settings.default_locale if settings.default_locale in settings.resolved_notice else \
        next(iter(settings.resolved_notice))
    templates = NoticeTemplates({locale: NoticeTemplate(subject=text.subject, body=text.body)
                                 for locale, text in settings.resolved_notice.items()}, default)
    notices = [RequesterNotice(requester_id=requester_id, kind=NOTICE_KIND, ticket_ids=ticket_ids,
                               subject_key=f"incident:{incident.id}", templates=templates,
                               context={"title": incident.title},
                               tags=[f"{settings.ticket_tag_prefix}{incident.id}_told"])
               for requester_id, ticket_ids in tickets_by_requester.items()]
    return len(notify_requesters(ctx, notices).recorded)
