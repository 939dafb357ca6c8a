"""The SLA plugin's table: one first-reply clock per ticket, with its deadline and what was said in Slack."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.api import Base

RUNNING, ANSWERED, BREACHED, CLOSED = "running", "answered", "breached", "closed"
CLOCK_STATES = (RUNNING, ANSWERED, BREACHED, CLOSED)


class SlaClock(Base):
    """A ticket's first-reply clock: started at creation, stopped by the first public agent reply.

    ``next_due_at`` is the next moment the scheduler must look at the clock (a reminder point or the
    deadline); it is NULL once nothing more can be due, so the pass reads only due rows through
    ``ix_sla_clocks_due``. ``reminders_done`` lists reminder points already sent or collapsed.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "ticket_id"),
        sa.Index("ix_sla_clocks_due", "account_id", "state", "next_due_at"),
        sa.Index("ix_sla_clocks_started", "account_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(sa.BigInteger)

    # What the ticket looked like (for messages and for reports by type, form, tag, segment and group).
    subject: Mapped[str | None] = mapped_column(sa.String(255))
    requester_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    requester_email: Mapped[str | None] = mapped_column(sa.String(255))
    requester_name: Mapped[str | None] = mapped_column(sa.String(255))
    organization_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    organization_name: Mapped[str | None] = mapped_column(sa.String(255))
    segment: Mapped[str | None] = mapped_column(sa.String(64))
    priority: Mapped[str | None] = mapped_column(sa.String(16))
    group_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    group_name: Mapped[str | None] = mapped_column(sa.String(255))
    ticket_type: Mapped[str | None] = mapped_column(sa.String(32))
    form_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    ticket_updated_at: Mapped[datetime | None]

    # The clock and its target.
    state: Mapped[str] = mapped_column(sa.String(16), default=RUNNING)
    started_at: Mapped[datetime]
    target_minutes: Mapped[int | None]
    business_hours: Mapped[bool] = mapped_column(default=False)
    due_at: Mapped[datetime | None]
    reminders: Mapped[list[Any]] = mapped_column(default=list)
    reminders_done: Mapped[list[Any]] = mapped_column(default=list)
    next_due_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    reply_minutes: Mapped[float | None]
    breached_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    # Slack: whether the team is told, where, and the key of the last item that changed the arrival message
    # (the next update waits for it, so updates land in order).
    notify: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[str | None] = mapped_column(sa.String(64))
    mention: Mapped[str | None] = mapped_column(sa.String(32))
    last_message_key: Mapped[str | None] = mapped_column(sa.String(255))
    taken_by: Mapped[str | None] = mapped_column(sa.String(64))
    assignee_id: Mapped[int | None] = mapped_column(sa.BigInteger)

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def met_target(self) -> bool | None:
        """True when answered within target, False when breached, None while open or without target."""
        if self.due_at is None:
            return None
        if self.replied_at is not None:
            return self.replied_at <= self.due_at
        return False if self.breached_at is not None else None
