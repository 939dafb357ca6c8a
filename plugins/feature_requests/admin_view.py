"""What the admin pages show in people's words: names for ids, labels for codes, and whether a ticket exists.

The names come from the core's helpdesk mirror (users, organizations, tickets as last seen); an id the mirror
does not know yet is shown as "Requester 1000070" rather than a bare number.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from app.api import HelpdeskError, PluginContext, gettext, lazy_gettext, parse_time, pgettext

log = logging.getLogger(__name__)

STATUS_LABELS = {
    "open": lazy_gettext("Open"), "planned": lazy_gettext("Planned"), "in_progress": lazy_gettext("In progress"),
    "released": lazy_gettext("Released"), "declined": lazy_gettext("Declined"),
    "duplicate": lazy_gettext("Duplicate"),
}
SORT_LABELS = {"demand": lazy_gettext("Most asked for"), "newest": lazy_gettext("Newest"),
               "updated": lazy_gettext("Recently updated"), "title": lazy_gettext("Title")}
SEGMENT_LABELS = {"premium_partner": lazy_gettext("Premium partner"), "user": lazy_gettext("User")}
_MERGED_INTO = re.compile(r"^merged into #(\d+)$")
_MERGE_UNDONE = re.compile(r"^merge into #(\d+) undone$")


def ticket_exists(ctx: PluginContext, ticket_id: int) -> bool | None:
    """Whether the helpdesk has this ticket: the mirror first, else one read (kept in the mirror).

    Returns None when the helpdesk could not be asked (unreachable, rate budget spent, an error of its own).
    """
    if ctx.mirror.ticket(ticket_id) is not None:
        return True
    try:
        answer = ctx.zendesk.call("GET", f"/tickets/{ticket_id}.json", what=f"ticket {ticket_id}")
    except HelpdeskError as exc:
        if exc.status == 404:
            return False
        log.info("could not check ticket %s with the helpdesk: %s", ticket_id, exc)
        return None
    except Exception as exc:  # unreachable, timed out, over the rate budget: all mean "cannot tell"
        log.info("could not check ticket %s with the helpdesk: %s", ticket_id, exc)
        return None
    record = answer.get("ticket") if isinstance(answer, dict) else None
    if not isinstance(record, dict):
        return None
    ctx.mirror.store_ticket(record, ctx.now())
    return True


class Names:
    """Display names for the people, organizations, tickets and requests one page mentions (a few reads)."""

    def __init__(self, ctx: PluginContext, *, users: Iterable[int | None] = (),
                 organizations: Iterable[int | None] = (), tickets: Iterable[int | None] = (),
                 actors: Iterable[str | None] = ()) -> None:
        agent_ids = {int(actor.split(":", 1)[1]) for actor in actors
                     if actor and actor.startswith("agent:") and actor.split(":", 1)[1].isdigit()}
        user_ids = {user for user in users if user} | agent_ids
        self._users = ctx.mirror.users(user_ids) if user_ids else {}
        org_ids = {org for org in organizations if org}
        self._organizations = ctx.mirror.organizations(org_ids) if org_ids else {}
        ticket_ids = {ticket for ticket in tickets if ticket}
        self._tickets = ctx.mirror.tickets(ticket_ids) if ticket_ids else {}

    def user(self, user_id: int | None) -> str:
        if not user_id:
            return gettext("Not known yet")
        found = self._users.get(user_id)
        if found and found.name:
            return found.name
        if found and found.email:
            return found.email
        return gettext("Requester %(id)s", id=user_id)

    def email(self, user_id: int | None) -> str | None:
        found = self._users.get(user_id) if user_id else None
        return found.email if found and found.name and found.email else None

    def organization(self, organization_id: int | None) -> str:
        if not organization_id:
            return ""
        found = self._organizations.get(organization_id)
        return found.name if found and found.name else gettext("Organization %(id)s", id=organization_id)

    def ticket_subject(self, ticket_id: int) -> str:
        found = self._tickets.get(ticket_id)
        return found.subject if found and found.subject else ""

    def actor(self, actor: str | None) -> str:
        """Who did something: an agent's name, or what the code names (the admin page, the API, a tag)."""
        if not actor:
            return ""
        if actor.startswith("agent:") and actor.split(":", 1)[1].isdigit():
            found = self._users.get(int(actor.split(":", 1)[1]))
            return found.name if found and found.name else gettext("an agent")
        if actor.startswith("tag:"):
            return gettext("the ticket tag %(tag)s", tag=actor.split(":", 1)[1])
        return {"admin-page": gettext("an admin (this page)"), "admin-api": gettext("an admin (API)"),
                "cli": gettext("an admin (command line)")}.get(actor, actor)


def status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status or "", status or "—"))


def ticket_status_label(status: str | None) -> str:
    """A ticket's status in the helpdesk's words; "Open" is a ticket's, not a request's (pgettext)."""
    labels = {"new": pgettext("ticket status", "New"), "open": pgettext("ticket status", "Open"),
              "pending": pgettext("ticket status", "Pending"), "hold": pgettext("ticket status", "On hold"),
              "solved": pgettext("ticket status", "Solved"), "closed": pgettext("ticket status", "Closed")}
    return labels.get(status or "", status or gettext("status not known yet"))


def segment_label(segment: str | None) -> str:
    return str(SEGMENT_LABELS.get(segment or "", (segment or "").replace("_", " ")))


def history_note(note: str | None, titles: dict[int, str]) -> str | None:
    """A history note in the reader's words: the notes the plugin writes itself are translated."""
    if not note:
        return None
    if note == "created":
        return gettext("created")
    for pattern, text in ((_MERGED_INTO, lazy_gettext('merged into “%(title)s”')),
                          (_MERGE_UNDONE, lazy_gettext('merge into “%(title)s” undone'))):
        match = pattern.match(note)
        if match:
            number = int(match.group(1))
            return str(text) % {"title": titles.get(number, f"#{number}")}
    return note


def moment(value: str | datetime | None) -> datetime | None:
    """A time from the plugin's JSON (ISO text) as a datetime for the ``|when`` filter."""
    if value is None or isinstance(value, datetime):
        return value
    return parse_time(value)


def people_of(detail: dict[str, Any]) -> dict[str, set[Any]]:
    """Every user, organization, ticket and actor a request's detail mentions (for one ``Names``)."""
    users = {person["requester_id"] for person in detail["requester_list"]}
    users |= {link["requester_id"] for link in detail["links"]}
    organizations = {person["organization_id"] for person in detail["requester_list"]}
    tickets = {link["ticket_id"] for link in detail["links"]}
    actors = {entry["by"] for entry in detail["history"]} | {link["linked_by"] for link in detail["links"]}
    actors |= {merge["merged_by"] for merge in detail["merges"]}
    return {"users": users, "organizations": organizations, "tickets": tickets, "actors": actors}
