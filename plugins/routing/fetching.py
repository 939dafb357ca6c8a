"""Fetching what the cache lacks, in as few calls as possible, without holding a transaction meanwhile.

Work handlers and the backfill read the database in a short transaction of their own, call the helpdesk
with no transaction open, and only then write through ``ctx.session``: on SQLite an open write transaction
would block the shared rate budget's bookkeeping (and so the very call it waits for).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.api import Mirror, PluginContext, TicketSnapshot
from plugins.routing import directory, groups
from plugins.routing.rules import NeedsData, RuleSet


@contextmanager
def reader(ctx: PluginContext) -> Iterator[Session]:
    """A short session of its own, for reads before the helpdesk is called."""
    with Session(ctx.session.get_bind(), expire_on_commit=False) as session:
        yield session


@dataclass
class Fetched:
    """Records fetched from the helpdesk, to be stored in the cache (``store``)."""

    groups: list[dict[str, Any]] | None = None
    organizations: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    missing_organizations: set[int] = field(default_factory=set)
    missing_users: set[int] = field(default_factory=set)
    calls: int = 0


def needs_of(session: Session, account_id: int, tickets: list[TicketSnapshot],
             rules: RuleSet) -> tuple[set[int], set[int]]:
    """The organization and user ids the tickets' classification waits for."""
    organization_ids: set[int] = set()
    user_ids: set[int] = set()
    for ticket in tickets:
        needs = rules.classify(directory.facts_for(session, account_id, ticket, rules))
        if isinstance(needs, NeedsData):
            if needs.organization_id is not None:
                organization_ids.add(needs.organization_id)
            if needs.requester_id is not None:
                user_ids.add(needs.requester_id)
    return organization_ids, user_ids


def gather(ctx: PluginContext, tickets: list[TicketSnapshot], rules: RuleSet) -> Fetched:
    """Fetch the groups (if never fetched), organizations and users these tickets need. No writes."""
    fetched = Fetched()
    with reader(ctx) as session:
        need_groups = bool(rules.group_names()) and not groups.known(session, ctx.account.id)
        organization_ids, user_ids = needs_of(session, ctx.account.id, tickets, rules)
    if need_groups:
        fetched.groups = groups.fetch(ctx)
        fetched.calls += 1
    fetched.users, fetched.missing_users = _show_many(ctx, fetched, "users", user_ids)
    if rules.uses("organization"):
        # A ticket without an organization takes its requester's: those may only now be known.
        orphans = {ticket.requester_id for ticket in tickets if ticket.organization_id is None}
        named = {int(user["organization_id"]) for user in fetched.users
                 if user.get("organization_id") and int(user["id"]) in orphans} - organization_ids
        if named:
            with reader(ctx) as session:
                organization_ids |= _uncached_organizations(session, ctx.account.id, named)
    fetched.organizations, fetched.missing_organizations = _show_many(ctx, fetched, "organizations",
                                                                      organization_ids)
    return fetched


def _uncached_organizations(session: Session, account_id: int, ids: set[int]) -> set[int]:
    known = {found.id for found in Mirror(session, account_id).organizations(ids).values() if found.trusted}
    return ids - known


def _show_many(ctx: PluginContext, fetched: Fetched, member: str,
               ids: set[int]) -> tuple[list[dict[str, Any]], set[int]]:
    records: list[dict[str, Any]] = []
    wanted = sorted(ids)
    for start in range(0, len(wanted), directory.SHOW_MANY_MAX):
        chunk = wanted[start:start + directory.SHOW_MANY_MAX]
        answer = ctx.zendesk.call("GET", f"/{member}/show_many.json",
                                  params={"ids": ",".join(map(str, chunk))}, what=f"show many {member}")
        fetched.calls += 1
        records.extend(answer.get(member) or [])
    found = {int(record["id"]) for record in records}
    return records, set(wanted) - found


def store(ctx: PluginContext, fetched: Fetched) -> None:
    """Write what ``gather`` fetched into the cache, in the handler's transaction."""
    now = ctx.now()
    if fetched.groups is not None:
        groups.store(ctx.session, ctx.account.id, fetched.groups, now)
    # Users, then organizations, as every writer of the mirror does: one lock order, no deadlock.
    ctx.mirror.store_users(fetched.users, now)
    ctx.mirror.mark_missing("user", fetched.missing_users, now)
    ctx.mirror.store_organizations(fetched.organizations, now)
    ctx.mirror.mark_missing("organization", fetched.missing_organizations, now)
