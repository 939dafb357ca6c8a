"""The routing plugin's work: batched classification, the directory export, group resolution, and timers.

``routing.classify`` gathers every waiting ticket due together into one batch: the organizations and users
none of them has cached are fetched with ``show_many`` (up to 100 ids a call), then each ticket is decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.api import (
    DONE,
    FAILED,
    BatchHandler,
    ClaimedItem,
    Done,
    HelpdeskError,
    Outcome,
    PluginContext,
    TicketSnapshot,
    Timer,
)
from plugins.routing import decide, fetching, groups
from plugins.routing.models import RoutingDecision, RoutingSync
from plugins.routing.rules import RuleSet
from plugins.routing.rules_store import load_rules
from plugins.routing.settings import settings_of

REFRESH_DIRECTORY = "routing.refresh_directory"
RESOLVE_GROUPS = "routing.resolve_groups"


# --- classification -------------------------------------------------------------------------------------

def classify(items: list[ClaimedItem], ctx: PluginContext) -> Mapping[int, Outcome]:
    """Decide every waiting ticket of the batch, fetching what the cache lacks in as few calls as possible."""
    ticket_ids = {int(item.payload["ticket_id"]) for item in items}
    with fetching.reader(ctx) as session:
        rules = load_rules(session, ctx.account.id, settings_of(ctx).rules_file)
        snapshots = [TicketSnapshot.from_dict(snapshot) for snapshot in session.scalars(
            sa.select(RoutingDecision.snapshot).where(*_classifiable(ctx, ticket_ids)))]
    calls, decided = decide_tickets(ctx, snapshots, rules)
    result = {"tickets": len(snapshots), "decided": decided, "helpdesk_calls": calls}
    return {item.id: Done(result) for item in items}


def _classifiable(ctx: PluginContext, ticket_ids: set[int]) -> list[Any]:
    return [RoutingDecision.account_id == ctx.account.id, RoutingDecision.ticket_id.in_(ticket_ids),
            RoutingDecision.status.in_((decide.WAITING, decide.FAILED))]


def decide_tickets(ctx: PluginContext, snapshots: list[TicketSnapshot], rules: RuleSet) -> tuple[int, int]:
    """Fetch what these waiting tickets lack, store it, then decide each; returns (helpdesk calls, decided).

    The helpdesk is called before ``ctx.session`` is first used, so that no transaction is held meanwhile.
    """
    fetched = fetching.gather(ctx, snapshots, rules)
    fetching.store(ctx, fetched)
    rows = ctx.session.scalars(sa.select(RoutingDecision).where(
        *_classifiable(ctx, {snapshot.id for snapshot in snapshots})).with_for_update())
    decided = sum(decide.route(ctx, row, final=True, rules=rules).state == "decided" for row in rows)
    return fetched.calls, decided


# --- directory export -----------------------------------------------------------------------------------

def refresh_directory(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Read the incremental exports of organizations and users from where the last pass stopped."""
    return export_directory(ctx, settings_of(ctx).directory_pages_per_pass)


def export_directory(ctx: PluginContext, max_pages: int) -> dict[str, int]:
    """Read up to ``max_pages`` of each export and store what changed; returns the records per stream."""
    with fetching.reader(ctx) as session:
        starts = {stream: session.scalar(sa.select(RoutingSync.start_time).where(
            RoutingSync.account_id == ctx.account.id, RoutingSync.stream == stream))
            for stream in ("organizations", "users")}
    exported: dict[str, tuple[list[dict[str, Any]], int | None, str | None]] = {}
    for stream, start in starts.items():
        try:
            exported[stream] = (*_export(ctx, stream, start, max_pages), None)
        except HelpdeskError as error:
            if error.status not in (400, 403, 404, 422):
                raise
            # An account without export access keeps working on show_many and events alone.
            ctx.log.warning("routing: %s export unavailable: %s", stream, error)
            exported[stream] = ([], start, str(error)[:500])
    now = ctx.now()
    result: dict[str, int] = {}
    # Users before organizations, as every writer of the mirror stores them: one lock order, no deadlock.
    for stream, (records, start_time, problem) in sorted(exported.items(), key=lambda item: item[0] != "users"):
        store = ctx.mirror.store_organizations if stream == "organizations" else ctx.mirror.store_users
        result[stream] = store(records, now) if problem is None else -1
        sync = groups.sync_row(ctx.session, ctx.account.id, stream)
        sync.start_time, sync.last_error = start_time, problem
        if problem is None:
            sync.synced_at = now
    return result


def _export(ctx: PluginContext, stream: str, start_time: int | None,
            max_pages: int) -> tuple[list[dict[str, Any]], int]:
    """Pages of one time-based export from ``start_time``; returns the records and where to start next."""
    # The helpdesk refuses a start time less than a minute old.
    newest_allowed = int(ctx.now().timestamp()) - 61
    if start_time is None:
        days = settings_of(ctx).users_export_days if stream == "users" else None
        start_time = 0 if days is None else max(0, newest_allowed - days * 86400)
    records: list[dict[str, Any]] = []
    for _ in range(max_pages):
        start = min(start_time, newest_allowed)
        page = ctx.zendesk.call("GET", f"/incremental/{stream}.json", params={"start_time": start},
                                what=f"{stream} export")
        found = page.get(stream) or []
        records.extend(found)
        end_time = page.get("end_time")
        if isinstance(end_time, int) and end_time >= start:
            start_time = end_time
        if page.get("end_of_stream") or not found:
            break
        if end_time == start:
            # A full page within one second: the time-based export cannot move past it. What it leaves
            # out is fetched on demand (show_many) when a ticket needs it.
            ctx.log.warning("routing: %s export stuck at %s (a full page in one second)", stream, start)
            break
    return records, start_time


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
    # Ids and keys only: during a spike thousands are pending, and their snapshots are not needed here.
    pending = ctx.session.execute(
        sa.select(RoutingDecision.id, RoutingDecision.apply_key)
        .where(RoutingDecision.account_id == ctx.account.id, RoutingDecision.status == decide.PENDING,
               RoutingDecision.apply_key.is_not(None))
        .order_by(RoutingDecision.id)
        .limit(5000)
    ).all()
    states = ctx.work_states([row.apply_key for row in pending])
    changes: list[dict[str, Any]] = []
    for row in pending:
        found = states.get(row.apply_key)
        if found is not None and found.state == DONE:
            changes.append({"id": row.id, "status": decide.APPLIED, "applied_at": found.finished_at})
        elif found is not None and found.state == FAILED:
            changes.append({"id": row.id, "status": decide.FAILED, "last_error": found.last_error})
    for status in (decide.APPLIED, decide.FAILED):  # one executemany per shape of row
        batch = [change for change in changes if change["status"] == status]
        if batch:
            ctx.session.execute(sa.update(RoutingDecision), batch)
    # A classification that failed for good leaves its ticket waiting: say so instead. A failure is looked for
    # within a day of the pass (the pass runs every few seconds wherever a worker runs).
    failed = ctx.failed_work(decide.CLASSIFY, ctx.now() - timedelta(days=1))
    waiting: dict[tuple[int, int], str | None] = {}
    for key, state in failed.items():
        _, _, ticket_id, version = key.split(":")  # routing:classify:<ticket>:<version + 1>
        waiting[(int(ticket_id), int(version) - 1)] = state.last_error
    if not waiting:
        return
    stuck = ctx.session.scalars(sa.select(RoutingDecision).where(
        RoutingDecision.account_id == ctx.account.id, RoutingDecision.status == decide.WAITING,
        RoutingDecision.ticket_id.in_({ticket_id for ticket_id, _ in waiting})))
    for decision in stuck:
        if (decision.ticket_id, decision.version) in waiting:
            decision.status, decision.last_error = decide.FAILED, waiting[(decision.ticket_id, decision.version)]


def timers() -> list[Timer]:
    return [Timer("directory", 30, directory_pass), Timer("applied", 5, applied_pass)]

