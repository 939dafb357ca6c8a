"""The admin home's card: the incidents customers see now, how many tickets are about them, a link to act."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.api import PluginContext, gettext, ngettext
from plugins.breaking_news.incidents import live_incidents, ticket_counts

SHOWN_TITLES = 3


def cards(ctx: PluginContext) -> list[dict[str, Any]]:
    """One card: the live incidents (count, their titles, their tickets), "bad" while any is live."""
    live = live_incidents(ctx.session, ctx.account.id, ctx.now())
    if not live:
        return [{"title": gettext("Active incidents"), "value": 0, "detail": gettext("Nothing is broken right now."),
                 "href": url_for("breaking_news_admin_page.news_page"), "tone": "ok"}]
    counts = ticket_counts(ctx.session, ctx.account.id, [incident.id for incident in live])
    titles = ", ".join(gettext("“%(title)s”", title=incident.title) for incident in live[:SHOWN_TITLES])
    more = len(live) - SHOWN_TITLES
    if more > 0:
        titles = gettext("%(titles)s and %(more)s", titles=titles,
                         more=ngettext("%(num)d more", "%(num)d more", more))
    tickets = sum(counts.values())
    detail = gettext("%(titles)s · %(tickets)s", titles=titles,
                     tickets=ngettext("%(num)d ticket about them", "%(num)d tickets about them", tickets))
    return [{"title": gettext("Active incidents"), "value": len(live), "detail": detail,
             "href": url_for("breaking_news_admin_page.news_page"),
             "tone": "bad" if any(i.severity in ("outage", "degraded") for i in live) else "warn"}]
