"""The sidebar's table: the app installations whose signed loads it trusts.

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
