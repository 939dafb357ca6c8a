"""The sidebar's tables: the app installations whose signed loads it trusts, and the loads already used.

The tickets, requesters and organizations it shows come from the core's helpdesk mirror (``app.mirror``).
"""

from __future__ import annotations

from datetime import datetime

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


class SidebarLoadToken(Base):
    """A signed load already used (``jti``), kept until the token expires so that a second POST is refused.

    Keyed by the SHA-256 of the ``jti``: the claim is the helpdesk's text, of any length or character, and
    PostgreSQL refuses some characters SQLite takes. Expired rows are deleted a batch at a time by each new
    load of the account (``app.sidebar.auth``), so the table holds about the last few minutes of loads.
    """

    __tablename__ = "sidebar_load_tokens"
    __table_args__ = (sa.Index("ix_sidebar_load_tokens_expires_at", "account_id", "expires_at"),)

    account_id: Mapped[int] = mapped_column(_account_fk(), primary_key=True)
    jti_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    installation_id: Mapped[int] = mapped_column(sa.BigInteger)
    agent_id: Mapped[int] = mapped_column(sa.BigInteger)
    used_at: Mapped[datetime]
    # The token's own ``exp`` plus the leeway its expiry is checked with: until then it could be replayed.
    expires_at: Mapped[datetime]
