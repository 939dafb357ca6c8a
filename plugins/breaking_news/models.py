"""The breaking-news tables: incidents, status updates, linked tickets, quick links, the version counter.

Every row carries ``account_id``. The version counter (one row per account) is bumped in the same transaction
as every write that changes what the public widget shows, so that each web process can tell, with one cheap
read, whether its rendered cache is still current.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.api import Base

SEVERITIES = ("information", "degraded", "outage", "maintenance")
STATUSES = ("investigating", "identified", "monitoring", "resolved")


class Incident(Base):
    """One incident (or scheduled maintenance) announced to customers and agents."""

    __tablename__ = "breaking_news_incidents"
    __table_args__ = (
        sa.Index("ix_breaking_news_incidents_open", "account_id", "resolved_at"),
        # The timed pass reads only incidents whose scheduled start or end has come due.
        sa.Index("ix_breaking_news_incidents_transition", "account_id", "next_transition_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")  # the admin's Markdown subset, as written
    body_html: Mapped[str] = mapped_column(sa.Text, default="")  # rendered and sanitised on write
    locale: Mapped[str] = mapped_column(sa.String(16))  # the language of title and body
    # {locale: {"title": ..., "body": ..., "body_html": ...}} for the other languages.
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    severity: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    affected_features: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Bumped by every change customers can see; the widget remembers dismissals per (id, revision).
    revision: Mapped[int] = mapped_column(default=1)
    notify_requesters: Mapped[bool] = mapped_column(default=False)
    # Whether the publication went to Slack: later updates are replies in its thread only then.
    slack_posted: Mapped[bool] = mapped_column(default=False)
    # The next scheduled start or end the timed pass has yet to announce (None: nothing scheduled).
    next_transition_at: Mapped[datetime | None]
    start_announced_at: Mapped[datetime | None]
    end_announced_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IncidentUpdate(Base):
    """One dated entry of an incident's status timeline."""

    __tablename__ = "breaking_news_updates"
    __table_args__ = (sa.Index("ix_breaking_news_updates_incident", "incident_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("breaking_news_incidents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(16))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class IncidentTicket(Base):
    """A ticket counted against an incident (matched by keyword or feature, or tagged by an agent)."""

    __tablename__ = "breaking_news_incident_tickets"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "ticket_id"),
        sa.Index("ix_breaking_news_incident_tickets_ticket", "account_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("breaking_news_incidents.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(sa.BigInteger)
    requester_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    requester_email: Mapped[str | None] = mapped_column(sa.String(255))
    matched_by: Mapped[str] = mapped_column(sa.String(16))  # keyword, feature or tag
    matched_on: Mapped[str] = mapped_column(sa.String(200))
    linked_at: Mapped[datetime]


class QuickLinks(Base):
    """The help articles and notices shown on the help-center request form for one ticket form."""

    __tablename__ = "breaking_news_quick_links"
    __table_args__ = (sa.UniqueConstraint("account_id", "form_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    form_id: Mapped[int] = mapped_column(sa.BigInteger)
    # [{"kind": "article"|"notice", "title": ..., "url": ..., "text": ...}]
    links: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime]


class NewsVersion(Base):
    """The account's breaking-news version: bumped by every write that changes what the public sees."""

    __tablename__ = "breaking_news_versions"

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    updated_at: Mapped[datetime]
