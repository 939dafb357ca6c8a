"""The public documents: ``active.json`` for the widget and the Atom feed, rendered from the database.

Both are rendered rarely (see ``cache``) and served as bytes. Incident text reaches the widget as parsed
blocks (``markup.parse``) so that the script builds the banner with DOM text APIs and never parses HTML.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api import AccountView
from plugins.breaking_news import markup, messages
from plugins.breaking_news.incidents import is_shown
from plugins.breaking_news.models import Incident, IncidentUpdate, QuickLinks
from plugins.breaking_news.settings import BreakingNewsSettings

SEVERITY_ORDER = {"outage": 0, "degraded": 1, "maintenance": 2, "information": 3}
UPDATES_SHOWN = 5
FEED_DAYS = 30


def locale_chain(requested: str | None, settings: BreakingNewsSettings) -> list[str]:
    """The languages to try, best first: ``pt-br``, ``pt``, the account's default, English."""
    chain: list[str] = []
    for tag in (requested, requested.split("-", 1)[0] if requested else None, settings.default_locale,
                settings.default_locale.split("-", 1)[0], "en"):
        if tag and tag not in chain:
            chain.append(tag)
    return chain


def pick_text(own_locale: str, own: dict[str, Any], translations: dict[str, Any],
              chain: list[str]) -> tuple[str, dict[str, Any]]:
    """The (locale, text) to show: the first language of ``chain`` the incident has, else its own."""
    for tag in chain:
        if tag == own_locale:
            return own_locale, own
        if tag in translations:
            return tag, translations[tag]
    return own_locale, own


def _candidates(session: Session, account_id: int, now: datetime,
                resolved_visible: timedelta) -> list[Incident]:
    """Incidents shown now or later (not yet started), never the long-finished ones."""
    return list(session.scalars(sa.select(Incident).where(
        Incident.account_id == account_id,
        sa.or_(Incident.resolved_at.is_(None), Incident.resolved_at > now - resolved_visible),
        sa.or_(Incident.ends_at.is_(None), Incident.ends_at > now, Incident.resolved_at.is_not(None)),
    )))


def _next_change(incidents: list[Incident], now: datetime, resolved_visible: timedelta) -> datetime | None:
    moments = []
    for incident in incidents:
        moments.append(incident.starts_at)
        if incident.ends_at is not None:
            moments.append(incident.ends_at)
        if incident.resolved_at is not None:
            moments.append(incident.resolved_at + resolved_visible)
    future = [moment for moment in moments if moment > now]
    return min(future) if future else None


def _updates_by_incident(session: Session, account_id: int,
                         ids: list[int]) -> dict[int, list[IncidentUpdate]]:
    grouped: dict[int, list[IncidentUpdate]] = defaultdict(list)
    if ids:
        for update in session.scalars(sa.select(IncidentUpdate).where(
                IncidentUpdate.account_id == account_id, IncidentUpdate.incident_id.in_(ids))
                .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())):
            grouped[update.incident_id].append(update)
    return grouped


def render_active(session: Session, account: AccountView, settings: BreakingNewsSettings, locale: str | None,
                  now: datetime) -> tuple[bytes, datetime | None]:
    """The bytes of ``active.json`` for a locale, and when they stop being current by the clock alone."""
    resolved_visible = timedelta(minutes=settings.resolved_visible_minutes)
    candidates = _candidates(session, account.id, now, resolved_visible)
    shown = sorted((i for i in candidates if is_shown(i, now, resolved_visible)),
                   key=lambda i: (i.resolved_at is not None, SEVERITY_ORDER[i.severity],
                                  -i.starts_at.timestamp()))
    updates = _updates_by_incident(session, account.id, [incident.id for incident in shown])
    chain = locale_chain(locale, settings)
    incidents = []
    for incident in shown:
        own = {"title": incident.title, "body": incident.body}
        text_locale, text = pick_text(incident.locale, own, incident.translations, chain)
        timeline = []
        for update in updates[incident.id][:UPDATES_SHOWN]:
            update_locale, update_text = pick_text(incident.locale, {"body": update.body},
                                                   update.translations, chain)
            timeline.append({"status": update.status, "at": update.created_at.isoformat(),
                             "locale": update_locale, "body": markup.parse(update_text["body"])})
        incidents.append({
            "id": incident.id, "revision": incident.revision,
            # With its creation time: ids start again in a new database (each `make run`), and a visitor's
            # browser must not take a new incident for one it dismissed.
            "dismiss_key": f"{incident.id}:{incident.revision}:{incident.created_at:%Y%m%d%H%M%S%f}",
            "severity": incident.severity, "status": incident.status, "locale": text_locale,
            "title": text["title"], "body": markup.parse(text["body"]),
            "body_html": markup.to_html(text["body"]),
            "affected_features": incident.affected_features, "starts_at": incident.starts_at.isoformat(),
            "ends_at": incident.ends_at.isoformat() if incident.ends_at else None,
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "updated_at": incident.updated_at.isoformat(), "updates": timeline,
        })
    quick_links = {str(row.form_id): row.links for row in session.scalars(
        sa.select(QuickLinks).where(QuickLinks.account_id == account.id).order_by(QuickLinks.form_id))}
    document = {"account": account.subdomain, "locale": chain[0], "poll_seconds": settings.poll_seconds,
                "labels": messages.labels(chain), "incidents": incidents, "quick_links": quick_links}
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return body, _next_change(candidates, now, resolved_visible)


ATOM = "http://www.w3.org/2005/Atom"


def render_feed(session: Session, account: AccountView, settings: BreakingNewsSettings, locale: str | None,
                now: datetime, self_url: str) -> bytes:
    """An Atom feed of the last 30 days' incidents (and every open one), newest change first."""
    ET.register_namespace("", ATOM)
    incidents = list(session.scalars(sa.select(Incident).where(
        Incident.account_id == account.id,
        sa.or_(Incident.resolved_at.is_(None), Incident.updated_at > now - timedelta(days=FEED_DAYS)))
        .order_by(Incident.updated_at.desc(), Incident.id.desc()).limit(50)))
    updates = _updates_by_incident(session, account.id, [incident.id for incident in incidents])
    chain = locale_chain(locale, settings)
    words = messages.labels(chain)

    def add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{ATOM}}}feed")
    add(feed, "id", f"urn:deskmate:{account.subdomain}:news")
    add(feed, "title", f"{account.subdomain}: {words['region']}")
    add(feed, "link", rel="self", href=self_url)
    newest = max((incident.updated_at for incident in incidents),
                 default=datetime(2000, 1, 1, tzinfo=now.tzinfo))
    add(feed, "updated", newest.isoformat())
    for incident in incidents:
        own = {"title": incident.title, "body": incident.body}
        text_locale, text = pick_text(incident.locale, own, incident.translations, chain)
        entry = add(feed, "entry")
        add(entry, "id", f"urn:deskmate:{account.subdomain}:incident:{incident.id}")
        add(entry, "title", f"{words[incident.severity]}: {text['title']} ({words[incident.status]})")
        add(entry, "published", incident.starts_at.isoformat())
        add(entry, "updated", incident.updated_at.isoformat())
        add(entry, "category", term=incident.severity)
        parts = [markup.to_html(text["body"])]
        for update in updates[incident.id]:
            _, update_text = pick_text(incident.locale, {"body": update.body}, update.translations, chain)
            heading = f"<p><strong>{words[update.status]}</strong> {update.created_at:%Y-%m-%d %H:%M} UTC</p>"
            parts.append(heading + markup.to_html(update_text["body"]))
        # The HTML is sanitised by nh3 once more as a whole; ElementTree escapes it for the XML.
        content = add(entry, "content", markup.sanitise("".join(parts)), type="html")
        content.set("xml:lang", text_locale)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8",
                                                                    xml_declaration=False)
