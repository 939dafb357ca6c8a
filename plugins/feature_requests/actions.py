"""What the admin API, the sidebar API, the admin page and the CLI share: each action once, JSON out.

Every function takes the plugin's context (its session is the request's or the command's transaction) and
raises ``FeatureRequestError`` with an HTTP status for anything the caller asked wrongly.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.api import PluginContext, summarise_notices
from plugins.feature_requests import links, merging, records, release
from plugins.feature_requests.handlers import settings_of
from plugins.feature_requests.models import FeatureRequest, Link
from plugins.feature_requests.records import FeatureRequestError, subject_key
from plugins.feature_requests.similarity import Document, rank

SIDEBAR_API = "/sidebar/api/feature-requests"


def int_field(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    """An id from a JSON body: a positive integer (not a boolean, not a string)."""
    value = body.get(name)
    if value is None:
        if required:
            raise FeatureRequestError(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= records.MAX_HELPDESK_ID:
        raise FeatureRequestError(f"{name} must be a positive integer")
    return value


def detail(ctx: PluginContext, request: FeatureRequest) -> dict[str, Any]:
    """Everything about a request: demand, requesters with their tickets, links, history, merges, notices."""
    session, account_id = ctx.session, ctx.account.id
    settings = settings_of(ctx)
    counts = records.demand(session, account_id, [request.id], settings.premium_segments).get(request.id)
    requesters, unknown = links.requesters_of(session, account_id, request, settings.premium_segments)
    linked = links.links_of(session, account_id, [request.id])
    statuses = links.ticket_statuses(session, account_id, [link.ticket_id for link in linked])
    return {
        **records.summary_json(request, counts),
        "description": request.description, "changelog_text": request.changelog_text,
        "tag": links.tag_for(settings.tag_prefix, request.id),
        "requester_list": [person.to_json(statuses) for person in requesters],
        "links": [link_json(link, statuses.get(link.ticket_id)) for link in linked],
        "unknown_requester_tickets": [link.ticket_id for link in unknown],
        "history": records.history(session, request),
        "merged_in": merging.merged_into(session, account_id, request.id),
        "merges": [merging.merge_json(row) for row in merging.merges_of(session, account_id, request.id)],
        "notices": summarise_notices(session, account_id, subject_keys=[subject_key(request.id)]),
    }


def link_json(link: Link, status: str | None = None) -> dict[str, Any]:
    return {"ticket_id": link.ticket_id, "requester_id": link.requester_id,
            "organization_id": link.organization_id, "segment": link.segment, "linked_via": link.linked_via,
            "linked_by": link.linked_by, "merged_from_id": link.merged_from_id, "ticket_status": status,
            "created_at": link.created_at.isoformat()}


def create(ctx: PluginContext, body: dict[str, Any], *, by: str) -> FeatureRequest:
    return records.create(ctx.session, ctx.account.id, body, by=by, now=ctx.now())


def change_status(ctx: PluginContext, request: FeatureRequest, body: dict[str, Any], *,
                  by: str) -> dict[str, Any]:
    """Change the status; ``released`` releases (tells requesters); ``duplicate`` only comes from a merge."""
    status = body.get("status")
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise FeatureRequestError("note must be a string")
    if status == "duplicate":
        raise FeatureRequestError("merge the request into its target instead (POST .../merge)", 409)
    if request.status == "duplicate":
        raise FeatureRequestError(f"feature request {request.id} is a duplicate of "
                                  f"#{request.duplicate_of_id}; undo the merge first", 409)
    if status == "released":
        return {"release": release.release(ctx, request, by=by, dry_run=False, note=note or None)}
    if not isinstance(status, str):
        raise FeatureRequestError("status is required")
    records.record_status(ctx.session, request, status, by=by, now=ctx.now(), note=note or None)
    return {}


def link(ctx: PluginContext, request: FeatureRequest, body: dict[str, Any], *, via: str,
         by: str) -> dict[str, Any]:
    ticket_id = int_field(body, "ticket_id")
    assert ticket_id is not None
    result = links.link_ticket(ctx, request, ticket_id, via=via, by=by,
                               requester_id=int_field(body, "requester_id", required=False),
                               organization_id=int_field(body, "organization_id", required=False))
    return {"created": result.created, "feature_request_id": result.link.feature_request_id,
            "redirected_from": result.redirected_from, "link": link_json(result.link)}


def unlink(ctx: PluginContext, request: FeatureRequest, ticket_id: int) -> dict[str, Any]:
    if not 0 < ticket_id <= records.MAX_HELPDESK_ID:
        raise FeatureRequestError(f"ticket {ticket_id} is not linked to feature request {request.id}", 404)
    removed = links.unlink_ticket(ctx.session, request, ticket_id, ctx.now())
    if not removed:
        raise FeatureRequestError(f"ticket {ticket_id} is not linked to feature request {request.id}", 404)
    return {"removed": removed}


def suggestions(ctx: PluginContext, text: str, *, exclude: list[int] | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
    """Requests similar to ``text`` (open, planned, in progress or released; never duplicates or declined)."""
    settings = settings_of(ctx)
    rows = ctx.session.execute(sa.select(FeatureRequest.id, FeatureRequest.title, FeatureRequest.description,
                                         FeatureRequest.status).where(
        FeatureRequest.account_id == ctx.account.id,
        FeatureRequest.status.in_(["open", "planned", "in_progress", "released"]))).all()
    statuses = {row.id: row.status for row in rows}
    ranked = rank(text, [Document(row.id, row.title, row.description or "") for row in rows],
                  limit=limit or settings.suggestion_limit, min_score=settings.min_similarity,
                  exclude=exclude or [])
    counts = records.demand(ctx.session, ctx.account.id, [doc.id for doc, _ in ranked],
                            settings.premium_segments)
    return [{"id": doc.id, "title": doc.title, "status": statuses[doc.id], "score": score,
             "requesters": counts[doc.id].requesters if doc.id in counts else 0} for doc, score in ranked]


def search(ctx: PluginContext, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Find requests by id (``42`` or ``#42``), by words in the title or description, or by similarity."""
    query = query.strip()
    found: list[dict[str, Any]] = []
    number = query.lstrip("#")
    if number.isdigit():
        request = links.existing_request(ctx.session, ctx.account.id, int(number))
        if request is not None:
            found.append({"id": request.id, "title": request.title, "status": request.status, "score": 1.0})
    settings = settings_of(ctx)
    matched, _ = records.list_requests(ctx.session, ctx.account.id, statuses=None, query=query, sort="demand",
                                       premium_segments=settings.premium_segments, limit=limit)
    for item in matched:
        if all(item["id"] != f["id"] for f in found):
            found.append({"id": item["id"], "title": item["title"], "status": item["status"], "score": 1.0,
                          "requesters": item["requesters"]})
    for item in suggestions(ctx, query, limit=limit):
        if all(item["id"] != f["id"] for f in found):
            found.append(item)
    return found[:limit]


def panel(ctx: PluginContext, ticket_id: int, subject: str | None) -> dict[str, Any]:
    """The sidebar's panel for a ticket: the requests it is linked to and suggestions for its subject."""
    settings = settings_of(ctx)
    linked = links.requests_of_ticket(ctx.session, ctx.account.id, ticket_id)
    counts = records.demand(ctx.session, ctx.account.id, [r.id for r in linked], settings.premium_segments)
    return {
        "title": "Feature requests",
        "ticket_id": ticket_id,
        "linked": [records.summary_json(r, counts.get(r.id)) for r in linked],
        "suggestions": suggestions(ctx, subject or "", exclude=[r.id for r in linked]) if subject else [],
        "api": {"search": f"{SIDEBAR_API}/search", "suggestions": f"{SIDEBAR_API}/suggestions",
                "link": f"{SIDEBAR_API}/link", "unlink": f"{SIDEBAR_API}/unlink", "create": SIDEBAR_API},
    }
