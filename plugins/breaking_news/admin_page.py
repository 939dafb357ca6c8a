"""The admin page ``/admin/news``: publish, update and resolve incidents; edit the request form's quick links.

An admin session (``require_admin_page``) with CSRF on every form. The page uses the same service functions
as the JSON API, so both validate, announce and invalidate alike. A form with a problem comes back with
everything as typed and each problem beside its field, and nothing is saved (status 400).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.api import (
    admin_page,
    context_for,
    current_account,
    current_time,
    get_timezone,
    gettext,
    lazy_gettext,
    require_admin_page,
    transaction,
)
from plugins.breaking_news import admin_forms
from plugins.breaking_news import incidents as service
from plugins.breaking_news.admin_api import MAX_INCIDENT_ID, save_quick_links
from plugins.breaking_news.models import Incident, QuickLinks
from plugins.breaking_news.public_views import news_cache

bp = Blueprint("breaking_news_admin_page", __name__, template_folder="templates")
EXTRA_LINK_ROWS = 2  # blank rows offered under a form's links, to add some


def reader_zone() -> tzinfo:
    """The reader's timezone (Flask-Babel's, from the admin layout's cookie) as a ``zoneinfo`` zone."""
    return ZoneInfo(str(get_timezone() or "UTC"))


def _incident_id(value: str | None) -> int | None:
    text = (value or "").strip()
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else 0
    return number if 0 < number <= MAX_INCIDENT_ID else None


def _posted_rows(form: Any) -> int:
    """How many link rows the posted form had (its ``kind-N`` fields), within what the page ever offers."""
    limit = admin_forms.MAX_QUICK_LINKS + EXTRA_LINK_ROWS
    return max((index + 1 for index in range(limit) if f"kind-{index}" in form), default=0)


def _perform(action: str, form: Any, forms: dict[str, admin_forms.Form]) -> str | None:
    """Do what the form asks in one transaction; the message to flash, or None when ``forms`` got problems."""
    account = current_account()
    zone = reader_zone()
    with transaction() as session:
        ctx = context_for(service.PLUGIN, account, session)
        if action == "create":
            checked = forms["create"] = admin_forms.incident_form(form, zone, ctx.now())
            if not checked.ok:
                return None
            incident = service.create_incident(ctx, checked.model)
            message = gettext('Published “%(title)s”.', title=incident.title)
        elif action in ("update", "resolve"):
            incident_id = _incident_id(form.get("incident_id"))
            found = None if incident_id is None else session.scalar(sa.select(Incident).where(
                Incident.account_id == account.id, Incident.id == incident_id))
            if found is None or found.resolved_at is not None:
                forms["page"] = admin_forms.Form(errors={"form": gettext(
                    "This incident is no longer open; the page now shows where things stand.")})
                return None
            checked = forms[f"{action}-{found.id}"] = admin_forms.update_form(form, resolve=action == "resolve")
            if not checked.ok:
                return None
            service.add_update(ctx, found, checked.model)
            message = (gettext('“%(title)s” is resolved.', title=found.title) if action == "resolve" else
                       gettext('Posted an update to “%(title)s”: %(status)s.', title=found.title,
                               status=admin_forms.STATUS_LABELS[checked.model.status]))
        elif action == "quick_links":
            key = f"links-{form.get('row') or 'new'}"
            checked = forms[key] = admin_forms.quick_links_form(form, _posted_rows(form))
            if not checked.ok:
                return None
            form_id, links = checked.model
            save_quick_links(ctx, form_id, [link.model_dump(exclude_none=True) for link in links.links])
            message = (gettext("Saved the quick links of ticket form %(form)s.", form=form_id) if links.links
                       else gettext("Removed the quick links of ticket form %(form)s.", form=form_id))
        else:
            forms["page"] = admin_forms.Form(errors={"form": gettext("This form is out of date; reload the page.")})
            return None
    news_cache().invalidate(account.id)  # after the commit: this process serves the change at once
    return message


@bp.route("/admin/news", methods=["GET", "POST"])
@require_admin_page
@admin_page(lazy_gettext("Breaking news"))
def news_page() -> Any:
    """The admin page (admin session and CSRF, by ``require_admin_page``)."""
    status = 200
    forms: dict[str, admin_forms.Form] = {}
    if request.method == "POST":
        try:
            message = _perform(request.form.get("action", ""), request.form, forms)
        except service.IncidentError:
            # The service's last word (a race with another admin): say so in plain words, keep the form.
            forms.setdefault("page", admin_forms.Form()).errors["form"] = gettext(
                "The incident changed meanwhile; check it below and try again.")
            message = None
        if message is not None:
            flash(message, "ok")
            return redirect(url_for("breaking_news_admin_page.news_page"))
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
    rows_by_form = {row.form_id: [*row.links, *({} for _ in range(EXTRA_LINK_ROWS))] for row in quick_links}
    return render_template(
        "breaking_news/admin.html", open_incidents=open_incidents, resolved=resolved, counts=counts,
        quick_links=quick_links, rows_by_form=rows_by_form, new_rows=[{} for _ in range(3)], forms=forms,
        blank=admin_forms.Form(), severities=admin_forms.SEVERITY_LABELS, statuses=admin_forms.STATUS_LABELS,
        open_statuses=admin_forms.OPEN_STATUSES, kinds=admin_forms.KIND_LABELS, now=current_time(),
        zone_name=str(reader_zone())), status
