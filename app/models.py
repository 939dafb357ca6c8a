"""The core's tables: accounts, inbound events, work items, API tokens, worker heartbeats, rate buckets.

Every row that describes helpdesk data carries its ``account_id``: one deployment can serve many helpdesks
and no query may cross accounts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto import EncryptedString
from app.db import Base

# The predicates of the queue tables' partial indexes; migration 0006_retention writes the same text. A query
# uses such an index only when its WHERE holds the predicate itself, as literal SQL (SQLite matches the term
# exactly, and PostgreSQL's generic plans cannot prove it from a bound parameter): add the constant as a
# conjunct, e.g. ``.where(EVENTS_OPEN, InboundEvent.state == "pending", ...)``.
EVENTS_OPEN = sa.text("state IN ('pending', 'processing')")
WORK_OPEN = sa.text("state IN ('pending', 'running')")
FAILED_ROWS = sa.text("state = 'failed'")
DONE_ROWS = sa.text("state = 'done'")


class Account(Base):
    """One helpdesk account (a Zendesk subdomain) with its credentials, secrets and settings."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    subdomain: Mapped[str] = mapped_column(sa.String(63), unique=True)
    zendesk_account_id: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    zendesk_base_url: Mapped[str | None] = mapped_column(sa.String(255))
    zendesk_email: Mapped[str | None] = mapped_column(sa.String(255))
    zendesk_api_token: Mapped[str | None] = mapped_column(EncryptedString())
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedString())
    slack_bot_token: Mapped[str | None] = mapped_column(EncryptedString())
    slack_signing_secret: Mapped[str | None] = mapped_column(EncryptedString())
    slack_base_url: Mapped[str | None] = mapped_column(sa.String(255))
    slack_team_id: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    rate_limit_per_minute: Mapped[int] = mapped_column(default=700)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def __repr__(self) -> str:  # never shows secrets
        return f"<Account {self.id} {self.subdomain}>"


class InboundEvent(Base):
    """An event stored on arrival (from a helpdesk webhook or emitted by a plugin) and handed to plugins."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "event_key"),
        sa.UniqueConstraint("account_id", "invocation_id"),
        # Partial indexes (``app.retention``): claims and /healthz read only the rows still to do, and those
        # failed or done, through indexes that hold only such rows, so they cost the same at any table size.
        sa.Index("ix_inbound_events_due", "account_id", "state", "next_attempt_at", postgresql_where=EVENTS_OPEN,
                 sqlite_where=EVENTS_OPEN),
        # The claim's: each account's open events in the order they are handled, so a claim reads its share
        # and stops, however long the account's backlog (``inbox.claim``).
        sa.Index("ix_inbound_events_claim", "account_id", "id", postgresql_where=EVENTS_OPEN,
                 sqlite_where=EVENTS_OPEN),
        sa.Index("ix_inbound_events_failed", "account_id", "processed_at", postgresql_where=FAILED_ROWS,
                 sqlite_where=FAILED_ROWS),
        sa.Index("ix_inbound_events_done", "account_id", "processed_at", postgresql_where=DONE_ROWS,
                 sqlite_where=DONE_ROWS),
        sa.Index("ix_inbound_events_ticket", "account_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(sa.String(32))  # "zendesk" or the emitting plugin's name
    event_type: Mapped[str] = mapped_column(sa.String(96))
    ticket_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    event_key: Mapped[str] = mapped_column(sa.String(128))
    invocation_id: Mapped[str | None] = mapped_column(sa.String(128))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    pending_plugins: Mapped[list[Any] | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    received_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(sa.String(128))
    processed_at: Mapped[datetime | None]


class WorkItem(Base):
    """One side effect to perform (an outbox row): unique by its idempotency key within the account."""

    __tablename__ = "work_items"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "idempotency_key"),
        sa.Index("ix_work_items_due", "account_id", "state", "next_attempt_at", postgresql_where=WORK_OPEN,
                 sqlite_where=WORK_OPEN),
        # The claim's (``workqueue.claim``): each account's open items by due time, read up to now and no further.
        sa.Index("ix_work_items_claim", "account_id", "next_attempt_at", "id", postgresql_where=WORK_OPEN,
                 sqlite_where=WORK_OPEN),
        sa.Index("ix_work_items_failed", "account_id", "finished_at", postgresql_where=FAILED_ROWS,
                 sqlite_where=FAILED_ROWS),
        sa.Index("ix_work_items_done", "account_id", "finished_at", postgresql_where=DONE_ROWS,
                 sqlite_where=DONE_ROWS),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str] = mapped_column(sa.String(255))
    payload: Mapped[dict[str, Any]]
    # The idempotency key of a work item that must be done first; its result is handed to this one.
    after_key: Mapped[str | None] = mapped_column(sa.String(255))
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(sa.String(128))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any] | None]
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ApiToken(Base):
    """An admin API token; only its SHA-256 is stored, the token itself is shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AdminSession(Base):
    """A signed-in admin page session (``app.admin_pages``): the cookie names it, the row makes it valid.

    The signed cookie alone would stay valid until it expires; with the row deleted at logout, a copy of the
    cookie opens nothing. Only the SHA-256 of the session id is stored, so a database dump holds no sessions.
    """

    __tablename__ = "admin_sessions"
    __table_args__ = (sa.Index("ix_admin_sessions_expires_at", "expires_at"),)

    session_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_tokens.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class WorkerHeartbeat(Base):
    """A worker process's last sign of life, for /healthz and for operators."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    items_done: Mapped[int] = mapped_column(default=0)


class TimerLease(Base):
    """Which worker runs a timed pass for an account in the current interval (``app.worker.timers``).

    Every worker's scheduler fires every timer; the one that moves ``leased_until`` past now runs the pass, the
    others skip it until the lease ends, so a pass runs once per account per interval however many workers.
    """

    __tablename__ = "timer_leases"

    name: Mapped[str] = mapped_column(sa.String(160), primary_key=True)  # "<plugin>:<timer>"
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    leased_until: Mapped[datetime]
    owner: Mapped[str] = mapped_column(sa.String(128))


class RateBucket(Base):
    """The token bucket of one account's helpdesk API budget, shared by every process through the database."""

    __tablename__ = "rate_buckets"

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    api: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    tokens: Mapped[float]
    refreshed_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
    # The limit the helpdesk states in its answers (X-Rate-Limit), once one did; until then the configured one.
    limit_per_minute: Mapped[int | None]
    limit_learnt_at: Mapped[datetime | None]


class HelpdeskCursor(Base):
    """How far Deskmate has heard from the helpdesk, per account and stream (``app.catch_up``).

    Every ticket change up to ``heard_until`` has reached the inbox, by webhook or by a catch-up pass; the next
    pass reads the incremental export from there. ``leased_by``/``leased_until``: the process running a pass.
    """

    __tablename__ = "helpdesk_cursors"

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    stream: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # "tickets"
    heard_until: Mapped[datetime]
    events_made: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # events stored by catch-up, in all
    # On the "tickets" row: until when deliveries may have been lost (a pass found changes never received, or
    # none had run for a while: Deskmate was down). Until the cursors pass it, plugins wait (``heard_until``).
    gap_until: Mapped[datetime | None]
    last_pass_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    leased_by: Mapped[str | None] = mapped_column(sa.String(128))
    leased_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RequesterNoticeRecord(Base):
    """One requester notice (``app.notices``): unique by account, subject, requester and kind.

    The row is the exactly-once guarantee: a second release, a second worker or a crash can never record the
    same notice twice, and its delivery work item carries the same identity as its idempotency key.
    """

    __tablename__ = "requester_notices"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "subject_key", "requester_id", "kind"),
        sa.UniqueConstraint("account_id", "work_key"),
        sa.Index("ix_requester_notices_subject", "account_id", "subject_key"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    subject_key: Mapped[str] = mapped_column(sa.String(128))  # what it is about: "feature_request:42"
    requester_id: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(64))  # "released", "incident_resolved", ...
    work_key: Mapped[str] = mapped_column(sa.String(255))  # the delivery work item's idempotency key
    ticket_ids: Mapped[list[Any]]  # the requester's tickets about the subject, candidates for the comment
    templates: Mapped[dict[str, Any]]  # {"default_locale": "en", "locales": {"en": {"subject", "body"}}}
    context: Mapped[dict[str, Any]]  # placeholder values besides the requester's name
    tags: Mapped[list[Any]]
    requester_name: Mapped[str | None] = mapped_column(sa.String(255))
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    # Filled in by the delivery: how the requester was told.
    delivered_at: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(sa.String(16))  # "comment" or "followup"
    ticket_id: Mapped[int | None] = mapped_column(sa.BigInteger)  # the commented ticket or the follow-up
    source_ticket_id: Mapped[int | None] = mapped_column(sa.BigInteger)  # the closed ticket followed up
    locale: Mapped[str | None] = mapped_column(sa.String(16))
