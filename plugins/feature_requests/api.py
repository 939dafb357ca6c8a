"""The admin JSON API, ``/admin/api/feature-requests...``: every route needs an admin API token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from app.api import (
    NOTICE_STATES,
    PluginContext,
    current_time,
    db_session,
    json_body,
    json_error,
    list_notices,
    request_context,
    require_admin,
    retry_failed_notices,
    summarise_notices,
)
from plugins.feature_requests import actions, merging, records, release
from plugins.feature_requests.handlers import settings_of
from plugins.feature_requests.records import FeatureRequestError, subject_key

bp = Blueprint("feature_requests_api", __name__, url_prefix="/admin/api/feature-requests")
ACTOR = "admin-api"


@bp.errorhandler(FeatureRequestError)
def _refused(error: FeatureRequestError) -> Any:
    """A refused request changes nothing: whatever it wrote before it was refused is rolled back."""
    db_session().rollback()
    return json_error(error.status, str(error))


def context() -> PluginContext:
    """The plugin's context for this request's account and transaction."""
    return request_context("feature_requests")


def _int_arg(name: str, default: int, *, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):  # isdigit alone also takes "²", which int() refuses
        raise FeatureRequestError(f"{name} must be a whole number")
    return max(low, min(high, int(raw)))


def _get(ctx: PluginContext, feature_request_id: int) -> Any:
    return records.get(ctx.session, ctx.account.id, feature_request_id)


@bp.get("")
@require_admin
def list_requests() -> Any:
    """List requests: ``status`` (comma-separated; duplicates hidden unless asked), ``q``, ``sort``, pages."""
    ctx = context()
    statuses = [s for s in (request.args.get("status") or "").split(",") if s] or None
    page, total = records.list_requests(
        ctx.session, ctx.account.id, statuses=statuses, query=request.args.get("q") or None,
        sort=request.args.get("sort", "demand"), premium_segments=settings_of(ctx).premium_segments,
        limit=_int_arg("limit", 50, low=1, high=500), offset=_int_arg("offset", 0, low=0, high=10**9))
    return {"feature_requests": page, "total": total}


@bp.post("")
@require_admin
def create_request() -> Any:
    """Create a request (``title``, ``description``, ``changelog_text``, ``changelog_url``)."""
    ctx = context()
    created = actions.create(ctx, json_body(), by=ACTOR)
    return actions.detail(ctx, created), 201


@bp.get("/<int:feature_request_id>")
@require_admin
def show(feature_request_id: int) -> Any:
    """A request with its requesters, tickets, history, merges and notices."""
    ctx = context()
    return actions.detail(ctx, _get(ctx, feature_request_id))


@bp.patch("/<int:feature_request_id>")
@require_admin
def update(feature_request_id: int) -> Any:
    """Edit the title, description or changelog."""
    ctx = context()
    found = _get(ctx, feature_request_id)
    records.update(found, json_body(), now=ctx.now())
    return actions.detail(ctx, found)


@bp.post("/<int:feature_request_id>/status")
@require_admin
def change_status(feature_request_id: int) -> Any:
    """Change the status (``status``, optional ``note``); ``released`` tells every requester once."""
    ctx = context()
    found = _get(ctx, feature_request_id)
    extra = actions.change_status(ctx, found, json_body(), by=ACTOR)
    return {**actions.detail(ctx, found), **extra}


@bp.post("/<int:feature_request_id>/links")
@require_admin
def link(feature_request_id: int) -> Any:
    """Link a ticket (``ticket_id``, optional ``requester_id``, ``organization_id``)."""
    ctx = context()
    answer = actions.link(ctx, _get(ctx, feature_request_id), json_body(), via="api", by=ACTOR)
    return answer, (201 if answer["created"] else 200)


@bp.delete("/<int:feature_request_id>/links/<int:ticket_id>")
@require_admin
def unlink(feature_request_id: int, ticket_id: int) -> Any:
    """Unlink a ticket."""
    ctx = context()
    return actions.unlink(ctx, _get(ctx, feature_request_id), ticket_id)


@bp.post("/<int:feature_request_id>/merge")
@require_admin
def merge(feature_request_id: int) -> Any:
    """Merge this request (the duplicate) into ``into``: its links and requesters move there."""
    ctx = context()
    duplicate = _get(ctx, feature_request_id)
    target_id = actions.int_field(json_body(), "into")
    assert target_id is not None
    row = merging.merge(ctx.session, duplicate, _get(ctx, target_id), by=ACTOR, now=ctx.now())
    return {"merge": merging.merge_json(row), "target": actions.detail(ctx, _get(ctx, row.target_id))}


@bp.post("/merges/<int:merge_id>/undo")
@require_admin
def undo_merge(merge_id: int) -> Any:
    """Undo a merge while no requester of either request has been told anything."""
    ctx = context()
    row = merging.undo(ctx.session, ctx.account.id, merge_id, by=ACTOR, now=ctx.now())
    return {"merge": merging.merge_json(row), "duplicate": actions.detail(ctx, _get(ctx, row.duplicate_id))}


@bp.post("/<int:feature_request_id>/release")
@require_admin
def release_request(feature_request_id: int) -> Any:
    """Release: ``{"dry_run": true}`` says who would be told and how; otherwise tells each requester once."""
    ctx = context()
    body = json_body() if request.get_data() else {}
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        return json_error(400, "dry_run must be true or false")
    return release.release(ctx, _get(ctx, feature_request_id), by=ACTOR, dry_run=dry_run)


@bp.get("/<int:feature_request_id>/notices")
@require_admin
def request_notices(feature_request_id: int) -> Any:
    """The release notices of a request, each with its delivery state (``state`` filters)."""
    ctx = context()
    _get(ctx, feature_request_id)
    state = request.args.get("state")
    if state is not None and state not in NOTICE_STATES:
        return json_error(400, f"state must be one of {', '.join(NOTICE_STATES)}")
    subjects = [subject_key(feature_request_id)]
    return {"notices": list_notices(ctx.session, ctx.account.id, subject_keys=subjects, state=state,
                                    limit=_int_arg("limit", 1000, low=1, high=10000)),
            "summary": summarise_notices(ctx.session, ctx.account.id, subject_keys=subjects)}


@bp.post("/<int:feature_request_id>/notices/retry")
@require_admin
def retry_notices(feature_request_id: int) -> Any:
    """Give the request's failed notices a fresh set of attempts."""
    ctx = context()
    _get(ctx, feature_request_id)
    subjects = [subject_key(feature_request_id)]
    count = retry_failed_notices(ctx.session, ctx.account.id, subject_keys=subjects,
                                         now=current_time())
    return {"retried": count}


@bp.get("/suggestions")
@require_admin
def suggest() -> Any:
    """Requests similar to ``text`` (what the agent is typing), best first."""
    text = request.args.get("text", "")
    if len(text) > 2000:
        return json_error(400, "text is longer than 2000 characters")
    return {"suggestions": actions.suggestions(context(), text)}
