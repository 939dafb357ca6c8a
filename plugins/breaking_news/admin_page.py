"""The admin page ``/admin/news``: publish, update and resolve incidents; edit the request form's quick links.

An admin session (``require_admin_page``) with CSRF on every form. The page uses the same service functions
as the JSON API, so both validate, announce and invalidate alike; translations are for the API only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from pydantic import BaseModel, ValidationError

from app.api import admin_page, context_for, current_account, require_admin_page, transaction
from plugins.breaking_news import incidents as service
from plugins.breaking_news.admin_api import MAX_INCIDENT_ID, QuickLinksIn, save_quick_links
from plugins.breaking_news.models import SEVERITIES, STATUSES, Incident, QuickLinks
from plugins.breaking_news.public_views import news_cache

bp = Blueprint("breaking_news_admin_page", __name__, template_folder="templates")


def _terms(value: str) -> list[str]:
    return [term.strip() for term in value.split(",") if term.strip()]


def _moment(value: str) -> str | None:
    """A ``datetime-local`` field, read as UTC (the page says so)."""
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=UTC).isoformat()
    except ValueError:
        raise ValueError(f"{value!r} is not a date and time") from None


def _links(text: str) -> list[dict[str, Any]]:
    """``kind | title | https://address | text`` per line (address optional for notices)."""
    links = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")] + ["", "", ""]
        link = {"kind": parts[0], "title": parts[1], "url": parts[2] or None, "text": parts[3]}
        links.append({key: value for key, value in link.items() if value is not None})
    return links


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(part) for part in error['loc']) or 'form'}: {error['msg']}"
                     for error in exc.errors())


def _form_id(value: str | None, name: str, maximum: int) -> int:
    """An id typed in a form; a ``ValueError`` (shown beside the form) unless it can name a row."""
    text = (value or "").strip()
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else 0
    if not 0 < number <= maximum:
        raise ValueError(f"the {name} must be a whole number from 1 to {maximum}")
    return number


def _perform(action: str, form: Any) -> str:
    """Do what the form asks in one transaction; returns what to tell the admin."""
    account = current_account()
    with transaction() as session:
        ctx = context_for(service.PLUGIN, account, session)
        if action == "create":
            data: BaseModel = service.IncidentIn.model_validate({
                "title": form.get("title", ""), "body": form.get("body", ""),
                "severity": form.get("severity"), "status": form.get("status") or "investigating",
                "affected_features": _terms(form.get("affected_features", "")),
                "keywords": _terms(form.get("keywords", "")), "starts_at": _moment(form.get("starts_at", "")),
                "ends_at": _moment(form.get("ends_at", "")), "notify_requesters": bool(form.get("notify"))})
            incident = service.create_incident(ctx, data)  # type: ignore[arg-type]
            message = f"Published incident {incident.id}."
        elif action in ("update", "resolve"):
            incident_id = _form_id(form.get("incident_id"), "incident", MAX_INCIDENT_ID)
            found = session.scalar(sa.select(Incident).where(Incident.account_id == account.id,
                                                             Incident.id == incident_id))
            if found is None:
                raise service.IncidentError("no such incident")
            update = service.UpdateIn.model_validate({
                "status": "resolved" if action == "resolve" else form.get("status"),
                "body": form.get("body", ""),
                "notify_requesters": bool(form.get("notify")) if action == "resolve" else None})
            service.add_update(ctx, found, update)
            message = f"Incident {found.id} is now {update.status}."
        elif action == "quick_links":
            form_id = _form_id(form.get("form_id"), "form id", 2**63 - 1)
            links = QuickLinksIn.model_validate({"links": _links(form.get("links", ""))})
            save_quick_links(ctx, form_id, [link.model_dump(exclude_none=True) for link in links.links])
            message = f"Saved the quick links of form {form_id}."
        else:
            raise service.IncidentError(f"unknown action {action!r}")
    news_cache().invalidate(account.id)  # after the commit: this process serves the change at once
    return message


@bp.route("/admin/news", methods=["GET", "POST"])
@require_admin_page
@admin_page("Breaking news")
def news_page() -> Any:
    """The admin page (admin session and CSRF, by ``require_admin_page``)."""
    status = 200
    if request.method == "POST":
        try:
            flash(_perform(request.form.get("action", ""), request.form), "ok")
            return redirect(url_for("breaking_news_admin_page.news_page"))
        except ValidationError as exc:
            flash(_problems(exc), "error")
        except (service.IncidentError, ValueError) as exc:
            flash(str(exc), "error")
        status = 400
    account = current_account()
    with transaction() as session:
        open_incidents = list(session.scalars(sa.select(Incident).where(
            Incident.account_id == account.id, Incident.resolved_at.is_(None)).order_by(Incident.id.desc())))
        resolved = list(session.scalars(sa.select(Incident).where(
            Incident.account_id == account.id, Incident.resolved_at.is_not(None))
            .order_by(Incident.resolved_at.desc()).limit(10)))
        counts = service.ticket_counts(session, account.id, [i.id for i in open_incidents + resolved])
        quick_links = list(session.scalars(sa.select(QuickLinks).where(QuickLinks.account_id == account.id)
                                           .order_by(QuickLinks.form_id)))
    return render_template("breaking_news/admin.html", open_incidents=open_incidents, resolved=resolved,
                           counts=counts, quick_links=quick_links, severities=SEVERITIES,
                           statuses=STATUSES, now=datetime.now(UTC)), status
