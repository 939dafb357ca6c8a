"""The sidebar's feature-request API, ``/sidebar/api/feature-requests...``: search, link, unlink, create.

Every route needs a sidebar session (``app.sidebar.require_sidebar_session``); links and requests made here
are attributed to the session's agent.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from app.api import current_agent, db_session, json_body, json_error, require_sidebar_session
from plugins.feature_requests import actions, links, records
from plugins.feature_requests.api import context
from plugins.feature_requests.records import FeatureRequestError

bp = Blueprint("feature_requests_sidebar", __name__, url_prefix="/sidebar/api/feature-requests")


def _agent() -> str:
    return f"agent:{current_agent().id}"


@bp.errorhandler(FeatureRequestError)
def _refused(error: FeatureRequestError) -> Any:
    """A refused request changes nothing: whatever it wrote before it was refused is rolled back."""
    db_session().rollback()
    return json_error(error.status, str(error))


@bp.get("/search")
@require_sidebar_session
def search() -> Any:
    """Requests matching ``q``: by id, by words, then by similarity."""
    query = request.args.get("q", "")
    if len(query) > 500:
        return json_error(400, "q is longer than 500 characters")
    return {"results": actions.search(context(), query) if query.strip() else []}


@bp.get("/suggestions")
@require_sidebar_session
def suggestions() -> Any:
    """Requests similar to ``text``, leaving out those ``ticket_id`` is already linked to."""
    text = request.args.get("text", "")
    if len(text) > 2000:
        return json_error(400, "text is longer than 2000 characters")
    ctx = context()
    ticket = request.args.get("ticket_id", "")
    linked = [r.id for r in links.requests_of_ticket(ctx.session, ctx.account.id, int(ticket))] \
        if ticket.isdigit() and int(ticket) <= records.MAX_HELPDESK_ID else []
    return {"suggestions": actions.suggestions(ctx, text, exclude=linked)}


@bp.get("/tickets/<int:ticket_id>")
@require_sidebar_session
def ticket_panel(ticket_id: int) -> Any:
    """The requests a ticket is linked to, and suggestions for ``subject``."""
    subject = request.args.get("subject")
    if subject is not None and len(subject) > 2000:
        return json_error(400, "subject is longer than 2000 characters")
    return actions.panel(context(), min(ticket_id, records.MAX_HELPDESK_ID), subject)


@bp.post("/link")
@require_sidebar_session
def link() -> Any:
    """Link ``ticket_id`` (with its ``requester_id`` and ``organization_id``) to ``feature_request_id``."""
    ctx = context()
    body = json_body()
    feature_request_id = actions.int_field(body, "feature_request_id")
    assert feature_request_id is not None
    answer = actions.link(ctx, records.get(ctx.session, ctx.account.id, feature_request_id), body,
                          via="sidebar", by=_agent())
    return answer, (201 if answer["created"] else 200)


@bp.post("/unlink")
@require_sidebar_session
def unlink() -> Any:
    """Unlink ``ticket_id`` from ``feature_request_id``."""
    ctx = context()
    body = json_body()
    feature_request_id = actions.int_field(body, "feature_request_id")
    ticket_id = actions.int_field(body, "ticket_id")
    assert feature_request_id is not None and ticket_id is not None
    return actions.unlink(ctx, records.get(ctx.session, ctx.account.id, feature_request_id), ticket_id)


@bp.post("")
@require_sidebar_session
def create() -> Any:
    """Create a request (``title``, ``description``) and, given ``ticket_id``, link that ticket to it."""
    ctx = context()
    body = json_body()
    ticket_id = actions.int_field(body, "ticket_id", required=False)
    created = actions.create(ctx, {k: body[k] for k in ("title", "description") if k in body}, by=_agent())
    answer: dict[str, Any] = {"feature_request": records.summary_json(created, None)}
    if ticket_id is not None:
        answer["link"] = actions.link(ctx, created, body, via="sidebar", by=_agent())
    return answer, 201
