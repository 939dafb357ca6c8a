"""The admin JSON API under ``/admin/api/news``: incidents, their timelines, linked tickets, quick links.

Every route needs an admin API token (``app.web.require_admin``). A write commits, then clears this process's
cache of public documents at once; other processes notice the version bump within about a second.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.api import (
    PluginContext,
    current_account,
    db_session,
    json_body,
    json_error,
    request_context,
    require_admin,
    summarise_notices,
)
from plugins.breaking_news import incidents as service
from plugins.breaking_news.markup import safe_url
from plugins.breaking_news.models import Incident, IncidentTicket, IncidentUpdate, QuickLinks
from plugins.breaking_news.public_views import news_cache
from plugins.breaking_news.settings import BreakingNewsSettings

bp = Blueprint("breaking_news_admin_api", __name__, url_prefix="/admin/api/news")


class QuickLinkIn(BaseModel):
    """One entry shown on the request form: a help article (with its address) or a short notice."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=r"^(article|notice)$")
    title: str = Field(min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    text: str = Field(default="", max_length=500)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and safe_url(value) is None:
            raise ValueError("url must be a plain http(s) address")
        return value


class QuickLinksIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    links: list[QuickLinkIn] = Field(max_length=20)


def context() -> PluginContext:
    return request_context(service.PLUGIN)


def commit_write() -> None:
    """Commit the request's writes, then drop this process's rendered documents (never before the commit)."""
    db_session().commit()
    news_cache().invalidate(current_account().id)


def field_path(location: tuple[Any, ...]) -> str:
    """A field as a JSON path a person reads: ``links[1].kind``, ``translations.it.title``; ``body`` for the whole."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def plain(error: Any) -> str:
    """What is wrong with one field, in words (not pydantic's "String should match pattern '^(article|...'")."""
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "string_too_short":
        return "must not be empty" if context.get("min_length") == 1 else \
            f"must be at least {context.get('min_length')} characters"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters"
    if kind == "too_long":
        return f"can hold at most {context.get('max_length')} entries"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}"
    if kind == "string_pattern_mismatch" and error["loc"] and error["loc"][-1] == "kind":
        return "must be 'article' or 'notice'"
    if kind in ("value_error", "assertion_error"):
        return str(context.get("error") or error["msg"])
    if kind.startswith(("datetime", "date", "timezone")):
        return "must be a date and time with its time zone, like 2026-11-23T21:00:00Z"
    if kind.startswith("bool"):
        return "must be true or false"
    if kind in ("string_type", "list_type", "dict_type", "model_type", "model_attributes_type"):
        return {"string_type": "must be a string", "list_type": "must be a list"}.get(kind, "must be an object")
    return str(error["msg"])


def invalid(exc: ValidationError) -> tuple[Response, int]:
    """A 400 naming each field and what is wrong with it; ``field`` is the first one's path."""
    found = [(field_path(tuple(error["loc"])), plain(error)) for error in exc.errors()]
    # The one check across fields (the window) names the field to change rather than the whole body.
    found = [("ends_at" if where == "body" and "ends_at must be after" in what else where, what)
             for where, what in found]
    problems = [f"{where}: {what}" for where, what in found]
    return json_error(400, "; ".join(problems), field=found[0][0] if found else "body", problems=problems)


def parse(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        return invalid(exc)


MAX_INCIDENT_ID = 2**31 - 1  # an INTEGER primary key: PostgreSQL refuses a larger number in the lookup


def find(incident_id: int) -> Incident | None:
    if not 0 < incident_id <= MAX_INCIDENT_ID:
        return None
    return db_session().scalar(sa.select(Incident).where(Incident.account_id == current_account().id,
                                                         Incident.id == incident_id))


def describe(incidents: list[Incident]) -> list[dict[str, Any]]:
    """The admin view of incidents, with timelines and ticket counts (two queries for the lot)."""
    session = db_session()
    ctx = context()
    settings: BreakingNewsSettings = ctx.settings  # type: ignore[assignment]
    ids = [incident.id for incident in incidents]
    counts = service.ticket_counts(session, current_account().id, ids)
    timelines: dict[int, list[IncidentUpdate]] = {incident_id: [] for incident_id in ids}
    if ids:
        for update in session.scalars(sa.select(IncidentUpdate).where(
                IncidentUpdate.account_id == current_account().id, IncidentUpdate.incident_id.in_(ids))
                .order_by(IncidentUpdate.created_at, IncidentUpdate.id)):
            timelines[update.incident_id].append(update)
    visible = timedelta(minutes=settings.resolved_visible_minutes)
    now = ctx.now()
    return [service.incident_json(incident, timelines[incident.id], counts.get(incident.id, 0), now, visible)
            for incident in incidents]


@bp.get("/incidents")
@require_admin
def list_incidents() -> Any:
    """Incidents, newest first: ``?state=open`` (default), ``resolved`` or ``all``."""
    state = request.args.get("state", "open")
    if state not in ("open", "resolved", "all"):
        return json_error(400, "state must be open, resolved or all")
    query = sa.select(Incident).where(Incident.account_id == current_account().id)
    if state == "open":
        query = query.where(Incident.resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(Incident.resolved_at.is_not(None))
    rows = list(db_session().scalars(query.order_by(Incident.id.desc()).limit(200)))
    return {"incidents": describe(rows)}


@bp.post("/incidents")
@require_admin
def create_incident() -> Any:
    data = parse(service.IncidentIn, json_body())
    if isinstance(data, tuple):
        return data
    try:
        incident = service.create_incident(context(), data)
    except service.IncidentError as exc:
        return json_error(400, str(exc))
    commit_write()
    return {"incident": describe([incident])[0]}, 201


@bp.get("/incidents/<int:incident_id>")
@require_admin
def show_incident(incident_id: int) -> Any:
    incident = find(incident_id)
    if incident is None:
        return json_error(404, "no such incident")
    notices = summarise_notices(db_session(), current_account().id, subject_keys=[f"incident:{incident.id}"])
    return {"incident": describe([incident])[0], "requester_notices": notices}


@bp.patch("/incidents/<int:incident_id>")
@require_admin
def update_incident(incident_id: int) -> Any:
    patch = parse(service.IncidentPatch, json_body())
    if isinstance(patch, tuple):
        return patch
    incident = find(incident_id)
    if incident is None:
        return json_error(404, "no such incident")
    try:
        service.update_incident(context(), incident, patch)
    except service.IncidentError as exc:
        return json_error(409, str(exc))
    commit_write()
    return {"incident": describe([incident])[0]}


@bp.post("/incidents/<int:incident_id>/updates")
@require_admin
def add_update(incident_id: int) -> Any:
    data = parse(service.UpdateIn, json_body())
    if isinstance(data, tuple):
        return data
    return _add_update(incident_id, data)


@bp.post("/incidents/<int:incident_id>/resolve")
@require_admin
def resolve(incident_id: int) -> Any:
    """Resolve: a ``resolved`` update (optional ``body``, ``translations``, ``notify_requesters``)."""
    extra = request.get_json(silent=True) or {}  # the body is optional
    if not isinstance(extra, dict):
        return json_error(400, "the body must be a JSON object", field="body")
    data = parse(service.UpdateIn, {"status": "resolved", **extra})
    if isinstance(data, tuple):
        return data
    if data.status != "resolved":
        return json_error(400, "resolve sets the status to resolved; use /updates for other statuses")
    return _add_update(incident_id, data)


def _add_update(incident_id: int, data: service.UpdateIn) -> Any:
    incident = find(incident_id)
    if incident is None:
        return json_error(404, "no such incident")
    try:
        service.add_update(context(), incident, data)
    except service.IncidentError as exc:
        return json_error(409, str(exc))
    commit_write()
    return {"incident": describe([incident])[0]}, 201


@bp.get("/incidents/<int:incident_id>/tickets")
@require_admin
def incident_tickets(incident_id: int) -> Any:
    """The tickets counted against an incident, most recent first."""
    incident = find(incident_id)
    if incident is None:
        return json_error(404, "no such incident")
    rows = db_session().scalars(sa.select(IncidentTicket).where(
        IncidentTicket.account_id == current_account().id, IncidentTicket.incident_id == incident.id)
        .order_by(IncidentTicket.linked_at.desc(), IncidentTicket.id.desc()).limit(1000)).all()
    return {"ticket_count": service.ticket_counts(db_session(), current_account().id, [incident.id]).get(
                incident.id, 0),
            "tickets": [{"ticket_id": row.ticket_id, "requester_id": row.requester_id,
                         "matched_by": row.matched_by, "matched_on": row.matched_on,
                         "linked_at": row.linked_at.isoformat()} for row in rows]}


@bp.get("/quick-links")
@require_admin
def list_quick_links() -> Any:
    rows = db_session().scalars(sa.select(QuickLinks).where(QuickLinks.account_id == current_account().id)
                                .order_by(QuickLinks.form_id)).all()
    return {"quick_links": {str(row.form_id): row.links for row in rows}}


@bp.put("/quick-links/<int:form_id>")
@require_admin
def put_quick_links(form_id: int) -> Any:
    """Replace the quick links of one ticket form."""
    data = parse(QuickLinksIn, json_body())
    if isinstance(data, tuple):
        return data
    save_quick_links(context(), form_id, [link.model_dump(exclude_none=True) for link in data.links])
    commit_write()
    return {"form_id": form_id, "links": [link.model_dump(exclude_none=True) for link in data.links]}


@bp.delete("/quick-links/<int:form_id>")
@require_admin
def delete_quick_links(form_id: int) -> Any:
    save_quick_links(context(), form_id, [])
    commit_write()
    return {"form_id": form_id, "links": []}


def save_quick_links(ctx: PluginContext, form_id: int, links: list[dict[str, Any]]) -> None:
    """Store (or, with no links, remove) one form's quick links, and bump the public version."""
    row = ctx.session.scalar(sa.select(QuickLinks).where(QuickLinks.account_id == ctx.account.id,
                                                         QuickLinks.form_id == form_id))
    if not links:
        if row is not None:
            ctx.session.delete(row)
    elif row is None:
        ctx.session.add(QuickLinks(account_id=ctx.account.id, form_id=form_id, links=links,
                                   updated_at=ctx.now()))
    else:
        row.links, row.updated_at = links, ctx.now()
    service.bump_version(ctx.session, ctx.account.id, ctx.now())
