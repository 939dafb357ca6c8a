"""Typed events: what a helpdesk webhook said, parsed once, and the events plugins emit to each other.

Two helpdesk payloads are accepted:

* the event-subscribed envelope (``{"type": "zen:event-type:ticket.created", "detail": {...}, ...}``), whose
  ids are strings;
* Deskmate's own trigger payload (``{"deskmate": 1, "type": "ticket.created", "ticket": {...}}``), written by
  the trigger that ``flask zendesk install`` creates, for accounts that prefer triggers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ENVELOPE_PREFIX = "zen:event-type:"

TICKET_EVENT_TYPES = frozenset(
    {
        "ticket.created",
        "ticket.status_changed",
        "ticket.priority_changed",
        "ticket.group_assignment_changed",
        "ticket.agent_assignment_changed",
        "ticket.tags_changed",
        "ticket.comment_added",
        "ticket.custom_field_changed",
        "ticket.organization_changed",
        "ticket.requester_changed",
        "ticket.type_changed",
        "ticket.subject_changed",
        "ticket.form_changed",
        "ticket.brand_changed",
        "ticket.soft_deleted",
        "ticket.updated",  # Deskmate's trigger payload for any other change
    }
)
OTHER_EVENT_TYPES = frozenset(
    {
        "organization.created",
        "organization.tags_changed",
        "organization.custom_field_changed",
        "organization.domain_names_changed",
        "organization.deleted",
        "user.created",
        "user.tags_changed",
        "user.custom_field_changed",
        "user.organization_changed",
        "user.email_changed",
        "user.deleted",
    }
)
HELPDESK_EVENT_TYPES = TICKET_EVENT_TYPES | OTHER_EVENT_TYPES


class EventError(ValueError):
    """A payload that is not an event Deskmate understands; the message is safe to return to the sender."""


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise EventError(f"expected an id, got {value!r}") from None


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time from the helpdesk (``...Z``) as an aware UTC datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not value or not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # trigger placeholders render tags as one space-separated string
        return [tag for tag in value.split() if tag]
    if isinstance(value, list):
        return [str(tag) for tag in value]
    raise EventError("tags must be a list or a space-separated string")


@dataclass(frozen=True)
class TicketSnapshot:
    """The ticket as the event described it (not necessarily its current state in the helpdesk)."""

    id: int
    subject: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    type: str | None = None
    requester_id: int | None = None
    requester_email: str | None = None
    submitter_id: int | None = None
    organization_id: int | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    brand_id: int | None = None
    form_id: int | None = None
    channel: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> TicketSnapshot:
        """Parse the ``detail`` of an event-subscribed ticket event (ids are strings there)."""
        ticket_id = _int_or_none(detail.get("id"))
        if ticket_id is None:
            raise EventError("ticket event without detail.id")
        via = detail.get("via") or {}
        custom = detail.get("custom_fields") or {}
        if isinstance(custom, list):
            custom = {str(item.get("id")): item.get("value") for item in custom if isinstance(item, dict)}
        return cls(
            id=ticket_id,
            subject=detail.get("subject"),
            description=detail.get("description"),
            status=(detail.get("status") or None) and str(detail["status"]).lower(),
            priority=(detail.get("priority") or None) and str(detail["priority"]).lower(),
            type=(detail.get("type") or None) and str(detail["type"]).lower(),
            requester_id=_int_or_none(detail.get("requester_id")),
            requester_email=(detail.get("requester") or {}).get("email") if isinstance(
                detail.get("requester"), dict) else None,
            submitter_id=_int_or_none(detail.get("submitter_id")),
            organization_id=_int_or_none(detail.get("organization_id")),
            group_id=_int_or_none(detail.get("group_id")),
            assignee_id=_int_or_none(detail.get("assignee_id")),
            brand_id=_int_or_none(detail.get("brand_id")),
            form_id=_int_or_none(detail.get("form_id") or detail.get("ticket_form_id")),
            channel=(via.get("channel") if isinstance(via, dict) else via) or None,
            tags=tuple(_tags(detail.get("tags"))),
            custom_fields=custom if isinstance(custom, dict) else {},
            created_at=parse_time(detail.get("created_at")),
            updated_at=parse_time(detail.get("updated_at")),
        )

    @classmethod
    def from_trigger(cls, ticket: dict[str, Any]) -> TicketSnapshot:
        """Parse the ``ticket`` object of Deskmate's trigger payload (placeholders render as strings)."""
        raw_requester, raw_organization = ticket.get("requester"), ticket.get("organization")
        requester: dict[str, Any] = raw_requester if isinstance(raw_requester, dict) else {}
        organization: dict[str, Any] = raw_organization if isinstance(raw_organization, dict) else {}
        detail = dict(ticket)
        detail.setdefault("requester_id", requester.get("id"))
        detail.setdefault("organization_id", organization.get("id"))
        snapshot = cls.from_detail(detail)
        if requester.get("email"):
            snapshot = _replace(snapshot, requester_email=str(requester["email"]).lower())
        return snapshot

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["tags"] = list(self.tags)
        for name in ("created_at", "updated_at"):
            if data[name] is not None:
                data[name] = data[name].isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TicketSnapshot:
        values: dict[str, Any] = dict(data)
        values["tags"] = tuple(values.get("tags") or ())
        values["created_at"] = parse_time(values.get("created_at"))
        values["updated_at"] = parse_time(values.get("updated_at"))
        known: dict[str, Any] = {name: values.get(name) for name in cls.__dataclass_fields__ if name in values}
        return cls(**known)


def _replace(snapshot: TicketSnapshot, **changes: Any) -> TicketSnapshot:
    from dataclasses import replace

    return replace(snapshot, **changes)


@dataclass(frozen=True)
class Event:
    """One event as plugins receive it in ``handle_event``.

    ``type`` is short (``ticket.created``, ``ticket.comment_added``, ``routing.ticket_routed``); ``source`` is
    ``zendesk`` for the helpdesk's events and the emitting plugin's name for plugin events; ``data`` holds the
    event-specific part (the envelope's ``event`` object, or what the plugin emitted).
    """

    id: int
    account_id: int
    source: str
    type: str
    occurred_at: datetime
    ticket: TicketSnapshot | None = None
    subject_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    actor_id: int | None = None

    @property
    def ticket_id(self) -> int | None:
        if self.ticket is not None:
            return self.ticket.id
        return self.subject_id if self.source != "zendesk" or self.type.startswith("ticket.") else None


@dataclass(frozen=True)
class ParsedWebhook:
    """A helpdesk webhook body, validated, ready to be stored."""

    event_type: str
    event_key: str
    ticket_id: int | None
    stored: dict[str, Any]


def parse_webhook(body: dict[str, Any], raw: bytes) -> ParsedWebhook:
    """Validate a helpdesk webhook body and give the fields to store.

    Raises:
        EventError: the body is not an event-subscribed envelope nor Deskmate's trigger payload, or its type
            is unknown.
    """
    if not isinstance(body, dict):
        raise EventError("the body must be a JSON object")
    raw_type = body.get("type")
    if not isinstance(raw_type, str) or not raw_type:
        raise EventError("the body has no event type ('type')")
    if raw_type.startswith(ENVELOPE_PREFIX):
        event_type = raw_type.removeprefix(ENVELOPE_PREFIX)
        if event_type not in HELPDESK_EVENT_TYPES:
            raise EventError(f"unknown event type {raw_type!r}")
        event_id = body.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise EventError("an event envelope needs its 'id'")
        detail = body.get("detail")
        if not isinstance(detail, dict):
            raise EventError("an event envelope needs its 'detail' object")
        ticket_id = None
        if event_type.startswith("ticket."):
            ticket_id = TicketSnapshot.from_detail(detail).id
        return ParsedWebhook(event_type, f"evt:{event_id}", ticket_id, body)
    if body.get("deskmate") == 1:
        if raw_type not in TICKET_EVENT_TYPES:
            raise EventError(f"unknown event type {raw_type!r}")
        ticket = body.get("ticket")
        if not isinstance(ticket, dict):
            raise EventError("Deskmate's trigger payload needs its 'ticket' object")
        snapshot = TicketSnapshot.from_trigger(ticket)
        # A trigger has no event id; the rendered body (which carries the update time) identifies the change.
        key = "body:" + hashlib.sha256(raw).hexdigest()
        return ParsedWebhook(raw_type, key, snapshot.id, body)
    raise EventError(f"unknown event type {raw_type!r}")


def event_from_row(
    *, row_id: int, account_id: int, source: str, event_type: str, payload: dict[str, Any], received_at: datetime
) -> Event:
    """Rebuild the typed event from a stored inbound event."""
    if source != "zendesk":
        ticket_data = payload.get("ticket")
        return Event(
            id=row_id,
            account_id=account_id,
            source=source,
            type=event_type,
            occurred_at=parse_time(payload.get("time")) or received_at,
            ticket=TicketSnapshot.from_dict(ticket_data) if isinstance(ticket_data, dict) else None,
            subject_id=_int_or_none(payload.get("ticket_id")),
            data=payload.get("data") or {},
        )
    if payload.get("deskmate") == 1:
        return Event(
            id=row_id,
            account_id=account_id,
            source=source,
            type=event_type,
            occurred_at=parse_time(payload.get("time")) or received_at,
            ticket=TicketSnapshot.from_trigger(payload["ticket"]),
            data=payload.get("event") or {},
            actor_id=_int_or_none(payload.get("actor_id")),
        )
    detail = payload.get("detail") or {}
    subject = str(payload.get("subject") or "")
    subject_id = _int_or_none(subject.rsplit(":", 1)[-1]) if subject.count(":") >= 2 else None
    ticket = TicketSnapshot.from_detail(detail) if event_type.startswith("ticket.") else None
    return Event(
        id=row_id,
        account_id=account_id,
        source=source,
        type=event_type,
        occurred_at=parse_time(payload.get("time")) or received_at,
        ticket=ticket,
        subject_id=subject_id if subject_id is not None else _int_or_none(detail.get("id")),
        data={**(payload.get("event") or {}), "detail": detail} if not event_type.startswith("ticket.")
        else dict(payload.get("event") or {}),
        actor_id=_int_or_none(detail.get("actor_id")),
    )
