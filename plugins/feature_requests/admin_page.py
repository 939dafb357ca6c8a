"""The admin pages ``/admin/feature-requests``: the list by demand, and one request with its actions.

Pages need an admin session (``require_admin_page``); every form carries the session's CSRF token. A form that
cannot be done as asked comes back with what was typed and the reason beside it (4xx), and nothing is saved;
one that worked says so ("Changelog saved.") on the request's page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.api import (
    PluginContext,
    admin_page,
    context_for,
    gettext,
    lazy_gettext,
    ngettext,
    require_admin_page,
    transaction,
)
from plugins.feature_requests import actions, admin_view, merging, records, release
from plugins.feature_requests.handlers import settings_of
from plugins.feature_requests.models import STATUSES
from plugins.feature_requests.records import FeatureRequestError

bp = Blueprint("feature_requests_admin_page", __name__, template_folder="templates",
               url_prefix="/admin/feature-requests")
ACTOR = "admin-page"


def _context(session: Any) -> PluginContext:
    return context_for("feature_requests", g.account, session)


def _render_index(*, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                  status: int = 200) -> Any:
    statuses = [s for s in request.args.getlist("status") if s in STATUSES] or None
    query = (request.args.get("q") or "").strip()[:200] or None
    sort = request.args.get("sort", "demand")
    sort = sort if sort in records.SORTS else "demand"
    with transaction() as session:
        ctx = _context(session)
        page, total = records.list_requests(session, g.account.id, statuses=statuses, query=query, sort=sort,
                                            premium_segments=settings_of(ctx).premium_segments, limit=200)
    return render_template("feature_requests/index.html", requests=page, total=total, statuses=STATUSES,
                           chosen=statuses or [], query=query or "", sort=sort, sorts=admin_view.SORT_LABELS,
                           labels=admin_view.STATUS_LABELS, moment=admin_view.moment, errors=errors or {},
                           values=values or {}), status


@bp.get("")
@require_admin_page
@admin_page(lazy_gettext("Feature requests"))
def index() -> Any:
    """Requests sorted by demand (premium partners first), filtered by status and words."""
    return _render_index()


@bp.post("")
@require_admin_page
def create() -> Any:
    fields = {"title": request.form.get("title") or "", "description": request.form.get("description") or ""}
    if not fields["title"].strip():
        return _render_index(errors={"title": gettext("Give the request a title.")}, values=fields, status=400)
    try:
        with transaction() as session:
            created = actions.create(_context(session), fields, by=ACTOR)
            new_id = created.id
    except FeatureRequestError:
        return _render_index(errors={"title": gettext("The title (at most 200 characters) or the description "
                                                      "cannot be used as typed.")}, values=fields, status=400)
    flash(gettext("Feature request created."), "ok")
    return redirect(url_for(".show", feature_request_id=new_id))


def _render_show(feature_request_id: int, *, errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None, status: int = 200) -> Any:
    with transaction() as session:
        ctx = _context(session)
        try:
            found = records.get(session, g.account.id, feature_request_id)
        except FeatureRequestError:
            page = render_template("feature_requests/missing.html", feature_request_id=feature_request_id)
            return page, 404
        data = actions.detail(ctx, found)
        preview = release.plan_json(found, release.plan(ctx, found)) if request.args.get("preview") else None
        mentioned = admin_view.people_of(data)
        if preview:
            mentioned["users"] |= {person["requester_id"] for person in preview["would_tell"]}
            mentioned["tickets"] |= {t["id"] for person in preview["would_tell"] for t in person["tickets"]}
        names = admin_view.Names(ctx, **mentioned)
        related = {merge["duplicate_id"] for merge in data["merges"]} | {merge["target_id"]
                                                                         for merge in data["merges"]}
        related |= {found.duplicate_of_id} if found.duplicate_of_id else set()
        titles = records.titles(session, g.account.id, related | {found.id})
    return render_template("feature_requests/show.html", fr=data, statuses=STATUSES, preview=preview,
                           names=names, titles=titles, labels=admin_view.STATUS_LABELS, view=admin_view,
                           errors=errors or {}, values=values or {}), status


@bp.get("/<int:feature_request_id>")
@require_admin_page
def show(feature_request_id: int) -> Any:
    """One request: requesters, tickets, history, merges, notices, and the forms that act on it."""
    return _render_show(feature_request_id)


@bp.post("/<int:feature_request_id>/<action>")
@require_admin_page
def act(feature_request_id: int, action: str) -> Any:
    """Status change, release, link, unlink, merge or undo a merge, from the request's page.

    A refusal shows the page again (4xx) with the form as typed and the reason beside it; nothing is saved.
    """
    form = request.form
    target = feature_request_id
    try:
        with transaction() as session:
            ctx = _context(session)
            found = records.get(session, g.account.id, feature_request_id)
            message, target = _do(ctx, found, action, form)
    except FeatureRequestError as error:
        if error.status == 404 and action not in ACTIONS:
            return _render_show(feature_request_id, errors={"page": gettext("This form is out of date; reload "
                                                                            "the page.")}, status=404)
        return _render_show(feature_request_id, errors={action: _plain(error, action)},
                            values={key: value for key, value in form.items() if key != "csrf_token"},
                            status=error.status if 400 <= error.status < 600 else 400)
    flash(message, "ok")
    return redirect(url_for(".show", feature_request_id=target))


ACTIONS = ("status", "release", "edit", "link", "unlink", "merge", "undo")


def _do(ctx: PluginContext, found: Any, action: str, form: Any) -> tuple[str, int]:
    """One action of the request's page, in the caller's transaction: what to tell the admin, and the request
    whose page to show next (a merge goes to the request merged into)."""
    if action == "merge":
        into = records.get(ctx.session, g.account.id, _number(form.get("into"), gettext(
            "The request number must be a whole number, like 12.")))
        merging.merge(ctx.session, found, into, by=ACTOR, now=ctx.now())
        return gettext('Merged into “%(title)s”.', title=into.title), into.id
    return _do_here(ctx, found, action, form), found.id


def _do_here(ctx: PluginContext, found: Any, action: str, form: Any) -> str:
    session = ctx.session
    if action == "status":
        status = form.get("status")
        change = {"status": status, "note": (form.get("note") or "").strip() or None}
        answer = actions.change_status(ctx, found, change, by=ACTOR)
        if "release" in answer:
            return _released(answer["release"])
        return gettext("Status changed to %(status)s.", status=admin_view.status_label(status))
    if action == "release":
        return _released(release.release(ctx, found, by=ACTOR, dry_run=False))
    if action == "edit":
        records.update(found, {k: (form.get(k) or "").strip() or None for k in ("changelog_url", "changelog_text")},
                       now=ctx.now())
        return gettext("Changelog saved.")
    if action == "link":
        ticket_id = _number(form.get("ticket_id"), gettext("The ticket number must be a whole number, "
                                                           "like 12345."))
        exists = admin_view.ticket_exists(ctx, ticket_id)
        if exists is False:
            raise _Refusal(gettext("The helpdesk has no ticket %(ticket)s. Check the number.",
                                              ticket=ticket_id), 422)
        if exists is None:
            raise _Refusal(gettext("Deskmate could not reach the helpdesk to check ticket %(ticket)s; "
                                              "nothing was linked. Try again in a moment.", ticket=ticket_id), 503)
        result = actions.link(ctx, found, {"ticket_id": ticket_id}, via="api", by=ACTOR)
        if not result["created"]:
            return gettext("Ticket %(ticket)s was already linked.", ticket=ticket_id)
        return gettext("Ticket %(ticket)s linked.", ticket=ticket_id)
    if action == "unlink":
        ticket_id = _number(form.get("ticket_id"), gettext("The ticket number must be a whole number."))
        actions.unlink(ctx, found, ticket_id)
        return gettext("Ticket %(ticket)s unlinked.", ticket=ticket_id)
    if action == "undo":
        merging.undo(session, g.account.id, _number(form.get("merge_id"), gettext("This form is out of date; "
                                                                                   "reload the page.")),
                     by=ACTOR, now=ctx.now())
        return gettext("Merge undone.")
    raise FeatureRequestError(f"unknown action {action!r}", 404)


def _released(answer: dict[str, Any]) -> str:
    told = int(answer.get("recorded", 0))
    if not told:
        return gettext("Released. Everyone who asked had already been told.")
    return ngettext("Released: %(num)d requester will be told; see the progress below.",
                    "Released: %(num)d requesters will be told; see the progress below.", told)


def _plain(error: FeatureRequestError, action: str) -> str:
    """The refusal in the admin's words: the checks above speak them already; the records' own (English,
    for the API) are replaced by what to do."""
    if getattr(error, "plain", False):
        return str(error)
    if action == "edit":
        return gettext("The changelog address must start with https:// (or http://), and the texts must fit "
                       "(an address of at most 500 characters).")
    if action == "merge" and error.status == 404:
        return gettext("There is no feature request with that number.")
    if action == "merge":
        return gettext("These two requests cannot be merged: a request cannot be merged into itself, nor into a "
                       "duplicate or declined one.")
    if action in ("status", "release"):
        reason = str(error)
        if "undo the merge first" in reason:
            return gettext("This request is a duplicate: undo its merge first, or release the request it was "
                           "merged into.")
        if "merge the request into" in reason:
            return gettext("To mark this request a duplicate, merge it into the other request (under Merges).")
        if "release message needs" in reason:
            return gettext("The release message quotes the changelog: fill in the changelog first.")
        if "is not released" in reason:
            return gettext("A declined or duplicate request is not released.")
        return gettext("Choose a status.")
    if action == "unlink":
        return gettext("That ticket is not linked to this request.")
    return str(error)


class _Refusal(FeatureRequestError):
    """A refusal already written in the admin's words."""

    plain = True


def _number(value: str | None, message: str) -> int:
    digits = (value or "").strip().lstrip("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:  # isdigit alone also takes "²"
        raise _Refusal(message, 422)
    return int(digits)
