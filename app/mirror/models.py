"""The helpdesk mirror's tables: tickets, users and organizations as Deskmate last saw them.

One row per record, whatever told Deskmate about it: an event (a partial view), or an API read (the whole
record, kept in ``data``). Plugins never read these tables; they ask ``ctx.mirror`` (``app.mirror``), and keep
their own columns (a routing segment, a feature request's link) in their own tables keyed by the same ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

_ID = sa.BigInteger


def _account_fk() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.id", ondelete="CASCADE")


class HelpdeskTicket(Base):
    """A ticket: kept current by every ticket event (each carries the ticket), and by API reads (``data``)."""

    __tablename__ = "helpdesk_tickets"
    __table_args__ = (sa.Index("ix_helpdesk_tickets_requester", "account_id", "requester_id", "updated_at"),)

    account_id: Mapped[int] = mapped_column(_account_fk(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=False)
    subject: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str | None] = mapped_column(sa.String(16))
    priority: Mapped[str | None] = mapped_column(sa.String(16))
    requester_id: Mapped[int | None] = mapped_column(_ID)
    organization_id: Mapped[int | None] = mapped_column(_ID)
    group_id: Mapped[int | None] = mapped_column(_ID)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]  # the helpdesk's: an older view never overwrites a newer one
    # The ticket as the API last answered it (None until a read); deferred: events never need to parse it.
    data: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    fetched_at: Mapped[datetime | None]


class HelpdeskUser(Base):
    """A user (most often a requester). ``complete``: tags and fields can be trusted (see ``app.mirror``)."""

    __tablename__ = "helpdesk_users"

    account_id: Mapped[int] = mapped_column(_account_fk(), primary_key=True)
    user_id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    organization_id: Mapped[int | None] = mapped_column(_ID)
    role: Mapped[str | None] = mapped_column(sa.String(16))
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The user as the API last answered it (None when known from events only); read only when asked for.
    data: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    complete: Mapped[bool] = mapped_column(default=False)
    missing: Mapped[bool] = mapped_column(default=False)  # the helpdesk says it does not exist (any more)
    updated_at: Mapped[datetime | None]  # the helpdesk's
    fetched_at: Mapped[datetime | None]  # when the API last gave the whole record


class HelpdeskOrganization(Base):
    """An organization. ``complete`` as for users."""

    __tablename__ = "helpdesk_organizations"

    account_id: Mapped[int] = mapped_column(_account_fk(), primary_key=True)
    organization_id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    domain_names: Mapped[list[Any]] = mapped_column(default=list)
    data: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    complete: Mapped[bool] = mapped_column(default=False)
    missing: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime | None]
