"""The admin home's cards: today's first replies within target, and the tickets waiting for one now."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import url_for

from app.api import PluginContext, gettext, ngettext
from plugins.sla import texts
from plugins.sla.models import RUNNING, SlaClock
from plugins.sla.reports import clocks_created, summarise
from plugins.sla.settings import settings_of


def cards(ctx: PluginContext) -> list[dict[str, Any]]:
    """Two cards; both read indexed rows only (today's clocks by start, the running ones by due time)."""
    now = ctx.now()
    zone = ZoneInfo(settings_of(ctx).business_hours.timezone)
    today = now.astimezone(zone).date()
    summary = summarise("today", ctx.session.scalars(clocks_created(ctx.account.id, today, today, zone)))
    decided = summary.within_target + summary.breaches
    page = url_for("sla.page")
    if summary.attainment is None:
        today_detail = (ngettext("%(num)d ticket created today, none answered or late yet.",
                                 "%(num)d tickets created today, none answered or late yet.", summary.tickets)
                        if summary.tickets else gettext("No ticket with a target created today yet."))
        today_tone = None
    else:
        today_detail = gettext("%(met)s within target · %(breaches)s", met=gettext(
            "%(met)d of %(decided)d", met=summary.within_target, decided=decided),
            breaches=ngettext("%(num)d breach", "%(num)d breaches", summary.breaches))
        today_tone = "bad" if summary.breaches else "ok"
    waiting, overdue, next_due = _waiting(ctx, now)
    if not waiting:
        waiting_detail, waiting_tone = gettext("No ticket is waiting for a first reply."), "ok"
    elif overdue:
        waiting_detail = ngettext("%(num)d past its deadline.", "%(num)d past their deadline.", overdue)
        waiting_tone = "bad"
    else:
        waiting_detail = gettext("Next deadline in %(time)s.", time=texts.duration(
            (next_due - now).total_seconds() / 60 if next_due else None))
        waiting_tone = "ok"
    return [
        {"title": gettext("First replies today"), "value": texts.share(summary.attainment),
         "detail": today_detail, "href": page, "tone": today_tone},
        {"title": gettext("Waiting for a first reply"), "value": waiting, "detail": waiting_detail,
         "href": f"{page}#waiting", "tone": waiting_tone},
    ]


def _waiting(ctx: PluginContext, now: datetime) -> tuple[int, int, datetime | None]:
    """How many clocks with a target are running, how many of them are past their deadline, the next deadline."""
    running = (SlaClock.account_id == ctx.account.id, SlaClock.state == RUNNING,
               SlaClock.target_minutes.is_not(None))
    count, overdue, next_due = ctx.session.execute(sa.select(
        sa.func.count(), sa.func.count().filter(SlaClock.due_at <= now),
        sa.func.min(sa.case((SlaClock.due_at > now, SlaClock.due_at)))).where(*running)).one()
    if isinstance(next_due, str):  # SQLite answers an aggregate of datetimes as text
        next_due = datetime.fromisoformat(next_due)
    if next_due is not None and next_due.tzinfo is None:
        next_due = next_due.replace(tzinfo=now.tzinfo)
    return int(count or 0), int(overdue or 0), next_due
