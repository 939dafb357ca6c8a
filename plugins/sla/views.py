"""The SLA admin API (``/admin/api/sla/...``, admin bearer token) and the admin page (``/admin/sla``)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, request
from pydantic import ValidationError

from app.api import (
    AccountView,
    admin_page,
    current_account,
    current_time,
    db_session,
    gettext,
    json_body,
    json_error,
    lazy_gettext,
    ngettext,
    request_context,
    require_admin,
    require_admin_page,
)
from plugins.sla import texts
from plugins.sla.charts import report_png
from plugins.sla.clocks import sidebar_panel
from plugins.sla.models import RUNNING, SlaClock
from plugins.sla.policies import IMPORT_KIND, OVERRIDABLE, save_overrides
from plugins.sla.reports import DIMENSIONS, MAX_DAYS, ReportError, build_report, parse_period
from plugins.sla.settings import PRIORITIES, SlaSettings
from plugins.sla.targets_form import TargetRow, check_rows, read_form, row_of

bp = Blueprint("sla", __name__, template_folder="templates")


def _settings() -> SlaSettings:
    return request_context("sla").settings_as(SlaSettings)


def _targets_json(settings: SlaSettings, account: AccountView) -> dict[str, Any]:
    return {
        "targets": [target.model_dump() for target in settings.targets],
        "business_hours": settings.business_hours.model_dump(mode="json"),
        "source": "account" if account.settings.get("sla") else "configuration",
    }


def _validation_message(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors())


def _apply_overrides(body: dict[str, Any]) -> SlaSettings | tuple[Response, int]:
    unknown = set(body) - set(OVERRIDABLE)
    if unknown or not body:
        unknown_text = ", ".join(sorted(unknown)) or "-"
        return json_error(400, f"send {' and/or '.join(OVERRIDABLE)}; unknown: {unknown_text}")
    current = _settings()
    try:
        merged = SlaSettings.model_validate({**current.model_dump(), **body})
    except ValidationError as error:
        return json_error(400, _validation_message(error))
    values = merged.model_dump(mode="json", include=set(body))
    save_overrides(request_context("sla"), values)
    return merged


@bp.get("/admin/api/sla/targets")
@require_admin
def get_targets() -> Any:
    """The account's first-reply targets and business hours, and where they come from."""
    account = current_account()
    return _targets_json(_settings(), account)


@bp.put("/admin/api/sla/targets")
@require_admin
def put_targets() -> Any:
    """Replace the account's targets and/or business hours (validated whole; nothing is stored on error).

    An empty list of targets stops every first-reply clock: it is refused unless ``confirm_empty`` is true.
    """
    account = current_account()
    body = json_body()
    confirm = body.pop("confirm_empty", False)
    if body.get("targets") == [] and confirm is not True:
        return json_error(400, "targets: an empty list stops measuring every first reply; send "
                               "\"confirm_empty\": true with it to mean that (DELETE goes back to the "
                               "configuration's targets)")
    result = _apply_overrides(body)
    if not isinstance(result, SlaSettings):
        return result
    db_session().commit()
    return {**_targets_json(result, account), "source": "account"}


@bp.delete("/admin/api/sla/targets")
@require_admin
def delete_targets() -> Any:
    """Forget the account's own targets: the configuration file's apply again."""
    request_context("sla").save_settings(None)
    db_session().commit()
    return {"source": "configuration"}


@bp.post("/admin/api/sla/policies/import")
@require_admin
def import_policies() -> Any:
    """Ask the worker to read the helpdesk's SLA policies into the account's targets (202: queued)."""
    now = current_time()
    ctx = request_context("sla")
    key = f"sla:import-policies:{now:%Y%m%dT%H%M%S}"
    ctx.enqueue(IMPORT_KIND, key, {})
    return {"queued": key}, 202


def _report(account: AccountView) -> dict[str, Any]:
    settings = _settings()
    zone = ZoneInfo(settings.business_hours.timezone)
    first, last = parse_period(request.args.get("from"), request.args.get("to"),
                               current_time().astimezone(zone).date())
    by = request.args.get("by") or None
    return build_report(db_session(), account.id, first, last, by, zone)


@bp.get("/admin/api/sla/report")
@require_admin
def report() -> Any:
    """Attainment, median and p90 first-reply time, breaches by dimension: ``?from=&to=&by=``."""
    try:
        return _report(current_account())
    except ReportError as error:
        return json_error(400, str(error))


@bp.get("/admin/api/sla/clocks/<int:ticket_id>")
@require_admin
def show_clock(ticket_id: int) -> Any:
    """One ticket's first-reply clock (the sidebar's view of it)."""
    clock = db_session().scalar(sa.select(SlaClock).where(SlaClock.account_id == current_account().id,
                                                          SlaClock.ticket_id == ticket_id))
    if clock is None:
        return json_error(404, f"no first-reply clock for ticket {ticket_id}")
    return {"ticket_id": ticket_id, **sidebar_panel(clock, current_time())}


REPORT_PROBLEMS = {
    "date": lazy_gettext("Enter the dates as a day, month and year (the period could not be read)."),
    "order": lazy_gettext("The period starts after it ends: choose a “From” date before the “To” date."),
    "length": lazy_gettext("A report covers at most %(days)s days: choose a shorter period.", days=MAX_DAYS),
    "dimension": lazy_gettext("Choose what to break the report down by from the list."),
}


@bp.route("/admin/sla", methods=["GET", "POST"])
@require_admin_page
@admin_page(lazy_gettext("SLA"))
def page() -> Any:
    """The SLA report with charts, the tickets waiting for a first reply, and the targets form (CSRF)."""
    from flask import g

    account: AccountView = g.account
    settings = _settings()
    problem, confirm_empty = None, False
    if request.method == "POST":
        rows = read_form(request.form)
        action = request.form.get("action", "save")
        if action == "add":
            rows.append(TargetRow())
        elif action.startswith("remove-") and action[7:].isdigit() and int(action[7:]) < len(rows):
            del rows[int(action[7:])]
        else:
            targets, ok = check_rows(rows)
            if not ok:
                problem = gettext("Nothing was saved: fix the fields marked below.")
            elif not targets and not request.form.get("confirm_empty"):
                problem = gettext("Nothing was saved: there are no targets left, so no ticket would be measured "
                                  "or announced any more. Tick the box below to confirm, or add a target.")
                confirm_empty = True
            else:
                result = _apply_overrides({"targets": [target.model_dump() for target in targets]})
                if isinstance(result, SlaSettings):
                    db_session().commit()
                    flash(ngettext("Saved %(num)d target; it applies to tickets created from now on.",
                                   "Saved %(num)d targets; they apply to tickets created from now on.",
                                   len(targets)), "ok")
                    return redirect(request.full_path)
                problem = gettext("Nothing was saved: %(reason)s", reason=result[0].get_json()["error"]["message"])
    else:
        rows = [row_of(target) for target in settings.targets]
    if not rows:
        rows.append(TargetRow())
    data, report_problem = None, None
    try:
        data = _report(account)
    except ReportError as exc:
        report_problem = str(REPORT_PROBLEMS.get(exc.problem, exc))
    waiting, waiting_count = _waiting(account)
    html = render_template(
        "sla/report.html", report=data, report_problem=report_problem, problem=problem, rows=rows,
        confirm_empty=confirm_empty, args=request.args, dimensions=DIMENSIONS, priorities=PRIORITIES,
        waiting=waiting, waiting_count=waiting_count, segments=_known_segments(settings),
        period=_period_words(data), texts=texts, business_hours=settings.business_hours)
    return html, (400 if problem or report_problem else 200)


def _period_words(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    first, last = date.fromisoformat(data["from"]), date.fromisoformat(data["to"])
    return gettext("%(first)s to %(last)s", first=texts.day(first), last=texts.day(last))


def _known_segments(settings: SlaSettings) -> list[str]:
    return sorted({target.segment for target in settings.targets} | {"premium_partner", "user", "*"})


def _waiting(account: AccountView) -> tuple[list[dict[str, Any]], int]:
    """The running clocks with a target, soonest deadline first (50 at most), with names from the mirror."""
    session = db_session()
    running = (SlaClock.account_id == account.id, SlaClock.state == RUNNING, SlaClock.target_minutes.is_not(None))
    count = session.scalar(sa.select(sa.func.count()).select_from(SlaClock).where(*running)) or 0
    clocks = list(session.scalars(sa.select(SlaClock).where(*running)
                                  .order_by(SlaClock.due_at.is_(None), SlaClock.due_at).limit(50)))
    mirror = request_context("sla").mirror
    users = mirror.users({c.requester_id for c in clocks if c.requester_id}
                         | {c.assignee_id for c in clocks if c.assignee_id})
    organizations = mirror.organizations({c.organization_id for c in clocks if c.organization_id})
    now = current_time()
    rows = []
    for clock in clocks:
        requester = users.get(clock.requester_id) if clock.requester_id else None
        organization = organizations.get(clock.organization_id) if clock.organization_id else None
        agent = users.get(clock.assignee_id) if clock.assignee_id else None
        rows.append({
            "ticket_id": clock.ticket_id, "subject": clock.subject,
            "requester": (requester.name if requester and requester.name else clock.requester_name)
            or clock.requester_email or (gettext("Requester %(id)s", id=clock.requester_id)
                                         if clock.requester_id else ""),
            "organization": (organization.name if organization and organization.name
                             else clock.organization_name) or "",
            "agent": (agent.name if agent and agent.name else "") or (gettext("Agent %(id)s", id=clock.assignee_id)
                                                                      if clock.assignee_id else ""),
            "segment": texts.segment_label(clock.segment), "due_at": clock.due_at,
            "overdue": clock.due_at is not None and clock.due_at <= now,
            "target": texts.duration(clock.target_minutes), "business_hours": clock.business_hours,
        })
    return rows, count


@bp.get("/admin/sla/chart.png")
@require_admin_page
def chart() -> Any:
    """The report's chart as a PNG (same parameters as the page)."""
    try:
        data = _report(current_account())
    except ReportError as error:
        return json_error(400, str(error))
    png = report_png(data, title=gettext("First replies, %(period)s", period=_period_words(data)))
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=60"})
