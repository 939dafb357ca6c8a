"""Typed events: what a helpdesk webhook said, parsed once, and the events plugins emit to each other.

Two helpdesk payloads are accepted:

* the event-subscribed envelope (``{"type": "zen:event-type:ticket.created", "detail": {...}, ...}``), whose
  ids are strings;
* Deskmate's own trigger payload (``{"deskmate": 1, "type": "ticket.created", "ticket": {...}}``), written by
  the trigger that ``flask zendesk install`` creates, for accounts that prefer triggers.

Events stored by Deskmate itself (Slack interactions, plugin emissions) have the inbox's own shape
``{"ticket", "ticket_id", "data", "time"}``. ``normalise`` is the one function that reads any of them into an
``Event``: the inbox calls it at ingest (refusing a malformed body with the field at fault), the worker for
every stored row.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ENVELOPE_PREFIX = "zen:event-type:"
# Ids are stored as BIGINT: a larger one (``1e23``, twenty digits) names no ticket and would overflow the insert.
ID_MIN, ID_MAX = -(2**63), 2**63 - 1

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
    """A payload that is not an event Deskmate understands; the message is safe to return to the sender.

    ``field`` names the part of the body at fault (``detail.id``, ``event``), when one is.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _int_or_none(value: Any, name: str = "id", where: str | None = None) -> int | None:
    """An id as the helpdesk sends it (an integer, or its digits as a string); None when absent."""
    if value is None or value == "":
        return None
    kind = type(value)  # not isinstance: True is an int, and must not be read as ticket 1
    number: int | None = None
    if kind is int:
        number = value
    elif kind is str and len(value) <= 20:  # longer cannot be a BIGINT, and int() of huge strings is slow
        with suppress(ValueError):
            number = int(value)
    elif kind is float and value.is_integer():
        number = int(value)
    if number is not None and ID_MIN <= number <= ID_MAX:
        return number
    name = f"{where}.{name}" if where else name  # built only when refusing: this runs for every delivery
    shown = value if len(repr(value)) <= 40 else f"{repr(value)[:40]}..."
    raise EventError(f"'{name}' must be an id (a whole number of at most 64 bits, or its digits), got {shown!r}",
                     name)


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


def _tags(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # trigger placeholders render tags as one space-separated string
        return [tag for tag in value.split() if tag]
    if isinstance(value, list):
        return [str(tag) for tag in value]
    raise EventError(f"'{where}.tags' must be a list or a space-separated string", f"{where}.tags")


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
    def from_detail(cls, detail: dict[str, Any], where: str = "detail") -> TicketSnapshot:
        """Parse the ``detail`` of an event-subscribed ticket event (ids are strings there).

        ``where`` is how the object is named in an error (``detail``, or ``ticket`` in the trigger payload).
        """
        ticket_id = _int_or_none(detail.get("id"), "id", where)
        if ticket_id is None:
            raise EventError(f"ticket event without {where}.id", f"{where}.id")
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
            requester_id=_int_or_none(detail.get("requester_id"), "requester_id", where),
            requester_email=(detail.get("requester") or {}).get("email") if isinstance(
                detail.get("requester"), dict) else None,
            submitter_id=_int_or_none(detail.get("submitter_id"), "submitter_id", where),
            organization_id=_int_or_none(detail.get("organization_id"), "organization_id", where),
            group_id=_int_or_none(detail.get("group_id"), "group_id", where),
            assignee_id=_int_or_none(detail.get("assignee_id"), "assignee_id", where),
            brand_id=_int_or_none(detail.get("brand_id"), "brand_id", where),
            form_id=_int_or_none(detail.get("form_id") or detail.get("ticket_form_id"), "form_id", where),
            channel=(via.get("channel") if isinstance(via, dict) else via) or None,
            tags=tuple(_tags(detail.get("tags"), where)),
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
        snapshot = cls.from_detail(detail, "ticket")
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


def normalise(payload: Any, *, source: str = "zendesk", event_type: str | None = None, row_id: int = 0,
              account_id: int = 0, received_at: datetime | None = None) -> Event:
    """The one reading of an event body, whatever its source: at ingest (to refuse what is malformed) and in
    the worker (to hand the stored row to plugins).

    ``source`` is ``zendesk`` for a helpdesk webhook body (the event-subscribed envelope or Deskmate's trigger
    payload), or the name of what stored the event (``slack``, a plugin) for the inbox's own shape
    ``{"ticket", "ticket_id", "data", "time"}``. ``event_type`` is the stored type; for a helpdesk body it is
    taken from the body when not given.

    Raises:
        EventError: the body is not an event Deskmate understands; the message names the field.
    """
    if not isinstance(payload, dict):
        raise EventError("the body must be a JSON object", "body")
    try:
        if source != "zendesk":
            return _from_inbox(payload, source, event_type or "", row_id, account_id, received_at)
        if payload.get("deskmate") == 1:
            return _from_trigger(payload, event_type, row_id, account_id, received_at)
        return _from_envelope(payload, event_type, row_id, account_id, received_at)
    except EventError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # anything unforeseen is still a refusal
        raise EventError(f"the event cannot be read: {type(exc).__name__}: {exc}") from exc


def _occurred_at(payload: dict[str, Any], received_at: datetime | None) -> datetime:
    return parse_time(payload.get("time")) or received_at or datetime.now(UTC)


def _object(payload: dict[str, Any], name: str, *, required: bool = False) -> dict[str, Any]:
    value = payload.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise EventError(f"'{name}' must be an object", name)
    return value


def _event_type(payload: dict[str, Any]) -> str:
    raw_type = payload.get("type")
    if not isinstance(raw_type, str) or not raw_type:
        raise EventError("the body has no event type ('type')", "type")
    return raw_type


def _from_envelope(payload: dict[str, Any], event_type: str | None, row_id: int, account_id: int,
                   received_at: datetime | None) -> Event:
    raw_type = _event_type(payload)
    if not raw_type.startswith(ENVELOPE_PREFIX) or raw_type.removeprefix(ENVELOPE_PREFIX) not in HELPDESK_EVENT_TYPES:
        raise EventError(f"unknown event type {raw_type!r}", "type")
    event_type = event_type or raw_type.removeprefix(ENVELOPE_PREFIX)
    event_id = payload.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise EventError("an event envelope needs its 'id'", "id")
    detail = _object(payload, "detail", required=True)
    change = _object(payload, "event")
    subject = payload.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise EventError("'subject' must be a string such as 'zen:ticket:1'", "subject")
    subject_id = (_int_or_none(subject.rsplit(":", 1)[-1], "subject")
                  if subject and subject.count(":") >= 2 else None)
    is_ticket = event_type.startswith("ticket.")
    ticket = TicketSnapshot.from_detail(detail) if is_ticket else None
    return Event(
        id=row_id,
        account_id=account_id,
        source="zendesk",
        type=event_type,
        occurred_at=_occurred_at(payload, received_at),
        ticket=ticket,
        subject_id=subject_id if subject_id is not None else _int_or_none(detail.get("id"), "id", "detail"),
        data=dict(change) if is_ticket else {**change, "detail": detail},
        actor_id=_int_or_none(detail.get("actor_id"), "actor_id", "detail"),
    )


def _from_trigger(payload: dict[str, Any], event_type: str | None, row_id: int, account_id: int,
                  received_at: datetime | None) -> Event:
    raw_type = _event_type(payload)
    if raw_type not in TICKET_EVENT_TYPES:
        raise EventError(f"unknown event type {raw_type!r}", "type")
    ticket = payload.get("ticket")
    if not isinstance(ticket, dict):
        raise EventError("Deskmate's trigger payload needs its 'ticket' object", "ticket")
    return Event(
        id=row_id,
        account_id=account_id,
        source="zendesk",
        type=event_type or raw_type,
        occurred_at=_occurred_at(payload, received_at),
        ticket=TicketSnapshot.from_trigger(ticket),
        data=dict(_object(payload, "event")),
        actor_id=_int_or_none(payload.get("actor_id"), "actor_id"),
    )


def _from_inbox(payload: dict[str, Any], source: str, event_type: str, row_id: int, account_id: int,
                received_at: datetime | None) -> Event:
    ticket = _object(payload, "ticket")
    return Event(
        id=row_id,
        account_id=account_id,
        source=source,
        type=event_type,
        occurred_at=_occurred_at(payload, received_at),
        ticket=TicketSnapshot.from_dict(ticket) if ticket else None,
        subject_id=_int_or_none(payload.get("ticket_id"), "ticket_id"),
        data=dict(_object(payload, "data")),
    )
