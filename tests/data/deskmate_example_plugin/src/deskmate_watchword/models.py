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


class Word(Base):
    """Another word to watch, added by an agent from the sidebar's form.

    Pending (``active_until`` None) until the ``words`` timer starts it, then watched until ``active_until``.
    ``request_id`` is the sidebar's id for one confirmed form: a double click or a retry sends it again and
    finds this row instead of adding another.
    """

    __tablename__ = "watchword_words"
    __table_args__ = (sa.UniqueConstraint("account_id", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    word: Mapped[str] = mapped_column(sa.String(40))
    days: Mapped[int]
    request_id: Mapped[str] = mapped_column(sa.String(64))
    added_by: Mapped[str] = mapped_column(sa.String(64))
    added_at: Mapped[datetime]
    active_until: Mapped[datetime | None]
