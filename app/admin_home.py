"""The admin home's cards: what matters now, from the core (failed work, the worker) and every plugin.

A card is ``{"title", "value", "detail", "href", "tone"}`` (``app.hookspecs.admin_summary``). The core's cards
read the queue tables through their partial indexes only, like ``/healthz``, so the home page costs the same
at any table size. A plugin whose hook raises, or answers something that is not a list of cards, gets one
card saying its summary is unavailable; the failure is logged and counted, and the other cards still show.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, url_for
from flask_babel import gettext, ngettext
from sqlalchemy.orm import Session

from app import metrics
from app.accounts import AccountView
from app.health import HEARTBEAT_FRESH, queue_counts
from app.models import FAILED_ROWS, InboundEvent, WorkerHeartbeat, WorkItem
from app.plugins import plugin_manager

log = logging.getLogger(__name__)
TONES = frozenset({"ok", "warn", "bad"})
Card = dict[str, Any]


def card(title: str, value: str | int, *, detail: str | None = None, href: str | None = None,
         tone: str | None = None) -> Card:
    return {"title": title, "value": value, "detail": detail, "href": href, "tone": tone}


def failed_work_card(session: Session, account_id: int) -> Card:
    """Work items and inbound events of the account that failed for good, linked to the failed-work page."""
    items = session.scalar(sa.select(sa.func.count()).select_from(WorkItem)
                           .where(FAILED_ROWS, WorkItem.account_id == account_id)) or 0
    events = session.scalar(sa.select(sa.func.count()).select_from(InboundEvent)
                            .where(FAILED_ROWS, InboundEvent.account_id == account_id)) or 0
    if not items and not events:
        detail = gettext("Nothing has failed.")
    else:
        detail = gettext("%(items)s and %(events)s, waiting for a retry",
                         items=ngettext("%(num)d work item", "%(num)d work items", items),
                         events=ngettext("%(num)d event", "%(num)d events", events))
    return card(gettext("Failed work"), items + events, detail=detail, href=url_for("admin_pages.work"),
                tone="bad" if items or events else "ok")


def worker_card(session: Session, now: datetime, failed_since: datetime) -> Card:
    """The deployment's worker as ``/healthz`` judges it: heartbeat, backlog, rows stuck past their lease."""
    from app.i18n import ago

    work, events = queue_counts(session, now, failed_since)
    last_beat = session.scalar(sa.select(sa.func.max(WorkerHeartbeat.last_seen_at)))
    if last_beat is not None and last_beat.tzinfo is None:
        last_beat = last_beat.replace(tzinfo=now.tzinfo)
    alive = last_beat is not None and now - last_beat < HEARTBEAT_FRESH
    stuck = work["stuck"] + events["stuck"]
    waiting = work["pending"] + events["pending"]
    lines = []
    if last_beat is None:
        lines.append(gettext("No worker has run yet: start one with “flask worker”."))
    elif alive:
        lines.append(gettext("Last seen %(when)s.", when=ago(last_beat)))
    else:
        lines.append(gettext("Last seen %(when)s: is “flask worker” running?", when=ago(last_beat)))
    if waiting:
        lines.append(gettext("Waiting: %(events)s, %(items)s.",
                             events=ngettext("%(num)d event", "%(num)d events", events["pending"]),
                             items=ngettext("%(num)d work item", "%(num)d work items", work["pending"])))
    else:
        lines.append(gettext("Nothing is waiting."))
    if stuck:
        lines.append(ngettext("%(num)d item stuck past its lease.", "%(num)d items stuck past their lease.",
                              stuck))
    if not alive:
        value, tone = gettext("Stopped"), "bad"
    elif stuck:
        value, tone = gettext("Stuck"), "warn"
    else:
        value, tone = (gettext("Busy") if waiting else gettext("Running")), "ok"
    return card(gettext("Worker"), value, detail=" ".join(lines), tone=tone)


def helpdesk_api_card(app: Flask, account: AccountView) -> Card:
    """The helpdesk API limit the account's budget keeps to: learnt from the helpdesk's answers, or configured."""
    from flask_babel import format_percent

    from app.db import storage
    from app.i18n import ago
    from app.ratelimit import current_limit

    per_minute, learnt_at = current_limit(storage.engine(app), account.id, account.rate_limit_per_minute)
    share = format_percent(app.config["DESKMATE"].rate_budget_share)
    if learnt_at is None:
        detail = gettext("Requests a minute, as configured until the helpdesk states its own; Deskmate uses "
                         "%(share)s of them.", share=share)
    else:
        detail = gettext("Requests a minute, learnt from the helpdesk's answers %(when)s; Deskmate uses "
                         "%(share)s of them.", when=ago(learnt_at), share=share)
    return card(gettext("Helpdesk API"), per_minute, detail=detail, tone="ok")


def plugin_cards(app: Flask, account: AccountView, session: Session) -> list[Card]:
    """Every enabled plugin's ``admin_summary`` cards, in plugin order, each plugin isolated from the others."""
    cards: list[Card] = []
    for name, function in plugin_manager.implementations(app, "admin_summary"):
        ctx = plugin_manager.context(app, name, account, session)
        savepoint = session.begin_nested()
        try:
            ok, answer = plugin_manager.call_isolated(app, "admin_summary", name, function, ctx=ctx)
        finally:
            savepoint.rollback()  # the home page only reads: nothing a plugin did here is kept
        if ok and answer is not None and not _valid_cards(answer):
            metrics.PLUGIN_ERRORS.labels(name, "admin_summary").inc()
            log.error("plugin %s returned admin_summary cards of the wrong shape: %r", name, answer,
                      extra={"plugin": name, "hook": "admin_summary"})
            ok = False
        if ok:
            cards.extend(card(str(c["title"]), c["value"], detail=_text(c.get("detail")), href=c.get("href"),
                              tone=c.get("tone")) for c in answer or [])
        else:
            cards.append(card(name.replace("_", " ").capitalize(), "—", tone="warn",
                              detail=gettext("This summary is unavailable; the error is in Deskmate's log.")))
    return cards


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _valid_cards(answer: Any) -> bool:
    return isinstance(answer, list) and all(
        isinstance(c, dict) and c.get("title") and isinstance(c.get("value"), str | int)
        and c.get("tone") in (*TONES, None) and (c.get("href") is None or isinstance(c["href"], str))
        for c in answer)
