"""The routing admin API: the rules (read and replace) and the decisions, under ``/admin/api/routing``.

Every route requires an admin API token (``app.web.require_admin``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, request

from app.api import current_account, db_session, json_error, request_context, require_admin
from plugins.routing import decide, groups
from plugins.routing.jobs import RESOLVE_GROUPS
from plugins.routing.models import RoutingDecision
from plugins.routing.rules_source import RulesError
from plugins.routing.rules_store import file_format, load_rules, save_rules, stored
from plugins.routing.settings import settings_of

bp = Blueprint("routing_admin", __name__, url_prefix="/admin/api/routing")
STATUSES = (decide.WAITING, decide.PENDING, decide.APPLIED, decide.UNCHANGED, decide.FAILED, decide.SKIPPED)
TEXT_TYPES = {"application/yaml": "yaml", "application/x-yaml": "yaml", "text/yaml": "yaml",
              "text/x-yaml": "yaml", "application/toml": "toml", "text/toml": "toml"}


def _context() -> Any:
    return request_context("routing")


def decision_json(row: RoutingDecision) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "ticket_id": row.ticket_id, "version": row.version, "status": row.status, "segment": row.segment,
        "tier": row.tier, "rule": row.rule, "reason": row.reason, "reasons": row.reasons or [],
        "group": row.group_name, "group_id": row.group_id, "priority": row.priority, "tags": row.tags,
        "changes": row.changes, "note": row.note, "notes": row.notes or [],
        "organization_id": row.organization_id, "requester_id": row.requester_id,
        "last_error": row.last_error, "created_at": iso(row.created_at), "decided_at": iso(row.decided_at),
        "applied_at": iso(row.applied_at),
    }


@bp.get("/rules")
@require_admin
def get_rules() -> Any:
    """The account's rules: their source, text, parsed form, and the group each segment resolves to."""
    ctx = _context()
    row = stored(ctx.session, ctx.account.id)
    try:
        rules = load_rules(ctx.session, ctx.account.id, settings_of(ctx).rules_file)
    except RulesError as exc:
        return json_error(500, f"the stored rules cannot be read: {exc}")
    if row is not None:
        text, fmt = row.text, row.format
    else:
        path = settings_of(ctx).rules_file
        try:
            text, fmt = Path(path).read_text(encoding="utf-8"), file_format(path)
        except OSError as exc:
            return json_error(500, f"the rules file {path} cannot be read: {exc.strerror}")
    resolved = groups.by_name(ctx.session, ctx.account.id)
    known = groups.known(ctx.session, ctx.account.id)
    return {
        "source": "admin_api" if row is not None else "file",
        "file": None if row is not None else settings_of(ctx).rules_file,
        "version": row.version if row is not None else None,
        "updated_at": row.updated_at.isoformat() if row is not None else None,
        "updated_by": row.updated_by if row is not None else None,
        "format": fmt, "text": text, "rules": rules.to_dict(),
        "groups": {name: resolved.get(name.lower()) if known else None
                   for name in sorted(rules.group_names())},
        "groups_resolved": known,
    }


@bp.put("/rules")
@require_admin
def put_rules() -> Any:
    """Replace the account's rules. Bodies: YAML or TOML text (by Content-Type), ``{"yaml": "..."}``,
    ``{"toml": "..."}``, or the rule set itself as JSON. Invalid rules are refused (422) with every problem
    and its line (text) or index path (JSON)."""
    mimetype = request.mimetype or ""
    if mimetype in TEXT_TYPES:
        text, fmt = request.get_data(as_text=True), TEXT_TYPES[mimetype]
    elif request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return json_error(400, "the body must be a JSON object: the rule set, or {\"yaml\": \"...\"}")
        embedded = [key for key in ("yaml", "toml") if key in body]
        if embedded:
            if len(body) != 1 or not isinstance(body[embedded[0]], str):
                return json_error(400, f"give only {embedded[0]!r}, holding the rules as text")
            text, fmt = body[embedded[0]], embedded[0]
        else:
            text, fmt = json.dumps(body, indent=2), "json"
    else:
        return json_error(415, "send the rules as application/yaml, application/toml or application/json")
    if not text.strip():
        return json_error(400, "the rules are empty")
    ctx = _context()
    try:
        rules, version = save_rules(ctx.session, ctx.account.id, text, fmt, now=ctx.now(),
                                    updated_by=request.headers.get("X-Deskmate-User") or "admin api")
    except RulesError as exc:
        first = exc.problems[0]
        return json_error(422, f"the rules were refused: {first}",
                          problems=[problem.to_dict() for problem in exc.problems])
    # New group names must resolve before the next decision needs them.
    ctx.enqueue(RESOLVE_GROUPS, f"routing:groups:rules:v{version}", {})
    return {"version": version, "format": fmt, "rules": rules.to_dict()}


@bp.get("/decisions")
@require_admin
def list_decisions() -> Any:
    """Recent decisions, newest first; filters ``segment`` and ``status``; pages by ``limit``, ``before``."""
    query = sa.select(RoutingDecision).where(RoutingDecision.account_id == current_account().id)
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        return json_error(400, f"status must be one of {', '.join(STATUSES)}")
    if status:
        query = query.where(RoutingDecision.status == status)
    if request.args.get("segment"):
        query = query.where(RoutingDecision.segment == request.args["segment"])
    try:
        limit = int(request.args.get("limit", 100))
        before = int(request.args["before"]) if "before" in request.args else None
    except ValueError:
        return json_error(400, "limit and before must be whole numbers")
    if not 1 <= limit <= 500:
        return json_error(400, "limit must be between 1 and 500", field="limit")
    if before is not None and not 0 < before < 2**63:  # decision ids are BIGINTs: past that, nothing to page
        return json_error(400, "before must be a decision id (a whole number of at most 64 bits)", field="before")
    # Decision ids are INTEGERs: a larger ``before`` means "from the newest", and must not reach PostgreSQL,
    # which refuses it as out of range.
    if before is not None and before < 2**31:
        query = query.where(RoutingDecision.id < before)
    rows = db_session().scalars(query.order_by(RoutingDecision.id.desc()).limit(limit)).all()
    counts: dict[str, int] = dict(db_session().execute(  # type: ignore[arg-type]
        sa.select(RoutingDecision.status, sa.func.count()).where(
            RoutingDecision.account_id == current_account().id).group_by(RoutingDecision.status)).all())
    return {"decisions": [decision_json(row) for row in rows], "counts": counts,
            "next_before": rows[-1].id if len(rows) == limit else None}


@bp.get("/decisions/<int:ticket_id>")
@require_admin
def get_decision(ticket_id: int) -> Any:
    """One ticket's decision."""
    row = db_session().scalar(sa.select(RoutingDecision).where(
        RoutingDecision.account_id == current_account().id, RoutingDecision.ticket_id == ticket_id))
    if row is None:
        return json_error(404, f"ticket {ticket_id} has not been routed")
    return decision_json(row)
