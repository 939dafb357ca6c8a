"""The admin page ``/admin/routing``: the rules in force (edited as YAML) and the latest decisions.

An admin session (``require_admin_page``) with CSRF on the form. Saving goes through the same validation as
``PUT /admin/api/routing/rules``: refused rules are shown back with every problem and its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.api import admin_page, context_for, current_account, require_admin_page, transaction
from plugins.routing import groups
from plugins.routing.jobs import RESOLVE_GROUPS
from plugins.routing.models import RoutingDecision
from plugins.routing.rules_source import RuleProblem, RulesError
from plugins.routing.rules_store import file_format, load_rules, save_rules, stored
from plugins.routing.settings import settings_of

bp = Blueprint("routing_admin_page", __name__, template_folder="templates")


@bp.route("/admin/routing", methods=["GET", "POST"])
@require_admin_page
@admin_page("Routing")
def routing_page() -> Any:
    """The rules and recent decisions (admin session and CSRF, by ``require_admin_page``)."""
    account = current_account()
    problems: list[Any] = []
    submitted = None
    if request.method == "POST":
        submitted = request.form.get("rules", "")
        try:
            if not submitted.strip():
                raise RulesError([RuleProblem("(top)", "the rules are empty")])
            with transaction() as session:  # committed only when the rules are valid
                ctx = context_for("routing", account, session)
                _, version = save_rules(session, account.id, submitted, "yaml", now=ctx.now(),
                                        updated_by="admin page")
                ctx.enqueue(RESOLVE_GROUPS, f"routing:groups:rules:v{version}", {})
        except RulesError as exc:
            problems = exc.problems
        else:
            flash(f"Saved the rules (version {version}); they apply to tickets routed from now on.", "ok")
            return redirect(url_for("routing_admin_page.routing_page"))
    with transaction() as session:
        ctx = context_for("routing", account, session)
        row = stored(session, account.id)
        rules = load_rules(session, account.id, settings_of(ctx).rules_file)
        if row is not None:
            text, source = row.text, f"saved through Deskmate (version {row.version}, {row.format})"
        else:
            path = settings_of(ctx).rules_file
            text, source = Path(path).read_text(encoding="utf-8"), f"the rules file {path} ({file_format(path)})"
        resolved = groups.by_name(session, account.id)
        segments = [(segment, resolved.get(segment.group.lower()) if segment.group else None)
                    for segment in rules.segments.values()]
        decisions = list(session.scalars(sa.select(RoutingDecision).where(
            RoutingDecision.account_id == account.id).order_by(RoutingDecision.id.desc()).limit(50)))
    return render_template("routing/admin.html", text=submitted if submitted is not None else text,
                           source=source, segments=segments, rules=rules, decisions=decisions,
                           problems=problems), (422 if problems else 200)
