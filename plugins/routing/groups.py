"""Group names in the rules, resolved to helpdesk group ids through a cached copy of the group list.

The list is fetched lazily (the first classification that needs it), again whenever the rules change, and
every ``groups_refresh_seconds``; between fetches a name resolves from the table, without an API call.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from plugins.routing.models import RoutingGroup, RoutingSync

STREAM = "groups"


def sync_row(session: Session, account_id: int, stream: str) -> RoutingSync:
    """The sync state of one stream (created on first use)."""
    row = session.scalar(sa.select(RoutingSync).where(RoutingSync.account_id == account_id,
                                                      RoutingSync.stream == stream))
    if row is None:
        row = RoutingSync(account_id=account_id, stream=stream)
        session.add(row)
        session.flush()
    return row


def known(session: Session, account_id: int) -> bool:
    """True once the group list has been fetched at least once."""
    return session.scalar(sa.select(RoutingSync.synced_at).where(
        RoutingSync.account_id == account_id, RoutingSync.stream == STREAM)) is not None


def by_name(session: Session, account_id: int) -> dict[str, int]:
    """Group ids by lower-cased name (groups deleted in the helpdesk left out)."""
    rows = session.execute(sa.select(RoutingGroup.name, RoutingGroup.group_id).where(
        RoutingGroup.account_id == account_id, RoutingGroup.deleted.is_(False))).all()
    return {name.lower(): group_id for name, group_id in rows}


def name_of(session: Session, account_id: int, group_id: int | None) -> str | None:
    if group_id is None:
        return None
    return session.scalar(sa.select(RoutingGroup.name).where(RoutingGroup.account_id == account_id,
                                                             RoutingGroup.group_id == group_id))


def default_ids(session: Session, account_id: int, default_group: str | None) -> set[int]:
    """The groups that count as "not routed yet": the configured default group, else the helpdesk's."""
    query = sa.select(RoutingGroup.group_id).where(RoutingGroup.account_id == account_id,
                                                   RoutingGroup.deleted.is_(False))
    if default_group:
        query = query.where(sa.func.lower(RoutingGroup.name) == default_group.lower())
    else:
        query = query.where(RoutingGroup.is_default.is_(True))
    return set(session.scalars(query))


def fetch(ctx: Any) -> list[dict[str, Any]]:
    """Every group of the helpdesk (cursor pages of 100). Calls the helpdesk only; writes nothing."""
    found: list[dict[str, Any]] = []
    path: str | None = "/groups.json?page[size]=100"
    while path:
        page = ctx.zendesk.call("GET", path, what="list groups")
        found.extend(page.get("groups") or [])
        path = _next_path(page)
    return found


def refresh(ctx: Any) -> int:
    """Fetch every group and replace the cached list; returns how many (call before using ``ctx.session``)."""
    found = fetch(ctx)
    store(ctx.session, ctx.account.id, found, ctx.now())
    return len(found)


def _next_path(page: dict[str, Any]) -> str | None:
    meta = page.get("meta") or {}
    link = (page.get("links") or {}).get("next") if meta.get("has_more") else None
    link = link or page.get("next_page")
    return link.split("/api/v2", 1)[1] if link and "/api/v2" in link else None


def store(session: Session, account_id: int, groups: Iterable[dict[str, Any]], now: datetime) -> None:
    """Replace the cached group list with ``groups`` (API objects) and mark the stream synced."""
    seen: set[int] = set()
    existing = {row.group_id: row for row in session.scalars(
        sa.select(RoutingGroup).where(RoutingGroup.account_id == account_id))}
    for group in groups:
        group_id = int(group["id"])
        seen.add(group_id)
        row = existing.get(group_id)
        if row is None:
            row = RoutingGroup(account_id=account_id, group_id=group_id)
            session.add(row)
        row.name = str(group.get("name") or group_id)
        row.is_default = bool(group.get("default"))
        row.deleted = bool(group.get("deleted"))
        row.refreshed_at = now
    for group_id, row in existing.items():
        if group_id not in seen:
            row.deleted, row.refreshed_at = True, now
    sync = sync_row(session, account_id, STREAM)
    sync.synced_at, sync.last_error = now, None
