"""The cached directory: organizations and users as routing needs them, kept in the plugin's own tables.

Records come complete from the helpdesk (``show_many``, incremental exports) and partial from webhook events
(which carry a user's email and organization, but never tags or fields). A change to what rules may look at
marks a record incomplete, so that the next ticket that needs it fetches it again instead of trusting it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api import Event, TicketSnapshot, insert_for, parse_time
from plugins.routing.models import RoutingOrganization, RoutingUser
from plugins.routing.rules import Facts, OrganizationFacts, RequesterFacts, RuleSet

SHOW_MANY_MAX = 100
# Event types after which a cached record can no longer be trusted for tags and fields.
ORGANIZATION_INVALIDATING = {"organization.created", "organization.tags_changed",
                             "organization.custom_field_changed", "organization.domain_names_changed"}
USER_INVALIDATING = {"user.created", "user.tags_changed", "user.custom_field_changed"}


def _insert(session: Session, model: Any) -> Any:
    return insert_for(session, model)




def _id(value: Any) -> int | None:
    """An id from an API object or event detail (events send strings, and "0" for none)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number or None


def _tags(values: Any) -> list[str]:
    return sorted({str(tag).strip().lower() for tag in values or [] if str(tag).strip()})


def facts_for(session: Session, account_id: int, ticket: TicketSnapshot, rules: RuleSet) -> Facts:
    """What the cache knows about the ticket's requester and organization (only what the rules look at)."""
    requester = None
    user_row = None
    needs_requester = rules.uses("requester")
    organization_id = ticket.organization_id
    if ticket.requester_id is not None and (needs_requester or organization_id is None):
        user_row = session.scalar(sa.select(RoutingUser).where(
            RoutingUser.account_id == account_id, RoutingUser.user_id == ticket.requester_id))
        requester = _requester_facts(ticket, user_row)
    if organization_id is None and user_row is not None:
        organization_id = user_row.organization_id  # the helpdesk sets the requester's organization anyway
    organization = None
    if organization_id is not None:
        organization = OrganizationFacts(id=organization_id)
        if rules.uses("organization"):
            row = session.scalar(sa.select(RoutingOrganization).where(
                RoutingOrganization.account_id == account_id,
                RoutingOrganization.organization_id == organization_id))
            if row is not None and (row.complete or row.missing):
                organization = OrganizationFacts(id=organization_id, tags=frozenset(row.tags or ()),
                                                 fields=dict(row.fields or {}))
    return Facts(ticket=ticket, organization=organization, requester=requester)


def _requester_facts(ticket: TicketSnapshot, row: RoutingUser | None) -> RequesterFacts:
    assert ticket.requester_id is not None
    if row is not None and (row.complete or row.missing):
        return RequesterFacts(id=ticket.requester_id, email=row.email, email_known=True,
                              tags=frozenset(row.tags or ()), fields=dict(row.fields or {}))
    email = ticket.requester_email or (row.email if row is not None else None)
    return RequesterFacts(id=ticket.requester_id, email=email, email_known=bool(email))


def upsert_organizations(session: Session, account_id: int, records: Iterable[Mapping[str, Any]],
                         now: datetime) -> int:
    """Store complete organizations from the helpdesk (newer data never overwritten by older)."""
    rows = [{
        "account_id": account_id, "organization_id": int(record["id"]), "name": record.get("name"),
        "tags": _tags(record.get("tags")), "fields": dict(record.get("organization_fields") or {}),
        "domain_names": [str(d).lower() for d in record.get("domain_names") or []], "complete": True,
        "missing": bool(record.get("deleted_at")), "updated_at": parse_time(record.get("updated_at")),
        "fetched_at": now,
    } for record in records if record.get("id") is not None]
    return _upsert(session, RoutingOrganization, "organization_id", rows)


def upsert_users(session: Session, account_id: int, records: Iterable[Mapping[str, Any]],
                 now: datetime) -> int:
    """Store complete users from the helpdesk (newer data never overwritten by older)."""
    rows = [{
        "account_id": account_id, "user_id": int(record["id"]),
        "email": (record.get("email") or None) and str(record["email"]).lower(),
        "organization_id": _id(record.get("organization_id")), "role": record.get("role"),
        "tags": _tags(record.get("tags")), "fields": dict(record.get("user_fields") or {}), "complete": True,
        "missing": record.get("active") is False, "updated_at": parse_time(record.get("updated_at")),
        "fetched_at": now,
    } for record in records if record.get("id") is not None]
    return _upsert(session, RoutingUser, "user_id", rows)


def _upsert(session: Session, model: Any, key: str, rows: list[dict[str, Any]]) -> int:
    table = model.__table__
    # Chunks keep each statement under SQLite's limit of bound parameters.
    for start in range(0, len(rows), 500):
        statement = _insert(session, model).values(rows[start:start + 500])
        excluded = statement.excluded
        updates = {name: excluded[name] for name in rows[0] if name not in ("account_id", key)}
        newer = sa.or_(table.c.updated_at.is_(None), excluded.updated_at.is_(None),
                       table.c.updated_at <= excluded.updated_at, table.c.complete.is_(False))
        session.execute(statement.on_conflict_do_update(index_elements=["account_id", key], set_=updates,
                                                        where=newer))
    return len(rows)


def mark_missing(session: Session, account_id: int, model: Any, key: str, ids: Iterable[int],
                 now: datetime) -> None:
    """Remember records the helpdesk does not know, so that they are not asked for again and again."""
    rows = [{"account_id": account_id, key: record_id, "complete": True, "missing": True, "tags": [],
             "fields": {}, "fetched_at": now} for record_id in ids]
    if not rows:
        return
    statement = _insert(session, model).values(rows)
    session.execute(statement.on_conflict_do_update(
        index_elements=["account_id", key],
        set_={"complete": True, "missing": True, "tags": [], "fields": {}, "fetched_at": now}))


def note_event(session: Session, account_id: int, event: Event, now: datetime) -> None:
    """Keep the cache honest after an organization.* or user.* event."""
    detail = event.data.get("detail") or {}
    record_id = event.subject_id or _id(detail.get("id"))
    if record_id is None:
        return
    updated_at = parse_time(detail.get("updated_at"))
    if event.type.startswith("organization."):
        _note(session, RoutingOrganization, "organization_id", account_id, record_id, now, updated_at,
              deleted=event.type == "organization.deleted",
              invalidating=event.type in ORGANIZATION_INVALIDATING,
              known={"name": detail["name"]} if detail.get("name") else {})
    elif event.type.startswith("user."):
        known: dict[str, Any] = {}
        if "email" in detail:
            known["email"] = (detail.get("email") or None) and str(detail["email"]).lower()
        if "organization_id" in detail:
            known["organization_id"] = _id(detail.get("organization_id"))
        if detail.get("role"):
            known["role"] = str(detail["role"])
        _note(session, RoutingUser, "user_id", account_id, record_id, now, updated_at,
              deleted=event.type == "user.deleted", invalidating=event.type in USER_INVALIDATING, known=known)


def _note(session: Session, model: Any, key: str, account_id: int, record_id: int, now: datetime,
          updated_at: datetime | None, *, deleted: bool, invalidating: bool, known: dict[str, Any]) -> None:
    row = session.scalar(sa.select(model).where(model.account_id == account_id,
                                                getattr(model, key) == record_id).with_for_update())
    if row is None:
        row = model(account_id=account_id, **{key: record_id}, tags=[], fields={}, complete=False,
                    missing=False, fetched_at=now)
        session.add(row)
    elif updated_at is not None and row.updated_at is not None and updated_at < row.updated_at:
        return  # an older change than what is cached: the cache already has something newer
    for name, value in known.items():
        setattr(row, name, value)
    if deleted:
        row.missing, row.complete, row.tags, row.fields = True, True, [], {}
    elif invalidating:
        row.complete, row.missing = False, False
    if updated_at is not None:
        row.updated_at = updated_at
