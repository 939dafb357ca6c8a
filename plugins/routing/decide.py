"""Deciding where a ticket goes, storing why, asking the helpdesk to apply it, and telling other plugins.

One ``routing_decisions`` row per ticket holds the newest snapshot of the ticket seen in any event and the
current decision (``version`` counts decisions). A redelivered or replayed event finds the row and changes
nothing; a change of organization or requester re-checks the decision and only a different outcome makes a
new version, applied under its own idempotency key. The group changes only while the ticket is unassigned,
in the default group, or in the group routing itself chose: an agent's manual move is never undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import inspect

from app.api import TICKET_UPDATE, Event, PluginContext, TicketSnapshot, insert_for
from plugins.routing import directory, groups
from plugins.routing.models import RoutingDecision
from plugins.routing.rules import Classification, NeedsData, RuleSet, priority_rank
from plugins.routing.rules_store import load_rules
from plugins.routing.settings import settings_of

CLASSIFY = "routing.classify"
ROUTED_EVENT = "routing.ticket_routed"
# Changes after which the decision is checked again (what the rules look at most: organization, requester).
RECHECK_EVENTS = frozenset({"ticket.organization_changed", "ticket.requester_changed", "ticket.updated"})
WAITING, PENDING, APPLIED, UNCHANGED, FAILED, SKIPPED = (
    "waiting", "pending", "applied", "unchanged", "failed", "skipped")


@dataclass(frozen=True)
class Outcome:
    """What ``route`` did: ``decided`` (a new version), ``same`` (nothing new), ``waiting`` or ``duplicate``."""

    state: str
    decision: RoutingDecision


def rules_for(ctx: PluginContext) -> RuleSet:
    return load_rules(ctx.session, ctx.account.id, settings_of(ctx).rules_file)


def _insert(ctx: PluginContext) -> Any:
    return insert_for(ctx.session, RoutingDecision)


def new_row(ctx: PluginContext, ticket: TicketSnapshot) -> RoutingDecision:
    """A decision row for a ticket never seen, not stored yet: ``route`` stores it once decided."""
    return RoutingDecision(account_id=ctx.account.id, ticket_id=ticket.id, version=0, status=WAITING, tags=[],
                           changes={}, snapshot=ticket.to_dict(), snapshot_updated_at=ticket.updated_at,
                           created_at=ctx.now())


def stored_row(ctx: PluginContext, ticket_id: int) -> RoutingDecision | None:
    """The ticket's decision row, locked for this transaction."""
    return ctx.session.scalar(sa.select(RoutingDecision).where(
        RoutingDecision.account_id == ctx.account.id, RoutingDecision.ticket_id == ticket_id,
    ).with_for_update())


def _store(ctx: PluginContext, row: RoutingDecision) -> bool:
    """Insert a new row (one statement); False when another delivery of the ticket stored one first."""
    if inspect(row).persistent:
        return True
    values = {column.key: getattr(row, column.key) for column in RoutingDecision.__table__.columns
              if column.key != "id"}
    inserted = ctx.session.execute(_insert(ctx).values(**values).on_conflict_do_nothing(
        index_elements=["account_id", "ticket_id"]).returning(RoutingDecision.id)).first()
    return inserted is not None


def _is_newer(ticket: TicketSnapshot, row: RoutingDecision) -> bool:
    if ticket.updated_at is None or row.snapshot_updated_at is None:
        return True
    return ticket.updated_at >= row.snapshot_updated_at


def on_ticket_event(event: Event, ctx: PluginContext) -> None:
    """Route new tickets, re-check changed ones, and keep every routed ticket's snapshot current."""
    ticket = event.ticket
    if ticket is None:
        return
    open_statuses = settings_of(ctx).open_statuses
    # A new ticket is decided and stored with one insert; only a redelivery finds a row already there.
    created = event.type == "ticket.created" and ticket.status in open_statuses
    if created and route(ctx, new_row(ctx, ticket)).state != "duplicate":
        return
    row = stored_row(ctx, ticket.id)
    if row is None:
        if event.type in RECHECK_EVENTS and ticket.status in open_statuses:
            route(ctx, new_row(ctx, ticket))  # a ticket older than Deskmate, changed now: route it too
        return
    if not _is_newer(ticket, row):
        return  # an older state than the one already seen: it must not undo anything
    before = TicketSnapshot.from_dict(row.snapshot)
    row.snapshot, row.snapshot_updated_at = ticket.to_dict(), ticket.updated_at
    if row.status == WAITING or event.type not in RECHECK_EVENTS:
        return  # a waiting ticket is decided on this newer snapshot by its classification
    moved = (before.organization_id, before.requester_id) != (ticket.organization_id, ticket.requester_id)
    if moved and ticket.status in open_statuses:
        route(ctx, row)


def route(ctx: PluginContext, row: RoutingDecision, *, final: bool = False,
          rules: RuleSet | None = None) -> Outcome:
    """Classify the row's ticket and act on the outcome; ``final`` decides even on incomplete data.

    A row not stored yet is inserted here; if another delivery stored the ticket's row first, nothing is
    done and the outcome is ``duplicate``.
    """
    rules = rules or rules_for(ctx)
    ticket = TicketSnapshot.from_dict(row.snapshot)
    facts = directory.facts_for(ctx.session, ctx.account.id, ticket, rules)
    result = rules.classify(facts, final=final)
    group_index = groups.index(ctx.session, ctx.account.id, settings_of(ctx).default_group)
    if isinstance(result, NeedsData) or (rules.group_names() and not group_index.known and not final):
        return _wait(ctx, row)
    assert isinstance(result, Classification)
    return _decide(ctx, row, ticket, result, facts.organization.id if facts.organization else None, group_index)


def _wait(ctx: PluginContext, row: RoutingDecision) -> Outcome:
    row.status = WAITING
    if not _store(ctx, row):
        return Outcome("duplicate", row)
    # One classification per decision version: several events for a waiting ticket share it.
    ctx.enqueue(CLASSIFY, f"routing:classify:{row.ticket_id}:{row.version + 1}", {"ticket_id": row.ticket_id},
                coalesce=True)
    return Outcome("waiting", row)


def _decide(ctx: PluginContext, row: RoutingDecision, ticket: TicketSnapshot, result: Classification,
            organization_id: int | None, group_index: groups.GroupIndex) -> Outcome:
    segment = result.segment
    group_id = group_index.resolve(segment.group)
    tags = sorted(segment.tags)
    same = (row.version > 0 and row.segment == segment.name and row.group_id == group_id
            and row.priority == segment.priority and sorted(row.tags or []) == tags)
    if same:
        if row.status == WAITING:  # a re-check that had to fetch data and found nothing new
            row.status = PENDING if row.apply_key else UNCHANGED
        return Outcome("same", row)
    changes, notes = _changes(row, ticket, segment.priority, tags, group_id, segment.group, group_index)
    if ticket.status not in settings_of(ctx).open_statuses:
        changes, notes = {}, [{"kind": "not_applied", "status": str(ticket.status)}]
    row.version += 1
    row.segment, row.rule, row.reason = segment.name, result.rule, result.reason
    row.reasons = [part.to_dict() for part in result.why]
    row.group_name, row.group_id, row.priority, row.tags = segment.group, group_id, segment.priority, tags
    row.tier = segment.tier
    row.organization_id, row.requester_id = organization_id, ticket.requester_id
    row.changes, row.decided_at, row.last_error = changes, ctx.now(), None
    row.notes, row.note = notes, "; ".join(note_words(note) for note in notes) or None
    if changes:
        row.status, row.applied_at = PENDING, None
        row.apply_key = f"routing:apply:{ticket.id}:{row.version}"
    else:
        row.status = SKIPPED if ticket.status not in settings_of(ctx).open_statuses else UNCHANGED
        row.apply_key, row.applied_at = None, ctx.now()
    if not _store(ctx, row):
        return Outcome("duplicate", row)
    if row.apply_key:
        ctx.enqueue(TICKET_UPDATE, row.apply_key, {"ticket_id": ticket.id, "ticket": changes}, coalesce=True)
    ctx.emit(ROUTED_EVENT, routed_data(row, ticket), key=f"routed:{ticket.id}:{row.version}",
             ticket=ticket.to_dict())
    return Outcome("decided", row)


def _changes(row: RoutingDecision, ticket: TicketSnapshot, priority: str | None, tags: list[str],
             group_id: int | None, group_name: str | None,
             group_index: groups.GroupIndex) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ticket fields to send, and notes (as data, see ``note_words``) on anything deliberately left alone."""
    changes: dict[str, Any] = {}
    notes: list[dict[str, Any]] = []
    if group_name and group_id is None:
        notes.append({"kind": "group_unknown", "group": group_name})
    elif group_id is not None and ticket.group_id != group_id:
        ours = row.group_id if row.version > 0 else None  # routing's own earlier choice is not an agent's
        movable = ticket.assignee_id is None and (
            ticket.group_id is None or ticket.group_id == ours or ticket.group_id in group_index.default_ids)
        if movable:
            changes["group_id"] = group_id
        else:
            notes.append({"kind": "group_kept_assigned"} if ticket.assignee_id is not None
                         else {"kind": "group_kept", "group_id": ticket.group_id})
    if priority and priority_rank(priority) > priority_rank(ticket.priority):
        changes["priority"] = priority  # raised, never lowered: an agent may have made it more urgent
    present = {tag.lower() for tag in ticket.tags}
    added = [tag for tag in tags if tag not in present]
    if added:
        changes["additional_tags"] = added
    stale = [tag for tag in row.tags or [] if tag not in tags and tag in present] if row.version > 0 else []
    if stale:
        changes["remove_tags"] = stale  # only the tags an earlier decision of routing added
    return changes, notes


def note_words(note: dict[str, Any]) -> str:
    """A note in English words, as ``note`` keeps it for the API and logs (pages translate ``notes``)."""
    kind = note.get("kind")
    if kind == "group_unknown":
        return f"no group named {note.get('group')!r} in the helpdesk: group left as it is"
    if kind == "group_kept_assigned":
        return "group left as it is: the ticket is assigned to an agent (an agent's choice is never undone)"
    if kind == "group_kept":
        return (f"group left as it is: the ticket is in group {note.get('group_id')} "
                "(an agent's choice is never undone)")
    return f"not applied: the ticket is {note.get('status')}"


def routed_data(row: RoutingDecision, ticket: TicketSnapshot) -> dict[str, Any]:
    """The ``routing.ticket_routed`` event's data (its shape is documented in the plugin's README)."""
    return {
        "segment": row.segment, "group_id": row.group_id, "group_name": row.group_name,
        "priority": row.changes.get("priority") or ticket.priority or row.priority, "reason": row.reason,
        "rule": row.rule, "organization_id": row.organization_id, "requester_id": row.requester_id,
        "version": row.version, "tier": row.tier, "tags": sorted(row.tags or []),
    }
