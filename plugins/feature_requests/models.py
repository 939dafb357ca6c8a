"""The feature-request tables: requests, their status history, ticket links, merges and two small caches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.api import Base

STATUSES = ("open", "planned", "in_progress", "released", "declined", "duplicate")
LINKED_VIA = ("sidebar", "tag", "api")
_ACCOUNT = "accounts.id"
_REQUEST = "feature_requests_requests.id"


class FeatureRequest(Base):
    """A feature requesters asked for; a duplicate points at the request it was merged into."""

    __tablename__ = "feature_requests_requests"
    __table_args__ = (sa.Index("ix_feature_requests_requests_status", "account_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT, ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    changelog_text: Mapped[str | None] = mapped_column(sa.Text)
    changelog_url: Mapped[str | None] = mapped_column(sa.String(500))
    duplicate_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("feature_requests_requests.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    released_at: Mapped[datetime | None]


class StatusChange(Base):
    """One step of a request's status history (also merges, undos and releases)."""

    __tablename__ = "feature_requests_status_changes"
    __table_args__ = (
        sa.Index("ix_feature_requests_status_changes_request", "account_id", "feature_request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT, ondelete="CASCADE"))
    feature_request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feature_requests_requests.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    changed_by: Mapped[str] = mapped_column(sa.String(128))
    note: Mapped[str | None] = mapped_column(sa.Text)
    changed_at: Mapped[datetime]


class Link(Base):
    """A ticket linked to a request; its requester is one of the request's requesters."""

    __tablename__ = "feature_requests_links"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "feature_request_id", "ticket_id"),
        sa.Index("ix_feature_requests_links_ticket", "account_id", "ticket_id"),
        sa.Index("ix_feature_requests_links_requester", "account_id", "requester_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT, ondelete="CASCADE"))
    feature_request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feature_requests_requests.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(sa.BigInteger)
    requester_id: Mapped[int | None] = mapped_column(sa.BigInteger)  # None until the ticket is looked up
    organization_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    segment: Mapped[str | None] = mapped_column(sa.String(64))
    linked_by: Mapped[str] = mapped_column(sa.String(128))
    linked_via: Mapped[str] = mapped_column(sa.String(16))
    # The request this link belonged to before a merge moved it here (so that the merge can be undone).
    merged_from_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("feature_requests_requests.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Merge(Base):
    """A duplicate merged into a target: what moved, so that it can be undone until someone is told."""

    __tablename__ = "feature_requests_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT, ondelete="CASCADE"))
    duplicate_id: Mapped[int] = mapped_column(sa.ForeignKey(_REQUEST, ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(sa.ForeignKey(_REQUEST, ondelete="CASCADE"))
    previous_status: Mapped[str] = mapped_column(sa.String(16))
    moved_link_ids: Mapped[list[Any]]
    merged_by: Mapped[str] = mapped_column(sa.String(128))
    merged_at: Mapped[datetime]
    undone_by: Mapped[str | None] = mapped_column(sa.String(128))
    undone_at: Mapped[datetime | None]


class TicketCache(Base):
    """The plugin's own state of a linked ticket: its segment and when each ``fr_`` tag last changed.

    The ticket itself (status, requester, organization) is the core's helpdesk mirror (``ctx.mirror``).
    """

    __tablename__ = "feature_requests_tickets"
    __table_args__ = (sa.UniqueConstraint("account_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT, ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(sa.BigInteger)
    segment: Mapped[str | None] = mapped_column(sa.String(64))
    # When the last applied change happened, per fr_ tag: older tag events arriving late are ignored.
    tag_changes: Mapped[dict[str, Any]]
    seen_at: Mapped[datetime]


class RequesterCache(Base):
    """A requester's segment as routing last announced it (``routing.ticket_routed``); the person is the mirror's."""

    __tablename__ = "feature_requests_requesters"
    __table_args__ = (sa.UniqueConstraint("account_id", "requester_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT, ondelete="CASCADE"))
    requester_id: Mapped[int] = mapped_column(sa.BigInteger)
    segment: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime]
