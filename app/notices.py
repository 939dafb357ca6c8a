"""Requester notices: tell each requester something once, on their open ticket or in a follow-up ticket.

A plugin calls ``notify_requesters(ctx, [RequesterNotice(...), ...])`` in its transaction. Each notice is
recorded as one row, unique by (account, ``subject_key``, ``requester_id``, ``kind``), and its delivery is
enqueued as a ``zendesk.requester_notice`` work item whose idempotency key is the same identity. That row is
the exactly-once guarantee: releasing twice, two workers or a crash half-way can never record a notice twice;
the delivery itself is made safe to retry by the helpdesk (audit metadata, ``Idempotency-Key``), see
``app.notice_delivery``.

How the requester is told is decided when the notice is delivered, from the tickets' current state: a public
comment on their most recent open ticket among ``ticket_ids``, or, when all of those are closed, a follow-up
ticket of the most recent one. Messages come from per-locale templates with ``{placeholder}`` fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import workqueue
from app.db import insert_for
from app.models import RequesterNoticeRecord, WorkItem

NOTICE_WORK_KIND = "zendesk.requester_notice"
# Placeholders every notice can use, filled in at delivery from the requester's helpdesk profile.
REQUESTER_PLACEHOLDERS = frozenset({"name", "first_name"})
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
DELIVERED, PENDING, FAILED, CANCELLED = "delivered", "pending", "failed", "cancelled"
NOTICE_STATES = (DELIVERED, PENDING, FAILED, CANCELLED)


@dataclass(frozen=True)
class NoticeTemplate:
    """One locale's message: ``subject`` names a follow-up ticket, ``body`` is the public comment."""

    subject: str
    body: str


@dataclass(frozen=True)
class NoticeTemplates:
    """Per-locale variants of a message, with the locale to fall back to."""

    locales: Mapping[str, NoticeTemplate]
    default_locale: str = "en"

    def __post_init__(self) -> None:
        normalised = {_normalise_locale(name): template for name, template in self.locales.items()}
        if not normalised:
            raise ValueError("a notice needs at least one template")
        object.__setattr__(self, "locales", normalised)
        object.__setattr__(self, "default_locale", _normalise_locale(self.default_locale))
        if self.default_locale not in normalised:
            raise ValueError(f"the default locale {self.default_locale!r} has no template")

    def for_locale(self, locale: str | None) -> tuple[str, NoticeTemplate]:
        """The template for a locale: exact (``pt-br``), then its language (``pt``), then the default."""
        if locale:
            wanted = _normalise_locale(locale)
            for candidate in (wanted, wanted.split("-", 1)[0]):
                if candidate in self.locales:
                    return candidate, self.locales[candidate]
        return self.default_locale, self.locales[self.default_locale]

    def to_json(self) -> dict[str, Any]:
        return {"default_locale": self.default_locale,
                "locales": {name: {"subject": t.subject, "body": t.body} for name, t in self.locales.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoticeTemplates:
        """Read templates from ``{"default_locale": "en", "locales": {"en": {"subject", "body"}}}``.

        Raises:
            ValueError: the shape is wrong or the default locale has no template.
        """
        locales = data.get("locales")
        if not isinstance(locales, Mapping) or not locales:
            raise ValueError("templates need 'locales': {locale: {subject, body}}")
        parsed = {}
        for name, value in locales.items():
            body = value.get("body") if isinstance(value, Mapping) else None
            if not isinstance(body, str) or not body.strip():
                raise ValueError(f"the {name!r} template needs a non-empty 'body'")
            subject = value.get("subject")
            if not isinstance(subject, str) or not subject.strip():
                raise ValueError(f"the {name!r} template needs a non-empty 'subject'")
            parsed[str(name)] = NoticeTemplate(subject=subject, body=body)
        return cls(parsed, str(data.get("default_locale") or "en"))

    def placeholders(self) -> set[str]:
        """Every placeholder any variant uses."""
        return {name for t in self.locales.values() for text in (t.subject, t.body)
                for name in _PLACEHOLDER.findall(text)}

    def unknown_placeholders(self, known: Iterable[str]) -> set[str]:
        """Placeholders used in any variant that neither ``known`` nor the requester's profile fills in."""
        return self.placeholders() - set(known) - REQUESTER_PLACEHOLDERS


def _normalise_locale(locale: str) -> str:
    return locale.strip().lower().replace("_", "-")


def render(text: str, values: Mapping[str, Any]) -> str:
    """Fill ``{placeholder}`` fields; one without a value (None) is left as written, never raises."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(fill, text)


def requester_values(name: str | None) -> dict[str, str]:
    """The placeholders a requester's profile fills in; a missing name reads as a neutral greeting."""
    clean = (name or "").strip()
    return {"name": clean or "there", "first_name": clean.split()[0] if clean else "there"}


@dataclass(frozen=True)
class RequesterNotice:
    """What to tell one requester, about what, and which of their tickets it concerns.

    ``subject_key`` names what the notice is about (``feature_request:42``, ``incident:7``); with
    ``requester_id`` and ``kind`` (``released``) it identifies the notice: recording it twice is a no-op.
    ``ticket_ids`` are the requester's tickets about the subject (the most recent open one is commented on).
    ``context`` fills the templates' placeholders besides ``{name}`` and ``{first_name}``.
    """

    requester_id: int
    kind: str
    subject_key: str
    ticket_ids: Sequence[int]
    templates: NoticeTemplates
    context: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()
    requester_name: str | None = None

    @property
    def key(self) -> str:
        return notice_key(self.subject_key, self.requester_id, self.kind)


def notice_key(subject_key: str, requester_id: int, kind: str) -> str:
    """The idempotency key of a notice's delivery: the subject, the person and the kind of notice."""
    return f"notice:{subject_key}:{kind}:requester:{requester_id}"


@dataclass(frozen=True)
class NotifyResult:
    """What ``notify_requesters`` did: the notices it recorded now, and those that already existed."""

    recorded: list[str]
    already_recorded: list[str]


def notify_requesters(ctx: Any, notices: Iterable[RequesterNotice]) -> NotifyResult:
    """Record each notice once and enqueue its delivery, in the caller's transaction.

    ``ctx`` is the calling plugin's ``PluginContext``. A notice whose identity is already recorded (told, or
    being told) is skipped: calling this again with the same notices is harmless.

    Raises:
        ValueError: a notice has no ticket, an over-long key, or duplicates another in the same call.
    """
    notices = list(notices)
    seen: set[str] = set()
    for notice in notices:
        if notice.key in seen:
            raise ValueError(f"the same notice is listed twice: {notice.key}")
        seen.add(notice.key)
        if not notice.ticket_ids:
            raise ValueError(f"notice {notice.key} names no ticket of the requester")
        if len(notice.subject_key) > 128 or len(notice.kind) > 64 or len(notice.key) > 255:
            raise ValueError(f"notice {notice.key}: subject key, kind or key too long")
    session: Session = ctx.session
    now = ctx.now()
    recorded: list[str] = []
    for chunk_start in range(0, len(notices), 500):
        chunk = notices[chunk_start:chunk_start + 500]
        rows = [{
            "account_id": ctx.account.id, "subject_key": n.subject_key, "requester_id": int(n.requester_id),
            "kind": n.kind, "work_key": n.key, "ticket_ids": sorted({int(t) for t in n.ticket_ids}),
            "templates": n.templates.to_json(), "context": dict(n.context), "tags": list(n.tags),
            "requester_name": n.requester_name, "created_by": ctx.plugin, "created_at": now,
        } for n in chunk]
        insert = insert_for(session, RequesterNoticeRecord)
        statement = insert.values(rows).on_conflict_do_nothing().returning(RequesterNoticeRecord.work_key)
        recorded.extend(session.scalars(statement).all())
    fresh = set(recorded)
    for notice in notices:
        if notice.key in fresh:
            ctx.enqueue_for_core(NOTICE_WORK_KIND, notice.key, {
                "subject_key": notice.subject_key, "kind": notice.kind, "requester_id": int(notice.requester_id)})
    ordered = [n.key for n in notices if n.key in fresh]
    return NotifyResult(recorded=ordered, already_recorded=[n.key for n in notices if n.key not in fresh])


# --- what happened to them ---------------------------------------------------------------------------------

def _state_of(record: RequesterNoticeRecord, item_state: str | None) -> str:
    if record.delivered_at is not None:
        return DELIVERED
    if item_state == workqueue.FAILED:
        return FAILED
    if item_state == workqueue.CANCELLED:
        return CANCELLED
    return PENDING


def _query(account_id: int, subject_keys: Sequence[str] | None, kind: str | None) -> Any:
    statement = (
        sa.select(RequesterNoticeRecord, WorkItem.state, WorkItem.attempts, WorkItem.last_error, WorkItem.id)
        .outerjoin(WorkItem, sa.and_(WorkItem.account_id == RequesterNoticeRecord.account_id,
                                     WorkItem.idempotency_key == RequesterNoticeRecord.work_key))
        .where(RequesterNoticeRecord.account_id == account_id)
    )
    if subject_keys is not None:
        statement = statement.where(RequesterNoticeRecord.subject_key.in_(list(subject_keys)))
    if kind is not None:
        statement = statement.where(RequesterNoticeRecord.kind == kind)
    return statement


def list_notices(session: Session, account_id: int, *, subject_keys: Sequence[str] | None = None,
                 kind: str | None = None, state: str | None = None,
                 limit: int = 1000) -> list[dict[str, Any]]:
    """The account's notices (optionally of some subjects, one kind, one state), oldest first, as JSON."""
    rows = session.execute(_query(account_id, subject_keys, kind).order_by(RequesterNoticeRecord.id)).all()
    listed = []
    for record, item_state, attempts, last_error, item_id in rows:
        notice_state = _state_of(record, item_state)
        if state is not None and notice_state != state:
            continue
        listed.append({
            "id": record.id, "subject_key": record.subject_key, "kind": record.kind,
            "requester_id": record.requester_id, "requester_name": record.requester_name,
            "key": record.work_key, "state": notice_state, "channel": record.channel,
            "ticket_id": record.ticket_id, "source_ticket_id": record.source_ticket_id,
            "locale": record.locale,
            "candidate_ticket_ids": record.ticket_ids, "attempts": attempts or 0,
            "last_error": None if notice_state == DELIVERED else last_error, "work_item_id": item_id,
            "created_at": record.created_at.isoformat(),
            "delivered_at": record.delivered_at.isoformat() if record.delivered_at else None,
        })
        if len(listed) >= limit:
            break
    return listed


def summarise(session: Session, account_id: int, *, subject_keys: Sequence[str] | None = None,
              kind: str | None = None) -> dict[str, int]:
    """Counts of notices by state (delivered, pending, failed, cancelled) and how delivered ones went out."""
    counts = dict.fromkeys((*NOTICE_STATES, "comment", "followup", "total"), 0)
    rows = session.execute(_query(account_id, subject_keys, kind).with_only_columns(
        RequesterNoticeRecord.delivered_at, RequesterNoticeRecord.channel, WorkItem.state)).all()
    for delivered_at, channel, item_state in rows:
        counts["total"] += 1
        if delivered_at is not None:
            counts[DELIVERED] += 1
            if channel in ("comment", "followup"):
                counts[channel] += 1
        elif item_state == workqueue.FAILED:
            counts[FAILED] += 1
        elif item_state == workqueue.CANCELLED:
            counts[CANCELLED] += 1
        else:
            counts[PENDING] += 1
    return counts


def told_requesters(session: Session, account_id: int, subject_keys: Sequence[str], kind: str) -> set[int]:
    """The requesters who already have a notice of ``kind`` about any of ``subject_keys`` (in any state)."""
    if not subject_keys:
        return set()
    record = RequesterNoticeRecord
    return set(session.scalars(sa.select(record.requester_id).where(
        record.account_id == account_id, record.subject_key.in_(list(subject_keys)),
        record.kind == kind)).all())


def retry_failed_notices(session: Session, account_id: int, *, subject_keys: Sequence[str] | None,
                         now: datetime) -> int:
    """Give every failed notice (of the subjects, or all) a fresh set of delivery attempts."""
    statement = sa.select(WorkItem.id).join(
        RequesterNoticeRecord, sa.and_(WorkItem.account_id == RequesterNoticeRecord.account_id,
                                       WorkItem.idempotency_key == RequesterNoticeRecord.work_key)
    ).where(WorkItem.account_id == account_id, WorkItem.state == workqueue.FAILED,
            RequesterNoticeRecord.delivered_at.is_(None))
    if subject_keys is not None:
        statement = statement.where(RequesterNoticeRecord.subject_key.in_(list(subject_keys)))
    ids = list(session.scalars(statement).all())
    if not ids:
        return 0
    return workqueue.retry_failed(session, account_id=account_id, item_ids=ids, now=now)
