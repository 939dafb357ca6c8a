"""The failed-work page's rows: what failed, in words, with the ticket it concerns named from the mirror."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Session

from app.accounts import AccountView
from app.effects import SLACK_POST, SLACK_UPDATE, SLACK_UPLOAD, TICKET_COMMENT, TICKET_CREATE, TICKET_UPDATE
from app.mirror import Mirror
from app.models import FAILED_ROWS, InboundEvent, WorkItem

# How many failed rows of each list the page shows (the newest); the count above them says how many there are.
PAGE_ROWS = 200

CORE_KINDS: dict[str, LazyString] = {
    TICKET_UPDATE: lazy_gettext("Update a ticket in the helpdesk"),
    TICKET_COMMENT: lazy_gettext("Comment on a ticket in the helpdesk"),
    TICKET_CREATE: lazy_gettext("Create a ticket in the helpdesk"),
    SLACK_POST: lazy_gettext("Post a Slack message"),
    SLACK_UPDATE: lazy_gettext("Update a Slack message"),
    SLACK_UPLOAD: lazy_gettext("Upload a file to Slack"),
}
EVENT_TYPES: dict[str, LazyString] = {
    "ticket.created": lazy_gettext("Ticket created"),
    "ticket.updated": lazy_gettext("Ticket updated"),
    "ticket.comment_added": lazy_gettext("Comment added"),
    "ticket.status_changed": lazy_gettext("Status changed"),
    "ticket.priority_changed": lazy_gettext("Priority changed"),
    "ticket.group_assignment_changed": lazy_gettext("Group changed"),
    "ticket.agent_assignment_changed": lazy_gettext("Assignee changed"),
    "ticket.organization_changed": lazy_gettext("Organization changed"),
    "ticket.requester_changed": lazy_gettext("Requester changed"),
    "ticket.tags_changed": lazy_gettext("Tags changed"),
    "ticket.subject_changed": lazy_gettext("Subject changed"),
    "ticket.soft_deleted": lazy_gettext("Ticket deleted"),
}
EVENT_SOURCES: dict[str, LazyString] = {
    "zendesk": lazy_gettext("helpdesk"),
    "slack": lazy_gettext("Slack"),
}


@dataclass
class TicketRef:
    id: int
    subject: str | None
    url: str


@dataclass
class FailedRow:
    id: int
    what: str
    code: str
    key: str
    ticket: TicketRef | None
    attempts: int
    max_attempts: int | None
    error: str
    at: datetime | None
    plugins: list[str]


def describe_kind(kind: str) -> str:
    """A work kind in words: the core's own by name, a plugin's as "<plugin>: <what>"."""
    if kind in CORE_KINDS:
        return str(CORE_KINDS[kind])
    plugin, _, what = kind.partition(".")
    return f"{plugin}: {what.replace('_', ' ')}" if what else kind


def describe_event(event_type: str, source: str) -> str:
    where = EVENT_SOURCES.get(source)
    known = EVENT_TYPES.get(event_type)
    what = str(known) if known is not None else event_type.replace("_", " ").replace(".", ": ", 1)
    return gettext("%(what)s (from %(source)s)", what=what, source=where if where is not None else source)


def _ticket_id(payload: dict[str, Any]) -> int | None:
    value = payload.get("ticket_id")
    return value if isinstance(value, int) and 0 < value < 2**63 else None


def failed_rows(session: Session, account: AccountView) -> tuple[list[FailedRow], int, list[FailedRow], int]:
    """The newest failed work items and inbound events of ``account``, with how many of each there are."""
    items = session.scalars(sa.select(WorkItem).where(FAILED_ROWS, WorkItem.account_id == account.id)
                            .order_by(WorkItem.id.desc()).limit(PAGE_ROWS)).all()
    events = session.scalars(sa.select(InboundEvent).where(FAILED_ROWS, InboundEvent.account_id == account.id)
                             .order_by(InboundEvent.id.desc()).limit(PAGE_ROWS)).all()
    item_total = session.scalar(sa.select(sa.func.count()).select_from(WorkItem)
                                .where(FAILED_ROWS, WorkItem.account_id == account.id)) or 0
    event_total = session.scalar(sa.select(sa.func.count()).select_from(InboundEvent)
                                 .where(FAILED_ROWS, InboundEvent.account_id == account.id)) or 0
    ticket_ids = {_ticket_id(item.payload or {}) for item in items} | {event.ticket_id for event in events}
    known = Mirror(session, account.id).tickets(i for i in ticket_ids if i)

    def ticket(ticket_id: int | None) -> TicketRef | None:
        if not ticket_id:
            return None
        mirrored = known.get(ticket_id)
        return TicketRef(ticket_id, mirrored.subject if mirrored else None,
                         f"{account.helpdesk_url}/agent/tickets/{ticket_id}")

    item_rows = [FailedRow(item.id, describe_kind(item.kind), item.kind, item.idempotency_key,
                           ticket(_ticket_id(item.payload or {})),
                           item.attempts, item.max_attempts, item.last_error or "", item.finished_at, [])
                 for item in items]
    event_rows = [FailedRow(event.id, describe_event(event.event_type, event.source), event.event_type, "",
                            ticket(event.ticket_id), event.attempts, None, event.last_error or "",
                            event.processed_at or event.next_attempt_at, list(event.pending_plugins or []))
                  for event in events]
    return item_rows, int(item_total), event_rows, int(event_total)
