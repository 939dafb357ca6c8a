"""The admin pages ``/admin/feature-requests``: the list by demand, and one request with its actions.

Pages need an admin session (``require_admin_page``); every form carries the session's CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.api import PluginContext, admin_page, context_for, require_admin_page, transaction
from plugins.feature_requests import actions, merging, records, release
from plugins.feature_requests.handlers import settings_of
from plugins.feature_requests.models import STATUSES
from plugins.feature_requests.records import FeatureRequestError

bp = Blueprint("feature_requests_admin_page", __name__, template_folder="templates",
               url_prefix="/admin/feature-requests")
ACTOR = "admin-page"


def _context(session: Any) -> PluginContext:
    return context_for("feature_requests", g.account, session)


@bp.get("")
@require_admin_page
@admin_page("Feature requests")
def index() -> Any:
    """Requests sorted by demand (premium partners first), filtered by status and words."""
    statuses = [s for s in request.args.getlist("status") if s in STATUSES] or None
    query = (request.args.get("q") or "").strip()[:200] or None
    sort = request.args.get("sort", "demand")
    sort = sort if sort in records.SORTS else "demand"
    with transaction() as session:
        ctx = _context(session)
        page, total = records.list_requests(session, g.account.id, statuses=statuses, query=query, sort=sort,
                                            premium_segments=settings_of(ctx).premium_segments, limit=200)
    return render_template("feature_requests/index.html", requests=page, total=total, statuses=STATUSES,
                           chosen=statuses or [], query=query or "", sort=sort, sorts=records.SORTS)


@bp.post("")
@require_admin_page
def create() -> Any:
    try:
        with transaction() as session:
            fields = {"title": request.form.get("title"), "description": request.form.get("description")}
            created = actions.create(_context(session), fields, by=ACTOR)
            new_id = created.id
    except FeatureRequestError as error:
        flash(str(error), "error")
        return redirect(url_for(".index"))
    return redirect(url_for(".show", feature_request_id=new_id))


@bp.get("/<int:feature_request_id>")
@require_admin_page
def show(feature_request_id: int) -> Any:
    """One request: requesters, tickets, history, merges, notices, and the forms that act on it."""
    with transaction() as session:
        ctx = _context(session)
        try:
            found = records.get(session, g.account.id, feature_request_id)
        except FeatureRequestError:
            page = render_template("feature_requests/missing.html", feature_request_id=feature_request_id)
            return page, 404
        data = actions.detail(ctx, found)
        preview = release.plan_json(found, release.plan(ctx, found)) if request.args.get("preview") else None
    return render_template("feature_requests/show.html", fr=data, statuses=STATUSES, preview=preview)


@bp.post("/<int:feature_request_id>/<action>")
@require_admin_page
def act(feature_request_id: int, action: str) -> Any:
    """Status change, release, link, unlink, merge or undo a merge, from the request's page."""
    form = request.form
    target = feature_request_id
    try:
        with transaction() as session:
            ctx = _context(session)
            found = records.get(session, g.account.id, feature_request_id)
            if action == "status":
                change = {"status": form.get("status"), "note": form.get("note") or None}
                actions.change_status(ctx, found, change, by=ACTOR)
            elif action == "release":
                answer = release.release(ctx, found, by=ACTOR, dry_run=False)
                flash(f"{answer['recorded']} requester(s) will be told; see the progress below.", "info")
            elif action == "edit":
                records.update(found, {k: form.get(k) or None for k in ("changelog_url", "changelog_text")},
                               now=ctx.now())
            elif action == "link":
                ticket = {"ticket_id": _number(form.get("ticket_id"), "ticket id")}
                actions.link(ctx, found, ticket, via="api", by=ACTOR)
            elif action == "unlink":
                actions.unlink(ctx, found, _number(form.get("ticket_id"), "ticket id"))
            elif action == "merge":
                into = records.get(session, g.account.id, _number(form.get("into"), "target request"))
                target = merging.merge(session, found, into, by=ACTOR, now=ctx.now()).target_id
            elif action == "undo":
                merging.undo(session, g.account.id, _number(form.get("merge_id"), "merge"), by=ACTOR,
                             now=ctx.now())
            else:
                raise FeatureRequestError(f"unknown action {action!r}", 404)
    except FeatureRequestError as error:
        flash(str(error), "error")
    return redirect(url_for(".show", feature_request_id=target))


def _number(value: str | None, name: str) -> int:
    digits = (value or "").strip().lstrip("#")
    if not (digits.isascii() and digits.isdigit()):  # isdigit alone also takes "²", which int() refuses
        raise FeatureRequestError(f"the {name} must be a number")
    return int(digits)
