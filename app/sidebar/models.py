"""The sidebar's tables: the app installations it trusts, and the ticket context it serves from cache.

``ticket_index`` is kept current by the helpdesk's ticket events (every webhook carries the ticket), so the
sidebar knows a ticket's subject, status and requester, and the requester's other recent tickets, without
asking the helpdesk. ``directory_cache`` holds the requesters and organizations that the one helpdesk call of
an uncached open (``GET /tickets/{id}.json?include=users,organizations``) sideloaded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


def _account_fk() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.id", ondelete="CASCADE")


class SidebarInstallation(Base):
    """An installation of the Deskmate app in a helpdesk account: whose signed loads the sidebar accepts."""

    __tablename__ = "sidebar_installations"
    __table_args__ = (sa.UniqueConstraint("account_id", "installation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(_account_fk())
    installation_id: Mapped[int] = mapped_column(sa.BigInteger)
    app_id: Mapped[int] = mapped_column(sa.BigInteger)
    # The app's RSA public key (PEM): configured by an operator, or fetched from the helpdesk and cached.
    public_key_pem: Mapped[str | None] = mapped_column(sa.Text)
    public_key_configured: Mapped[bool] = mapped_column(default=False)
    public_key_fetched_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class TicketIndex(Base):
    """What the sidebar knows of a ticket: from its events, and from the last helpdesk fetch if any."""

    __tablename__ = "ticket_index"
    __table_args__ = (sa.Index("ix_ticket_index_requester", "account_id", "requester_id", "updated_at"),)

    account_id: Mapped[int] = mapped_column(_account_fk(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    subject: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str | None] = mapped_column(sa.String(16))
    priority: Mapped[str | None] = mapped_column(sa.String(16))
    requester_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    organization_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    group_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    # The ticket as the helpdesk API last answered it (None until the first fetch).
    data: Mapped[dict[str, Any] | None]
    fetched_at: Mapped[datetime | None]


class DirectoryRecord(Base):
    """A requester (``user``) or ``organization`` as the helpdesk last sideloaded it."""

    __tablename__ = "directory_cache"

    account_id: Mapped[int] = mapped_column(_account_fk(), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)  # "user" or "organization"
    record_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]]
    fetched_at: Mapped[datetime]
    # Set when a user or organization event says the helpdesk changed it: served, then fetched again.
    stale: Mapped[bool] = mapped_column(default=False)
