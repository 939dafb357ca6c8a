"""Group names in the rules, resolved to helpdesk group ids through a cached copy of the group list.

The list is fetched lazily (the first classification that needs it), again whenever the rules change, and
every ``groups_refresh_seconds``; between fetches a name resolves from the table, without an API call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api import insert_for
from plugins.routing import cache
from plugins.routing.models import RoutingGroup, RoutingSync

STREAM = "groups"


def sync_row(session: Session, account_id: int, stream: str) -> RoutingSync:
    """The sync state of one stream (created on first use, by whichever worker gets there first)."""
    query = sa.select(RoutingSync).where(RoutingSync.account_id == account_id, RoutingSync.stream == stream)
    row = session.scalar(query)
    if row is None:
        # Two workers may create it at once (the first classifications after a start): the second waits for
        # the first and then finds its row, instead of failing its whole batch on the unique key.
        session.execute(insert_for(session, RoutingSync).values(account_id=account_id, stream=stream)
                        .on_conflict_do_nothing())
        row = session.scalars(query.execution_options(populate_existing=True)).one()
    return row


@dataclass(frozen=True)
class GroupIndex:
    """The cached groups of an account, as one decision needs them (read with one query)."""

    known: bool  # the list has been fetched at least once
    ids_by_name: dict[str, int]  # lower-cased name -> id, groups deleted in the helpdesk left out
    default_ids: frozenset[int]  # groups that count as "not routed yet"

    def resolve(self, name: str | None) -> int | None:
        return self.ids_by_name.get(name.lower()) if name else None


def index(session: Session, account_id: int, default_group: str | None) -> GroupIndex:
    """The account's groups; ``default_group`` names the catch-all group (else the helpdesk's default).

    Kept for ``cache.TTL_SECONDS`` once known, so that a burst of tickets reads the group list once.
    """
    loaded = cache.get(f"groups:{default_group or ''}", account_id,
                       lambda: _index(session, account_id, default_group), keep=lambda found: found.known)
    return loaded


def _index(session: Session, account_id: int, default_group: str | None) -> GroupIndex:
    # "Fetched once" is read before the groups: both are committed together, so a list stored between the two
    # reads is then seen whole. Read the other way round, a commit in between gave "known, and no group at all",
    # which the cache kept for its TTL (every ticket meanwhile: "no group named 'Tier 1'"; seen in a spike).
    fetched = known(session, account_id)
    rows = session.execute(sa.select(RoutingGroup.name, RoutingGroup.group_id, RoutingGroup.is_default).where(
        RoutingGroup.account_id == account_id, RoutingGroup.deleted.is_(False))).all()
    by_name = {name.lower(): group_id for name, group_id, _ in rows}
    if default_group:
        defaults = {group_id for name, group_id, _ in rows if name.lower() == default_group.lower()}
    else:
        defaults = {group_id for _, group_id, is_default in rows if is_default}
    return GroupIndex(known=bool(rows) or fetched, ids_by_name=by_name,
                      default_ids=frozenset(defaults))


def known(session: Session, account_id: int) -> bool:
    """True once the group list has been fetched at least once."""
    return session.scalar(sa.select(RoutingSync.synced_at).where(
        RoutingSync.account_id == account_id, RoutingSync.stream == STREAM)) is not None


def by_name(session: Session, account_id: int) -> dict[str, int]:
    """Group ids by lower-cased name (groups deleted in the helpdesk left out)."""
    return index(session, account_id, None).ids_by_name


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
    groups = list(groups)
    seen: set[int] = set()
    query = sa.select(RoutingGroup).where(RoutingGroup.account_id == account_id)
    existing = {row.group_id: row for row in session.scalars(query)}
    new = {int(group["id"]) for group in groups} - set(existing)
    if new:
        # Two workers may store the list at once (the first classifications after a start, which both found it
        # missing): inserted with ON CONFLICT DO NOTHING, the second waits for the first and then updates the
        # same rows, instead of failing its whole batch on the unique key (seen in every spike start-up).
        session.execute(insert_for(session, RoutingGroup).values([
            {"account_id": account_id, "group_id": group_id, "name": str(group_id), "is_default": False,
             "deleted": False, "refreshed_at": now} for group_id in sorted(new)]).on_conflict_do_nothing())
        existing = {row.group_id: row for row in session.scalars(query.execution_options(populate_existing=True))}
    for group in groups:
        group_id = int(group["id"])
        seen.add(group_id)
        row = existing[group_id]
        row.name = str(group.get("name") or group_id)
        row.is_default = bool(group.get("default"))
        row.deleted = bool(group.get("deleted"))
        row.refreshed_at = now
    for group_id, row in existing.items():
        if group_id not in seen:
            row.deleted, row.refreshed_at = True, now
    sync = sync_row(session, account_id, STREAM)
    sync.synced_at, sync.last_error = now, None
    cache.invalidate_prefix("groups:", account_id)
