"""The weekly digest: last week's SLA figures and chart, posted to Slack once per ISO week.

A timer checks every few minutes whether this week's digest moment (weekday and hour in the team's time
zone) has come; the digest is keyed by the week it covers, so any number of workers post it once. A digest
whose moment passed more than a day ago (the service was down) is skipped rather than sent days late.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.api import SLACK_UPLOAD, ClaimedItem, PluginContext
from plugins.sla.charts import report_png
from plugins.sla.reports import clocks_created, report_of
from plugins.sla.settings import SlaSettings, settings_of

DIGEST_KIND = "sla.weekly_digest"
LATEST = timedelta(days=1)


def digest_due(now: datetime, settings: SlaSettings) -> tuple[datetime, date, date, str]:
    """This week's digest moment and the (previous ISO) week it covers: (moment, first, last, label)."""
    zone = ZoneInfo(settings.business_hours.timezone)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    moment = datetime.combine(monday + timedelta(days=settings.digest_weekday), time(settings.digest_hour),
                              tzinfo=zone)
    first = monday - timedelta(days=7)
    year, week, _ = first.isocalendar()
    return moment, first, monday - timedelta(days=1), f"{year}-W{week:02d}"


def digest_pass(ctx: PluginContext) -> None:
    """Ask for last week's digest once its moment has come (and not more than a day ago)."""
    settings = settings_of(ctx)
    if not settings.digest_channel or not ctx.has_slack:
        return
    now = ctx.now()
    moment, first, last, label = digest_due(now, settings)
    if moment <= now < moment + LATEST:
        ctx.enqueue(DIGEST_KIND, f"sla:digest:{label}", {
            "from": first.isoformat(), "to": last.isoformat(), "week": label,
            "channel": settings.digest_channel,
        })


def summary_text(report: dict[str, Any], week: str) -> str:
    overall = report["overall"]
    attainment = "n/a" if overall["attainment"] is None else f"{overall['attainment'] * 100:.0f}%"
    median = "n/a" if overall["median_minutes"] is None else f"{overall['median_minutes']:.0f} min"
    p90 = "n/a" if overall["p90_minutes"] is None else f"{overall['p90_minutes']:.0f} min"
    lines = [f"*First-reply SLA, week {week}*: {overall['tickets']} tickets, "
             f"{attainment} answered within target, median first reply {median}, "
             f"90th percentile {p90}, {overall['breaches']} breaches."]
    for name in ("segment", "group", "type"):
        worst = list(report["breaches_by"][name].items())[:3]
        if worst:
            lines.append(f"Breaches by {name}: " + ", ".join(f"{key} {count}" for key, count in worst))
    return "\n".join(lines)


def perform_digest(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Build the report and its chart, and ask for the upload (its own key: once per week)."""
    settings = settings_of(ctx)
    first, last = date.fromisoformat(item.payload["from"]), date.fromisoformat(item.payload["to"])
    zone = ZoneInfo(settings.business_hours.timezone)
    # Read, then draw, then write: the handler's own transaction is opened only by the enqueue at the end.
    clocks = ctx.read(clocks_created(ctx.account.id, first, last, zone))
    report = report_of(clocks, first, last, "group", zone)
    week = item.payload["week"]
    png = report_png(report, title=f"First-reply SLA, week {week}")
    ctx.enqueue(SLACK_UPLOAD, f"sla:digest-file:{week}", {
        "channel": item.payload["channel"], "filename": f"sla-{week}.png", "title": f"SLA week {week}",
        "content_base64": base64.b64encode(png).decode(), "initial_comment": summary_text(report, week),
    })
    return {"week": week, "tickets": report["overall"]["tickets"]}
