"""The plugin's table. Its name starts with the plugin's name; every row carries its account."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.api import Base


class Mention(Base):
    """A ticket that mentioned the watch word when it was created; ``reported_at`` is set once in a digest."""

    __tablename__ = "watchword_mentions"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "ticket_id"),
        sa.Index("ix_watchword_mentions_due", "account_id", "reported_at"),
        sa.Index("ix_watchword_mentions_requester", "account_id", "requester_id", "id"),  # the sidebar panel
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(sa.BigInteger)
    requester_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    word: Mapped[str] = mapped_column(sa.String(100))
    seen_at: Mapped[datetime]
    reported_at: Mapped[datetime | None]
