"""The routing plugin's work: batched classification, the directory export, group resolution, and timers.

``routing.classify`` gathers every waiting ticket due together into one batch: the organizations and users
none of them has cached are fetched with ``show_many`` (up to 100 ids a call), then each ticket is decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from app.events import TicketSnapshot
from app.models import WorkItem
from app.plugins import PluginContext, Timer
from app.workqueue import DONE, FAILED, BatchHandler, ClaimedItem, Done, Outcome
from app.zendesk import HelpdeskError
from plugins.routing import decide, directory, groups
from plugins.routing.models import RoutingDecision, RoutingOrganization, RoutingUser
from plugins.routing.rules import NeedsData, RuleSet
from plugins.routing.settings import settings_of

REFRESH_DIRECTORY = "routing.refresh_directory"
RESOLVE_GROUPS = "routing.resolve_groups"


# --- classification -------------------------------------------------------------------------------------

def classify(items: list[ClaimedItem], ctx: PluginContext) -> Mapping[int, Outcome]:
    """Decide every waiting ticket of the batch, fetching what the cache lacks in as few calls as possible."""
    ticket_ids = {int(item.payload["ticket_id"]) for item in items}
    rows = list(ctx.session.scalars(sa.select(RoutingDecision).where(
        RoutingDecision.account_id == ctx.account.id, RoutingDecision.ticket_id.in_(ticket_ids),
        RoutingDecision.status.in_((decide.WAITING, decide.FAILED))).with_for_update()))
    rules = decide.rules_for(ctx)
    if rows and rules.group_names() and not groups.known(ctx.session, ctx.account.id):
        groups.refresh(ctx)
    calls, decided = decide_rows(ctx, rows, rules)
    result = {"tickets": len(rows), "decided": decided, "helpdesk_calls": calls}
    return {item.id: Done(result) for item in items}


def decide_rows(ctx: PluginContext, rows: list[RoutingDecision], rules: RuleSet) -> tuple[int, int]:
    """Fetch what the rows' classification lacks, then decide each; returns (helpdesk calls, decided)."""
    calls = 0
    # Two rounds at most: a requester fetched in the first may name the organization to fetch in the second.
    for _ in range(2):
        organization_ids, user_ids = set(), set()
        for row in rows:
            ticket = TicketSnapshot.from_dict(row.snapshot)
            needs = rules.classify(directory.facts_for(ctx.session, ctx.account.id, ticket, rules))
            if isinstance(needs, NeedsData):
                if needs.organization_id is not None:
                    organization_ids.add(needs.organization_id)
                if needs.requester_id is not None:
                    user_ids.add(needs.requester_id)
        if not organization_ids and not user_ids:
            break
        calls += fetch(ctx, organization_ids, user_ids)
    decided = 0
    for row in rows:
        decided += decide.route(ctx, row, final=True, rules=rules).state == "decided"
    return calls, decided


def fetch(ctx: PluginContext, organization_ids: set[int], user_ids: set[int]) -> int:
    """Fetch organizations and users with ``show_many`` (100 ids a call) into the cache; returns the calls."""
    calls = 0
    now = ctx.now()
    for model, key, ids, path, member, upsert in (
        (RoutingUser, "user_id", sorted(user_ids), "/users/show_many.json", "users", directory.upsert_users),
        (RoutingOrganization, "organization_id", sorted(organization_ids), "/organizations/show_many.json",
         "organizations", directory.upsert_organizations),
    ):
        for start in range(0, len(ids), directory.SHOW_MANY_MAX):
            chunk = ids[start:start + directory.SHOW_MANY_MAX]
            answer = ctx.zendesk.call("GET", path, params={"ids": ",".join(map(str, chunk))},
                                      what=f"show many {member}")
            calls += 1
            records = answer.get(member) or []
            upsert(ctx.session, ctx.account.id, records, now)
            found = {int(record["id"]) for record in records}
            directory.mark_missing(ctx.session, ctx.account.id, model, key, set(chunk) - found, now)
    return calls


# --- directory export -----------------------------------------------------------------------------------

def refresh_directory(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Read the incremental exports of organizations and users from where the last pass stopped."""
    result = {}
    for stream in ("organizations", "users"):
        try:
            result[stream] = _export(ctx, stream)
        except HelpdeskError as error:
            if error.status not in (400, 403, 404, 422):
                raise
            # An account without export access keeps working on show_many and events alone.
            sync = groups.sync_row(ctx.session, ctx.account.id, stream)
            sync.last_error = str(error)[:500]
            ctx.log.warning("routing: %s export unavailable: %s", stream, error)
            result[stream] = -1
    return result


def _export(ctx: PluginContext, stream: str) -> int:
    sync = groups.sync_row(ctx.session, ctx.account.id, stream)
    now = ctx.now()
    # The helpdesk refuses a start time less than a minute old.
    newest_allowed = int(now.timestamp()) - 61
    if sync.start_time is None:
        days = settings_of(ctx).users_export_days if stream == "users" else None
        sync.start_time = 0 if days is None else max(0, newest_allowed - days * 86400)
    upsert = directory.upsert_organizations if stream == "organizations" else directory.upsert_users
    count = 0
    for _ in range(settings_of(ctx).directory_pages_per_pass):
        start = min(sync.start_time or 0, newest_allowed)
        page = ctx.zendesk.call("GET", f"/incremental/{stream}.json", params={"start_time": start},
                                what=f"{stream} export")
        records = page.get(stream) or []
        count += upsert(ctx.session, ctx.account.id, records, now)
        end_time = page.get("end_time")
        if isinstance(end_time, int) and end_time >= start:
            sync.start_time = end_time
        if page.get("end_of_stream") or not records:
            break
    sync.synced_at, sync.last_error = now, None
    return count


def resolve_groups(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Fetch the helpdesk's groups so that segment group names resolve to ids."""
    return {"groups": groups.refresh(ctx)}


def handlers() -> dict[str, Any]:
    return {
        decide.CLASSIFY: BatchHandler(classify, max_batch=100),
        REFRESH_DIRECTORY: refresh_directory,
        RESOLVE_GROUPS: resolve_groups,
    }


# --- timers ---------------------------------------------------------------------------------------------

def directory_pass(ctx: PluginContext) -> None:
    """Ask for an export pass once per ``directory_refresh_seconds`` (its key makes a second run harmless)."""
    every = settings_of(ctx).directory_refresh_seconds
    slot = int(ctx.now().timestamp()) // every
    ctx.enqueue(REFRESH_DIRECTORY, f"routing:directory:{slot}", {})
    refresh_every = settings_of(ctx).groups_refresh_seconds
    ctx.enqueue(RESOLVE_GROUPS, f"routing:groups:{int(ctx.now().timestamp()) // refresh_every}", {})


def applied_pass(ctx: PluginContext) -> None:
    """Mark pending decisions applied (or failed) once the core performed (or gave up on) their update."""
    rows = ctx.session.execute(
        sa.select(RoutingDecision, WorkItem.state, WorkItem.finished_at, WorkItem.last_error)
        .join(WorkItem, sa.and_(WorkItem.account_id == RoutingDecision.account_id,
                                WorkItem.idempotency_key == RoutingDecision.apply_key))
        .where(RoutingDecision.account_id == ctx.account.id, RoutingDecision.status == decide.PENDING,
               WorkItem.state.in_((DONE, FAILED)))
        .limit(5000)
    ).all()
    for row, state, finished_at, error in rows:
        if state == DONE:
            row.status, row.applied_at = decide.APPLIED, finished_at
        else:
            row.status, row.last_error = decide.FAILED, error
    # A classification that failed for good leaves its ticket waiting: say so instead.
    stuck = ctx.session.execute(
        sa.select(RoutingDecision, WorkItem.last_error)
        .join(WorkItem, sa.and_(
            WorkItem.account_id == RoutingDecision.account_id,
            WorkItem.idempotency_key == sa.literal("routing:classify:")
            + sa.cast(RoutingDecision.ticket_id, sa.String) + ":"
            + sa.cast(RoutingDecision.version + 1, sa.String)))
        .where(RoutingDecision.account_id == ctx.account.id, RoutingDecision.status == decide.WAITING,
               WorkItem.state == FAILED)
        .limit(1000)
    ).all()
    for row, error in stuck:
        row.status, row.last_error = decide.FAILED, error


def timers() -> list[Timer]:
    return [Timer("directory", 30, directory_pass), Timer("applied", 5, applied_pass)]

