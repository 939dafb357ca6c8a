"""The admin page ``/admin/routing``: the rules in force (edited as YAML) and the latest decisions.

An admin session (``require_admin_page``) with CSRF on the form. Saving goes through the same validation as
``PUT /admin/api/routing/rules``: refused rules are shown back with every problem and its line. Decisions show
the requester and organization by name (from the helpdesk mirror), why in the reader's language, and when in
the reader's time zone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.api import (
    admin_page,
    context_for,
    current_account,
    gettext,
    lazy_gettext,
    require_admin_page,
    transaction,
)
from plugins.routing import groups, texts
from plugins.routing.jobs import RESOLVE_GROUPS
from plugins.routing.models import RoutingDecision, RoutingGroup
from plugins.routing.rules_source import N_, RulesError, problem_of
from plugins.routing.rules_store import load_rules, save_rules, stored
from plugins.routing.settings import DEFAULT_RULES_FILE, settings_of

bp = Blueprint("routing_admin_page", __name__, template_folder="templates")


@bp.route("/admin/routing", methods=["GET", "POST"])
@require_admin_page
@admin_page(lazy_gettext("Routing"))
def routing_page() -> Any:
    """The rules and recent decisions (admin session and CSRF, by ``require_admin_page``)."""
    account = current_account()
    problems: list[Any] = []
    submitted = None
    if request.method == "POST":
        submitted = request.form.get("rules", "")
        try:
            if not submitted.strip():
                raise RulesError([problem_of("(top)", N_("the rules are empty"))])
            with transaction() as session:  # committed only when the rules are valid
                ctx = context_for("routing", account, session)
                _, version = save_rules(session, account.id, submitted, "yaml", now=ctx.now(),
                                        updated_by="admin page")
                ctx.enqueue(RESOLVE_GROUPS, f"routing:groups:rules:v{version}", {})
        except RulesError as exc:
            problems = exc.problems
        else:
            flash(gettext("Saved the rules (version %(version)s): they apply to tickets routed from now on.",
                          version=version), "ok")
            return redirect(url_for("routing_admin_page.routing_page"))
    with transaction() as session:
        ctx = context_for("routing", account, session)
        row = stored(session, account.id)
        rules_file = settings_of(ctx).rules_file
        rules = load_rules(session, account.id, rules_file)
        if row is not None:
            text, source = row.text, {"kind": "saved", "version": row.version, "updated_at": row.updated_at}
        else:
            text = Path(rules_file).read_text(encoding="utf-8")
            # The server's file path means nothing to a support lead (and is not theirs to know).
            source = {"kind": "default" if Path(rules_file) == Path(DEFAULT_RULES_FILE) else "file"}
        resolved = groups.by_name(session, account.id)
        segments = [(segment, resolved.get(segment.group.lower()) if segment.group else None)
                    for segment in rules.segments.values()]
        decisions = list(session.scalars(sa.select(RoutingDecision).where(
            RoutingDecision.account_id == account.id).order_by(RoutingDecision.id.desc()).limit(50)))
        users = ctx.mirror.users({d.requester_id for d in decisions if d.requester_id})
        organizations = ctx.mirror.organizations({d.organization_id for d in decisions if d.organization_id})
        tickets = ctx.mirror.tickets({d.ticket_id for d in decisions})
        org_names = {key: value.name for key, value in organizations.items() if value.name}
        group_names = {group_id: name for name, group_id in _group_names(session, account.id).items()}
        shown = [{
            "ticket_id": d.ticket_id,
            "subject": tickets[d.ticket_id].subject if d.ticket_id in tickets else None,
            "requester": _name(users.get(d.requester_id) if d.requester_id else None),
            "organization": org_names.get(d.organization_id, "") if d.organization_id else "",
            "segment": texts.segment_label(d.segment),
            "why": texts.why_words(d.reasons or [], d.reason, org_names),
            "group": d.group_name or "", "note": texts.note_words(d.notes or [], d.note, group_names),
            "status": d.status,
            "status_label": texts.status_label(d.status), "decided_at": d.decided_at,
        } for d in decisions]
    said = [texts.problem_words(problem) for problem in problems]
    return render_template("routing/admin.html", text=submitted if submitted is not None else text,
                           source=source, segments=segments, rules=rules, decisions=shown,
                           problems=said, texts=texts), (422 if problems else 200)


def _name(user: Any) -> str:
    if user is None:
        return ""
    return str(user.name or user.email or "")



def _group_names(session: Any, account_id: int) -> dict[str, int]:
    """The helpdesk's groups by their names as the helpdesk spells them (``groups.by_name`` lower-cases)."""
    rows = session.execute(sa.select(RoutingGroup.name, RoutingGroup.group_id)
                           .where(RoutingGroup.account_id == account_id))
    return {name: group_id for name, group_id in rows}
