"""The SLA admin API (``/admin/api/sla/...``, admin bearer token) and the admin page (``/admin/sla``)."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Response, redirect, render_template, request
from pydantic import ValidationError

from app.api import (
    AccountView,
    admin_page,
    current_account,
    current_time,
    db_session,
    json_body,
    json_error,
    request_context,
    require_admin,
    require_admin_page,
)
from plugins.sla.charts import report_png
from plugins.sla.clocks import sidebar_panel
from plugins.sla.models import SlaClock
from plugins.sla.policies import IMPORT_KIND, OVERRIDABLE, save_overrides
from plugins.sla.reports import ReportError, build_report, parse_period
from plugins.sla.settings import SlaSettings

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
    """Replace the account's targets and/or business hours (validated whole; nothing is stored on error)."""
    account = current_account()
    result = _apply_overrides(json_body())
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


@bp.route("/admin/sla", methods=["GET", "POST"])
@require_admin_page
@admin_page("SLA")
def page() -> Any:
    """The SLA report with charts, and the account's targets (edited as JSON; the form carries CSRF)."""
    from flask import g

    account: AccountView = g.account
    error = None
    if request.method == "POST":
        try:
            body = json.loads(request.form.get("targets") or "")
        except json.JSONDecodeError as exc:
            body, error = None, f"The targets are not valid JSON: {exc}"
        if body is not None:
            result = _apply_overrides({"targets": body})
            if isinstance(result, SlaSettings):
                db_session().commit()
                return redirect(request.full_path)
            error = result[0].get_json()["error"]["message"]
    try:
        data = _report(account)
    except ReportError as exc:
        page_html = render_template("sla/report.html", report=None, error=str(exc), targets="[]",
                                    args=request.args)
        return page_html, 400
    targets = json.dumps([t.model_dump() for t in _settings().targets], indent=2)
    return render_template("sla/report.html", report=data, error=error, targets=targets, args=request.args,
                           dimensions=("segment", "group", "type", "form", "tag", "priority")), \
        (400 if error else 200)


@bp.get("/admin/sla/chart.png")
@require_admin_page
def chart() -> Any:
    """The report's chart as a PNG (same parameters as the page)."""
    try:
        data = _report(current_account())
    except ReportError as error:
        return json_error(400, str(error))
    png = report_png(data, title=f"First-reply SLA {data['from']} to {data['to']}")
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=60"})
