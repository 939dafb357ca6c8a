"""The routing plugin's tables: its decisions, its rules, the helpdesk's groups and where its exports stand.

Users and organizations live in the core's helpdesk mirror (``ctx.mirror``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.api import Base

_ID = sa.BigInteger()


def _account_fk() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.id", ondelete="CASCADE")



class RoutingDecision(Base):
    """How one ticket was classified and what was asked of the helpdesk; one row per ticket, versioned.

    ``status`` is ``waiting`` (directory data is being fetched), ``pending`` (the update is queued),
    ``applied``, ``unchanged`` (nothing to change) or ``failed``. ``snapshot`` is the newest state of the
    ticket seen in an event, so that a late classification decides on what the ticket is now.
    """

    __tablename__ = "routing_decisions"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "ticket_id"),
        sa.Index("ix_routing_decisions_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(_account_fk())
    ticket_id: Mapped[int] = mapped_column(_ID)
    version: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(16))
    segment: Mapped[str | None] = mapped_column(sa.String(64))
    rule: Mapped[str | None] = mapped_column(sa.String(200))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    # Why, as data (``rules.Why.to_dict()`` per reason): what the sidebar and the admin page translate.
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    tier: Mapped[str | None] = mapped_column(sa.String(100))
    group_name: Mapped[str | None] = mapped_column(sa.String(255))
    group_id: Mapped[int | None] = mapped_column(_ID)
    priority: Mapped[str | None] = mapped_column(sa.String(16))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    # The fields sent to the helpdesk for this version (empty when nothing needed changing).
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(sa.Text)
    # The same notes as data (``decide.note_words``): what the admin page translates.
    notes: Mapped[list[Any]] = mapped_column(default=list)
    organization_id: Mapped[int | None] = mapped_column(_ID)
    requester_id: Mapped[int | None] = mapped_column(_ID)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    snapshot_updated_at: Mapped[datetime | None]
    apply_key: Mapped[str | None] = mapped_column(sa.String(255))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]


class RoutingRuleSet(Base):
    """Rules saved through the admin API for one account; they replace the rules file while they exist."""

    __tablename__ = "routing_rule_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(_account_fk(), unique=True)
    text: Mapped[str] = mapped_column(sa.Text)
    format: Mapped[str] = mapped_column(sa.String(8))
    version: Mapped[int]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(sa.String(100))


class RoutingGroup(Base):
    """A helpdesk group, cached so that segment group names resolve to ids without an API call."""

    __tablename__ = "routing_groups"
    __table_args__ = (sa.UniqueConstraint("account_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(_account_fk())
    group_id: Mapped[int] = mapped_column(_ID)
    name: Mapped[str] = mapped_column(sa.String(255))
    is_default: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)
    refreshed_at: Mapped[datetime]


class RoutingSync(Base):
    """Where each directory refresh stands: the export cursor or start time, and when it last ran."""

    __tablename__ = "routing_sync"
    __table_args__ = (sa.UniqueConstraint("account_id", "stream"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(_account_fk())
    stream: Mapped[str] = mapped_column(sa.String(32))  # organizations, users, groups
    cursor: Mapped[str | None] = mapped_column(sa.Text)
    start_time: Mapped[int | None] = mapped_column(sa.BigInteger)
    synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
