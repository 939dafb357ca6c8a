"""The helpdesk mirror: tickets, users and organizations as last seen, kept once, in the core.

Plugins read it through ``ctx.mirror`` (a ``Mirror`` on the hook's session) and keep only their own columns,
keyed by the same ids, in their own tables. The core keeps it current: every helpdesk event passes through the
built-in plugin ``mirror`` before any plugin sees it (echoes of Deskmate's own changes included), and whatever
reads the API stores the whole records it got (``store_*``).

One invalidation rule, for every reader:

* A record read whole from the API is **complete**: its tags, fields and ``data`` can be trusted.
* An event updates what it carries (a ticket's columns; a user's email, organization, role or name) and, for a
  user or organization, marks the record **not complete**: what the event does not carry (tags, fields, the
  rest of ``data``) must be read again before it is trusted. A deletion marks it **missing** (and complete:
  there is nothing left to read).
* An older view never overwrites a newer one: the helpdesk's ``updated_at`` decides.
* How old a complete record may be is the reader's choice (``fetched_within``): the sidebar refreshes what is
  older than ``sidebar_cache_seconds``; routing trusts a complete record until an event says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import insert_for
from app.events import Event, TicketSnapshot, parse_time
from app.mirror.models import HelpdeskOrganization, HelpdeskTicket, HelpdeskUser

__all__ = ["Mirror", "MirrorOrganization", "MirrorTicket", "MirrorUser", "init_app"]

EXTENSION_KEY = "deskmate.mirror"

# Bound parameters per statement stay well under SQLite's limit.
_CHUNK = 500


def _id(value: Any) -> int | None:
    """An id from an API object or event detail (events send strings, and "0" for none)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number or None


def _tags(values: Any) -> list[str]:
    return sorted({str(tag).strip().lower() for tag in values or [] if str(tag).strip()})


@dataclass(frozen=True)
class MirrorTicket:
    """A ticket as last seen. ``data`` is the whole API record, when one was read and ``whole=True`` asked."""

    id: int
    subject: str | None
    status: str | None
    priority: str | None
    requester_id: int | None
    organization_id: int | None
    group_id: int | None
    tags: tuple[str, ...]
    created_at: datetime | None
    updated_at: datetime | None
    data: dict[str, Any] | None = None
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class _Record:
    complete: bool
    missing: bool
    updated_at: datetime | None
    fetched_at: datetime | None
    has_data: bool  # the whole API record is kept (``data``, read with ``whole=True``)

    @property
    def trusted(self) -> bool:
        """Whether tags and fields can be relied on (read whole since the last change, or gone)."""
        return self.complete or self.missing

    def fetched_within(self, now: datetime, max_age: timedelta) -> bool:
        """Complete, and read from the API no longer than ``max_age`` ago."""
        return self.complete and not self.missing and self.fetched_at is not None and now - self.fetched_at <= max_age


@dataclass(frozen=True)
class MirrorUser(_Record):
    """A user as last seen (see the module's invalidation rule for ``complete``)."""

    id: int = 0
    name: str | None = None
    email: str | None = None
    organization_id: int | None = None
    role: str | None = None
    locale: str | None = None
    tags: frozenset[str] = frozenset()
    fields: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class MirrorOrganization(_Record):
    """An organization as last seen."""

    id: int = 0
    name: str | None = None
    tags: frozenset[str] = frozenset()
    fields: dict[str, Any] = field(default_factory=dict)
    domain_names: tuple[str, ...] = ()
    data: dict[str, Any] | None = None


# Reads name their columns: a hot path (routing decides every ticket from these) never loads or parses ``data``
# unless the caller asks for the whole record.
_TICKET = (HelpdeskTicket.ticket_id, HelpdeskTicket.subject, HelpdeskTicket.status, HelpdeskTicket.priority,
           HelpdeskTicket.requester_id, HelpdeskTicket.organization_id, HelpdeskTicket.group_id, HelpdeskTicket.tags,
           HelpdeskTicket.created_at, HelpdeskTicket.updated_at, HelpdeskTicket.fetched_at)
_USER = (HelpdeskUser.user_id, HelpdeskUser.name, HelpdeskUser.email, HelpdeskUser.organization_id,
         HelpdeskUser.role, HelpdeskUser.locale, HelpdeskUser.tags, HelpdeskUser.fields, HelpdeskUser.complete,
         HelpdeskUser.missing, HelpdeskUser.updated_at, HelpdeskUser.fetched_at,
         HelpdeskUser.data.is_not(None).label("has_data"))
_ORGANIZATION = (HelpdeskOrganization.organization_id, HelpdeskOrganization.name, HelpdeskOrganization.tags,
                 HelpdeskOrganization.fields, HelpdeskOrganization.domain_names, HelpdeskOrganization.complete,
                 HelpdeskOrganization.missing, HelpdeskOrganization.updated_at, HelpdeskOrganization.fetched_at,
                 HelpdeskOrganization.data.is_not(None).label("has_data"))


def _ticket(row: Any, whole: bool) -> MirrorTicket:
    return MirrorTicket(id=row.ticket_id, subject=row.subject, status=row.status, priority=row.priority,
                        requester_id=row.requester_id, organization_id=row.organization_id, group_id=row.group_id,
                        tags=tuple(row.tags or ()), created_at=row.created_at, updated_at=row.updated_at,
                        data=row.data if whole else None, fetched_at=row.fetched_at)


def _user(row: Any, whole: bool) -> MirrorUser:
    data = row.data if whole else None
    return MirrorUser(complete=row.complete, missing=row.missing, updated_at=row.updated_at,
                      fetched_at=row.fetched_at, has_data=bool(row.has_data), id=row.user_id, name=row.name,
                      email=row.email, organization_id=row.organization_id, role=row.role, locale=row.locale,
                      tags=frozenset(row.tags or ()), fields=dict(row.fields or {}), data=data)


def _organization(row: Any, whole: bool) -> MirrorOrganization:
    return MirrorOrganization(complete=row.complete, missing=row.missing, updated_at=row.updated_at,
                              fetched_at=row.fetched_at, has_data=bool(row.has_data), id=row.organization_id,
                              name=row.name, tags=frozenset(row.tags or ()), fields=dict(row.fields or {}),
                              domain_names=tuple(row.domain_names or ()), data=row.data if whole else None)


def user_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """The mirror's columns of a whole user record from the API (also used by the migration)."""
    return {
        "name": (str(record["name"])[:255] if record.get("name") else None),
        "email": (str(record["email"]).lower()[:320] if record.get("email") else None),
        "organization_id": _id(record.get("organization_id")), "role": (str(record["role"])[:16]
                                                                       if record.get("role") else None),
        "locale": (str(record["locale"])[:16] if record.get("locale") else None),
        "tags": _tags(record.get("tags")), "fields": dict(record.get("user_fields") or {}),
        "missing": record.get("active") is False, "updated_at": parse_time(record.get("updated_at")),
    }


def organization_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """The mirror's columns of a whole organization record from the API."""
    return {
        "name": (str(record["name"])[:255] if record.get("name") else None), "tags": _tags(record.get("tags")),
        "fields": dict(record.get("organization_fields") or {}),
        "domain_names": [str(d).lower() for d in record.get("domain_names") or []],
        "missing": bool(record.get("deleted_at")), "updated_at": parse_time(record.get("updated_at")),
    }


class Mirror:
    """The mirror of one account, read and written in ``session``'s transaction."""

    def __init__(self, session: Session, account_id: int) -> None:
        self.session = session
        self.account_id = account_id

    # --- reading --------------------------------------------------------------------------------------

    def ticket(self, ticket_id: int, *, whole: bool = False) -> MirrorTicket | None:
        """The ticket; with ``whole`` also the API record it was last read as (``data``)."""
        return self.tickets([ticket_id], whole=whole).get(ticket_id)

    def tickets(self, ticket_ids: Iterable[int], *, whole: bool = False) -> dict[int, MirrorTicket]:
        columns = (*_TICKET, HelpdeskTicket.data) if whole else _TICKET
        return {row.ticket_id: _ticket(row, whole) for row in self._rows(columns, HelpdeskTicket.ticket_id, ticket_ids)}

    def user(self, user_id: int, *, whole: bool = False) -> MirrorUser | None:
        """The user; with ``whole`` also the API record it was last read as (``data``)."""
        return self.users([user_id], whole=whole).get(user_id)

    def users(self, user_ids: Iterable[int], *, whole: bool = False) -> dict[int, MirrorUser]:
        columns = (*_USER, HelpdeskUser.data) if whole else _USER
        return {row.user_id: _user(row, whole) for row in self._rows(columns, HelpdeskUser.user_id, user_ids)}

    def organization(self, organization_id: int, *, whole: bool = False) -> MirrorOrganization | None:
        """The organization; with ``whole`` also the API record it was last read as (``data``)."""
        return self.organizations([organization_id], whole=whole).get(organization_id)

    def organizations(self, organization_ids: Iterable[int], *,
                      whole: bool = False) -> dict[int, MirrorOrganization]:
        columns = (*_ORGANIZATION, HelpdeskOrganization.data) if whole else _ORGANIZATION
        return {row.organization_id: _organization(row, whole)
                for row in self._rows(columns, HelpdeskOrganization.organization_id, organization_ids)}

    def recent_tickets(self, requester_id: int, *, exclude: int | None = None, limit: int = 5) -> list[MirrorTicket]:
        """The requester's tickets Deskmate has seen, most recently updated first."""
        statement = sa.select(*_TICKET).where(HelpdeskTicket.account_id == self.account_id,
                                              HelpdeskTicket.requester_id == requester_id)
        if exclude is not None:
            statement = statement.where(HelpdeskTicket.ticket_id != exclude)
        statement = statement.order_by(HelpdeskTicket.updated_at.desc().nulls_last(),
                                       HelpdeskTicket.ticket_id.desc()).limit(limit)
        return [_ticket(row, False) for row in self.session.execute(statement)]

    def _rows(self, columns: tuple[Any, ...], key: Any, ids: Iterable[int]) -> list[Any]:
        wanted = sorted(set(ids))
        account = key.class_.account_id
        rows: list[Any] = []
        for start in range(0, len(wanted), _CHUNK):
            rows.extend(self.session.execute(sa.select(*columns).where(
                account == self.account_id, key.in_(wanted[start:start + _CHUNK]))))
        return rows

    # --- whole records from the API -------------------------------------------------------------------

    def store_users(self, records: Iterable[Mapping[str, Any]], now: datetime) -> int:
        """Store users the API returned whole (``show_many``, exports, sideloads); newer data is kept."""
        rows = [{"account_id": self.account_id, "user_id": int(record["id"]), **user_values(record),
                 "data": dict(record), "complete": True, "fetched_at": now}
                for record in records if _id(record.get("id")) is not None]
        return self._upsert(HelpdeskUser, "user_id", rows)

    def store_organizations(self, records: Iterable[Mapping[str, Any]], now: datetime) -> int:
        """Store organizations the API returned whole; newer data is kept."""
        rows = [{"account_id": self.account_id, "organization_id": int(record["id"]),
                 **organization_values(record), "data": dict(record), "complete": True, "fetched_at": now}
                for record in records if _id(record.get("id")) is not None]
        return self._upsert(HelpdeskOrganization, "organization_id", rows)

    def _upsert(self, model: Any, key: str, rows: list[dict[str, Any]]) -> int:
        # Several writers store the same records at once (routing's exports and show_many, the sidebar's reads,
        # the SLA's look-ups): rows always go in id order, so two transactions never lock them in opposite
        # orders (PostgreSQL answered a deadlock when an export and a classification met).
        rows = sorted({row[key]: row for row in rows}.values(), key=lambda row: row[key])
        table = model.__table__
        for start in range(0, len(rows), _CHUNK // 2):
            statement = insert_for(self.session, model).values(rows[start:start + _CHUNK // 2])
            excluded = statement.excluded
            updates = {name: excluded[name] for name in rows[0] if name not in ("account_id", key)}
            newer = sa.or_(table.c.updated_at.is_(None), excluded.updated_at.is_(None),
                           table.c.updated_at <= excluded.updated_at, table.c.complete.is_(False))
            self.session.execute(statement.on_conflict_do_update(index_elements=["account_id", key], set_=updates,
                                                                 where=newer))
        return len(rows)

    def mark_missing(self, kind: str, ids: Iterable[int], now: datetime) -> None:
        """Remember users or organizations the helpdesk does not know, so they are not asked for again."""
        model, key = (HelpdeskUser, "user_id") if kind == "user" else (HelpdeskOrganization, "organization_id")
        rows = [{"account_id": self.account_id, key: record_id, "complete": True, "missing": True, "tags": [],
                 "fields": {}, "fetched_at": now} for record_id in sorted(set(ids))]
        for start in range(0, len(rows), _CHUNK // 2):
            statement = insert_for(self.session, model).values(rows[start:start + _CHUNK // 2])
            self.session.execute(statement.on_conflict_do_update(
                index_elements=["account_id", key],
                set_={"complete": True, "missing": True, "tags": [], "fields": {}, "fetched_at": now}))

    def store_ticket(self, record: Mapping[str, Any], now: datetime) -> int | None:
        """Store a ticket the API returned whole; its columns change only if it is not older than known."""
        ticket_id = _id(record.get("id"))
        if ticket_id is None:
            return None
        updated_at = parse_time(record.get("updated_at"))
        row = self.session.get(HelpdeskTicket, (self.account_id, ticket_id))
        if row is None:
            row = HelpdeskTicket(account_id=self.account_id, ticket_id=ticket_id, tags=[])
            self.session.add(row)
        if row.updated_at is None or updated_at is None or updated_at >= row.updated_at:
            row.subject, row.status, row.priority = record.get("subject"), record.get("status"), record.get("priority")
            row.requester_id, row.organization_id = _id(record.get("requester_id")), _id(record.get("organization_id"))
            row.group_id = _id(record.get("group_id"))
            row.tags = list(record.get("tags") or [])
            row.created_at, row.updated_at = parse_time(record.get("created_at")), updated_at
        row.data, row.fetched_at = dict(record), now
        self.session.flush()
        return ticket_id

    # --- what events say ------------------------------------------------------------------------------

    def note_ticket(self, snapshot: TicketSnapshot) -> bool:
        """Keep a ticket as an event described it, unless a newer state is known; True if written."""
        row = self.session.get(HelpdeskTicket, (self.account_id, snapshot.id))
        if row is not None and row.updated_at and snapshot.updated_at and snapshot.updated_at < row.updated_at:
            return False  # events arrive out of order; an older snapshot must not overwrite a newer one
        values = {
            "subject": snapshot.subject, "status": snapshot.status, "priority": snapshot.priority,
            "requester_id": snapshot.requester_id, "organization_id": snapshot.organization_id,
            "group_id": snapshot.group_id, "tags": list(snapshot.tags), "created_at": snapshot.created_at,
            "updated_at": snapshot.updated_at,
        }
        if row is None:
            statement = insert_for(self.session, HelpdeskTicket).values(account_id=self.account_id,
                                                                       ticket_id=snapshot.id, **values)
            self.session.execute(statement.on_conflict_do_nothing())
            return True
        for name, value in values.items():
            if value is not None or name in ("organization_id", "group_id"):
                setattr(row, name, value)
        return True

    def note_event(self, event: Event) -> None:
        """Apply a ``user.*`` or ``organization.*`` event (see the module's invalidation rule)."""
        raw = event.data.get("detail")
        detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
        record_id = event.subject_id or _id(detail.get("id"))
        if record_id is None:
            return
        updated_at = parse_time(detail.get("updated_at"))
        deleted = event.type.endswith(".deleted")
        if event.type.startswith("organization."):
            known: dict[str, Any] = {"name": str(detail["name"])[:255]} if detail.get("name") else {}
            self._note(HelpdeskOrganization, "organization_id", record_id, updated_at, deleted, known)
        elif event.type.startswith("user."):
            known = {}
            if "email" in detail:
                known["email"] = (str(detail["email"]).lower()[:320] if detail.get("email") else None)
            if "organization_id" in detail:
                known["organization_id"] = _id(detail.get("organization_id"))
            if detail.get("role"):
                known["role"] = str(detail["role"])[:16]
            if detail.get("name"):
                known["name"] = str(detail["name"])[:255]
            self._note(HelpdeskUser, "user_id", record_id, updated_at, deleted, known)

    def _note(self, model: Any, key: str, record_id: int, updated_at: datetime | None, deleted: bool,
              known: dict[str, Any]) -> None:
        row = self.session.scalar(sa.select(model).where(
            model.account_id == self.account_id, getattr(model, key) == record_id).with_for_update())
        if row is None:
            row = model(account_id=self.account_id, **{key: record_id}, tags=[], fields={}, complete=False,
                        missing=False)
            self.session.add(row)
        elif updated_at is not None and row.updated_at is not None and updated_at < row.updated_at:
            return  # an older change than what is kept: something newer is known already
        for name, value in known.items():
            setattr(row, name, value)
        if deleted:
            row.missing, row.complete, row.tags, row.fields = True, True, [], {}
        else:
            row.complete, row.missing = False, False
        if updated_at is not None:
            row.updated_at = updated_at


def init_app(app: Any) -> None:
    """Keep the mirror current from every helpdesk event. Call after the plugin manager and the sidebar."""
    from app.mirror import hooks
    from app.plugins import plugin_manager

    if EXTENSION_KEY in app.extensions:
        raise RuntimeError("app.mirror.init_app was called twice on the same app")
    plugin_manager.register_builtin(app, hooks, hooks.NAME)
    app.extensions[EXTENSION_KEY] = True
