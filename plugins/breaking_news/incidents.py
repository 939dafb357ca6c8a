"""Incidents: what admins may write, and what each write changes, announces and invalidates.

Every write here runs in the caller's transaction: the incident, its timeline, the version bump, the events
for other plugins and the Slack posts commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.api import PluginContext
from plugins.breaking_news import markup, messages
from plugins.breaking_news.models import Incident, IncidentTicket, IncidentUpdate, NewsVersion
from plugins.breaking_news.settings import BreakingNewsSettings, normalise_locale

PLUGIN = "breaking_news"
Severity = Literal["information", "degraded", "outage", "maintenance"]
OpenStatus = Literal["investigating", "identified", "monitoring"]
Status = Literal["investigating", "identified", "monitoring", "resolved"]


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=markup.MAX_SOURCE_CHARS)


class UpdateTextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=markup.MAX_SOURCE_CHARS)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-11-23T21:00:00Z")
    return value


def _terms(value: list[str]) -> list[str]:
    cleaned: list[str] = []
    for term in value:
        term = " ".join(term.split())
        if not 2 <= len(term) <= 100:
            raise ValueError("each keyword or feature must be 2 to 100 characters")
        if term.lower() not in (seen.lower() for seen in cleaned):
            cleaned.append(term)
    return cleaned


def _translations(value: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for locale, text in value.items():
        tag = normalise_locale(locale)
        if tag is None:
            raise ValueError(f"{locale!r} is not a language tag like it or pt-br")
        cleaned[tag] = text
    return cleaned


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else check(value)

    return optional


class IncidentIn(BaseModel):
    """The body of ``POST /admin/api/news/incidents``."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=markup.MAX_SOURCE_CHARS)
    locale: str | None = None
    translations: dict[str, TextIn] = Field(default_factory=dict, max_length=40)
    severity: Severity = "degraded"
    status: OpenStatus = "investigating"
    affected_features: list[str] = Field(default_factory=list, max_length=30)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    notify_requesters: bool = False

    _check_terms = field_validator("affected_features", "keywords")(_terms)
    _check_translations = field_validator("translations")(_translations)
    _check_times = field_validator("starts_at", "ends_at")(_aware)

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is not None and normalise_locale(value) is None:
            raise ValueError(f"{value!r} is not a language tag like en or pt-br")
        return normalise_locale(value) if value else None

    @model_validator(mode="after")
    def _window(self) -> IncidentIn:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class IncidentPatch(BaseModel):
    """The body of ``PATCH /admin/api/news/incidents/<id>``: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=markup.MAX_SOURCE_CHARS)
    translations: dict[str, TextIn] | None = Field(default=None, max_length=40)
    severity: Severity | None = None
    affected_features: list[str] | None = Field(default=None, max_length=30)
    keywords: list[str] | None = Field(default=None, max_length=50)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    notify_requesters: bool | None = None

    _check_terms = field_validator("affected_features", "keywords")(_optional(_terms))
    _check_translations = field_validator("translations")(_optional(_translations))
    _check_times = field_validator("starts_at", "ends_at")(_aware)


class UpdateIn(BaseModel):
    """The body of ``POST /admin/api/news/incidents/<id>/updates`` (and of ``/resolve``)."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    body: str = Field(default="", max_length=markup.MAX_SOURCE_CHARS)
    translations: dict[str, UpdateTextIn] = Field(default_factory=dict, max_length=40)
    notify_requesters: bool | None = None

    _check_translations = field_validator("translations")(_translations)


class IncidentError(ValueError):
    """A write that cannot be done as asked; the message is safe to show to the admin."""


def _rendered_translations(texts: dict[str, TextIn] | dict[str, UpdateTextIn]) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    for locale, text in texts.items():
        entry = text.model_dump()
        entry["body_html"] = markup.to_html(entry["body"])
        rendered[locale] = entry
    return rendered


def bump_version(session: Session, account_id: int, now: datetime) -> None:
    """Tell every process that the account's public documents changed (in the caller's transaction)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    first = dialect.insert(NewsVersion).values(account_id=account_id, version=1, updated_at=now)
    session.execute(first.on_conflict_do_update(
        index_elements=["account_id"], set_={"version": NewsVersion.version + 1, "updated_at": now}))


def read_version(session: Session, account_id: int) -> int:
    return session.scalar(sa.select(NewsVersion.version).where(NewsVersion.account_id == account_id)) or 0


def _schedule(incident: Incident, now: datetime) -> None:
    """Set the next start or end the timed pass must announce."""
    if incident.resolved_at is not None:
        incident.next_transition_at = None
    elif incident.start_announced_at is None:
        incident.next_transition_at = incident.starts_at
    elif incident.ends_at is not None and incident.end_announced_at is None:
        incident.next_transition_at = incident.ends_at
    else:
        incident.next_transition_at = None


def is_live(incident: Incident, now: datetime) -> bool:
    """Started, not ended, not resolved: the window in which new tickets are matched against it."""
    return (incident.resolved_at is None and incident.starts_at <= now
            and (incident.ends_at is None or now < incident.ends_at))


def live_incidents(session: Session, account_id: int, now: datetime) -> list[Incident]:
    return list(session.scalars(
        sa.select(Incident).where(Incident.account_id == account_id, Incident.resolved_at.is_(None),
                                  Incident.starts_at <= now,
                                  sa.or_(Incident.ends_at.is_(None), Incident.ends_at > now))
        .order_by(Incident.id)))


def ticket_counts(session: Session, account_id: int, incident_ids: list[int]) -> dict[int, int]:
    if not incident_ids:
        return {}
    rows = session.execute(
        sa.select(IncidentTicket.incident_id, sa.func.count()).where(
            IncidentTicket.account_id == account_id, IncidentTicket.incident_id.in_(incident_ids))
        .group_by(IncidentTicket.incident_id)).all()
    return {incident_id: count for incident_id, count in rows}


def create_incident(ctx: PluginContext, data: IncidentIn) -> Incident:
    """Publish an incident (now, or at ``starts_at`` for scheduled maintenance)."""
    settings: BreakingNewsSettings = ctx.settings  # type: ignore[assignment]
    now = ctx.now()
    starts_at = data.starts_at or now
    if data.ends_at is not None and data.ends_at <= now:
        raise IncidentError("ends_at is already past")
    incident = Incident(
        account_id=ctx.account.id, title=data.title, body=data.body, body_html=markup.to_html(data.body),
        locale=data.locale or settings.default_locale, translations=_rendered_translations(data.translations),
        severity=data.severity, status=data.status, affected_features=data.affected_features,
        keywords=data.keywords, starts_at=starts_at, ends_at=data.ends_at, revision=1,
        notify_requesters=data.notify_requesters, created_at=now, updated_at=now,
        start_announced_at=now if starts_at <= now else None,
    )
    _schedule(incident, now)
    ctx.session.add(incident)
    ctx.session.flush()
    ctx.session.add(IncidentUpdate(account_id=ctx.account.id, incident_id=incident.id, status=data.status,
                                   body=data.body, body_html=incident.body_html,
                                   translations=dict(incident.translations), created_at=now))
    bump_version(ctx.session, ctx.account.id, now)
    ctx.emit(f"{PLUGIN}.incident_published", event_data(incident), key=f"incident:{incident.id}:published")
    channel = settings.slack_channel
    if channel and ctx.has_slack:
        incident.slack_posted = True
        ctx.enqueue("slack.post_message", slack_key(incident.id, "published"),
                    {"channel": channel, **messages.published(incident, ctx.account.helpdesk_url)})
    return incident


def update_incident(ctx: PluginContext, incident: Incident, patch: IncidentPatch) -> Incident:
    """Change an open incident's text, severity, terms or window; customers see it as a new revision."""
    if incident.resolved_at is not None:
        raise IncidentError("a resolved incident cannot be changed")
    now = ctx.now()
    given = patch.model_fields_set
    if "title" in given and patch.title is not None:
        incident.title = patch.title
    if "body" in given and patch.body is not None:
        incident.body, incident.body_html = patch.body, markup.to_html(patch.body)
    if "translations" in given and patch.translations is not None:
        incident.translations = _rendered_translations(patch.translations)
    if "severity" in given and patch.severity is not None:
        incident.severity = patch.severity
    if "affected_features" in given and patch.affected_features is not None:
        incident.affected_features = patch.affected_features
    if "keywords" in given and patch.keywords is not None:
        incident.keywords = patch.keywords
    if "notify_requesters" in given and patch.notify_requesters is not None:
        incident.notify_requesters = patch.notify_requesters
    if "starts_at" in given:
        incident.starts_at = patch.starts_at or now
        if incident.starts_at > now:
            incident.start_announced_at = None  # moved ahead: the timed pass announces the new start
    if "ends_at" in given:
        incident.ends_at = patch.ends_at
        if patch.ends_at is None or patch.ends_at > now:
            incident.end_announced_at = None
    if incident.ends_at is not None and incident.ends_at <= incident.starts_at:
        raise IncidentError("ends_at must be after starts_at")
    _schedule(incident, now)
    incident.revision += 1
    incident.updated_at = now
    bump_version(ctx.session, ctx.account.id, now)
    ctx.emit(f"{PLUGIN}.incident_changed", event_data(incident),
             key=f"incident:{incident.id}:revision:{incident.revision}")
    return incident


def add_update(ctx: PluginContext, incident: Incident, data: UpdateIn) -> IncidentUpdate:
    """Add a dated status update to the timeline; status ``resolved`` resolves the incident."""
    if incident.resolved_at is not None:
        raise IncidentError("the incident is already resolved")
    settings: BreakingNewsSettings = ctx.settings  # type: ignore[assignment]
    now = ctx.now()
    update = IncidentUpdate(account_id=ctx.account.id, incident_id=incident.id, status=data.status,
                            body=data.body, body_html=markup.to_html(data.body),
                            translations=_rendered_translations(data.translations), created_at=now)
    ctx.session.add(update)
    if data.notify_requesters is not None:
        incident.notify_requesters = data.notify_requesters
    incident.status = data.status
    incident.revision += 1
    incident.updated_at = now
    if data.status == "resolved":
        incident.resolved_at = now
    _schedule(incident, now)
    ctx.session.flush()
    bump_version(ctx.session, ctx.account.id, now)
    what = "resolved" if data.status == "resolved" else f"update:{update.id}"
    ctx.emit(f"{PLUGIN}.incident_{'resolved' if data.status == 'resolved' else 'updated'}",
             {**event_data(incident), "update_id": update.id}, key=f"incident:{incident.id}:{what}")
    if incident.slack_posted and settings.slack_channel and ctx.has_slack:
        ctx.enqueue("slack.post_message", slack_key(incident.id, what),
                    {"thread_of": slack_key(incident.id, "published"), **messages.updated(incident, update)},
                    after=slack_key(incident.id, "published"))
        if data.status == "resolved":
            ctx.enqueue("slack.update_message", slack_key(incident.id, "published:resolved"),
                        {"message_of": slack_key(incident.id, "published"),
                         **messages.published(incident, ctx.account.helpdesk_url)},
                        after=slack_key(incident.id, "published"))
    return update


def announce_transitions(ctx: PluginContext) -> int:
    """The timed pass: announce scheduled starts and ends that came due (events and Slack thread replies)."""
    settings: BreakingNewsSettings = ctx.settings  # type: ignore[assignment]
    now = ctx.now()
    due = ctx.session.scalars(
        sa.select(Incident).where(Incident.account_id == ctx.account.id, Incident.next_transition_at <= now)
        .order_by(Incident.next_transition_at).limit(200).with_for_update(skip_locked=True)).all()
    for incident in due:
        for what, moment in (("started", incident.starts_at), ("ended", incident.ends_at)):
            announced = incident.start_announced_at if what == "started" else incident.end_announced_at
            if moment is None or announced is not None or moment > now:
                continue
            if what == "started":
                incident.start_announced_at = now
            else:
                incident.end_announced_at = now
            stamp = f"{moment:%Y%m%dT%H%M%S}"
            ctx.emit(f"{PLUGIN}.incident_{what}", event_data(incident),
                     key=f"incident:{incident.id}:{what}:{stamp}")
            if incident.slack_posted and settings.slack_channel and ctx.has_slack:
                ctx.enqueue("slack.post_message", slack_key(incident.id, f"{what}:{stamp}"),
                            {"thread_of": slack_key(incident.id, "published"),
                             **messages.transition(incident, what)},
                            after=slack_key(incident.id, "published"))
        _schedule(incident, now)
    return len(due)


def slack_key(incident_id: int, what: str) -> str:
    return f"{PLUGIN}:slack:incident:{incident_id}:{what}"


def event_data(incident: Incident) -> dict[str, Any]:
    """What other plugins learn about an incident from this plugin's events."""
    return {
        "incident_id": incident.id, "title": incident.title, "severity": incident.severity,
        "status": incident.status, "affected_features": list(incident.affected_features),
        "keywords": list(incident.keywords), "revision": incident.revision,
        "starts_at": incident.starts_at.isoformat(),
        "ends_at": incident.ends_at.isoformat() if incident.ends_at else None,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


def incident_json(incident: Incident, updates: list[IncidentUpdate], ticket_count: int,
                  now: datetime, resolved_visible: timedelta) -> dict[str, Any]:
    """The admin API's view of an incident (everything, all languages)."""
    return {
        "id": incident.id, "title": incident.title, "body": incident.body, "body_html": incident.body_html,
        "locale": incident.locale, "translations": incident.translations, "severity": incident.severity,
        "status": incident.status, "affected_features": incident.affected_features,
        "keywords": incident.keywords, "starts_at": incident.starts_at.isoformat(),
        "ends_at": incident.ends_at.isoformat() if incident.ends_at else None,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "revision": incident.revision, "notify_requesters": incident.notify_requesters,
        "live": is_live(incident, now), "shown_in_widget": is_shown(incident, now, resolved_visible),
        "ticket_count": ticket_count,
        "created_at": incident.created_at.isoformat(), "updated_at": incident.updated_at.isoformat(),
        "updates": [{"id": update.id, "status": update.status, "body": update.body,
                     "body_html": update.body_html, "translations": update.translations,
                     "created_at": update.created_at.isoformat()}
                    for update in updates],
    }


def is_shown(incident: Incident, now: datetime, resolved_visible: timedelta) -> bool:
    """Whether the public widget shows the incident at ``now`` (resolved ones linger, saying so)."""
    if incident.starts_at > now:
        return False
    if incident.resolved_at is not None:
        return now < incident.resolved_at + resolved_visible
    return incident.ends_at is None or now < incident.ends_at
