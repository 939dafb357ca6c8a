"""The customer plugin's tables: actions on the billing system (the audit), agents' helpdesk records, totals.

``customer_actions`` is both the state machine of an action and its audit row: one row per request (unique by
the page's ``request_id``, so a double click or a retried POST is the same row), kept for good.

``customer_totals`` holds what was spent per ticket and per agent per day (minor units), locked while an
action is decided, so that two workers deciding two actions at once can never together pass a limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.api import Base

# An action's states. requested -> (approved | awaiting_approval | refused); awaiting_approval -> (approved |
# declined); approved -> (done | refused by the billing system | failed after its retries).
REQUESTED, AWAITING_APPROVAL, APPROVED = "requested", "awaiting_approval", "approved"
DONE, REFUSED, DECLINED, FAILED = "done", "refused", "declined", "failed"
ACTION_STATES = (REQUESTED, AWAITING_APPROVAL, APPROVED, DONE, REFUSED, DECLINED, FAILED)
OPEN_STATES = frozenset({REQUESTED, AWAITING_APPROVAL, APPROVED})


class CustomerAction(Base):
    """One agent's request to act on a customer's billing record, from the sidebar, and what became of it."""

    __tablename__ = "customer_actions"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "request_id"),
        sa.Index("ix_customer_actions_ticket", "account_id", "ticket_id"),
        sa.Index("ix_customer_actions_requested", "account_id", "requested_at"),
        sa.Index("ix_customer_actions_agent", "account_id", "agent_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(32))
    state: Mapped[str] = mapped_column(sa.String(24), default=REQUESTED)

    # Where and for whom: the ticket, its requester as the billing system knows them.
    ticket_id: Mapped[int] = mapped_column(sa.BigInteger)
    customer_email: Mapped[str] = mapped_column(sa.String(255))
    requester_locale: Mapped[str | None] = mapped_column(sa.String(16))

    # Who asked (the sidebar session's agent) and what the helpdesk says of them when it was decided.
    agent_id: Mapped[int] = mapped_column(sa.BigInteger)
    agent_name: Mapped[str | None] = mapped_column(sa.String(255))
    agent_role: Mapped[str | None] = mapped_column(sa.String(16))
    agent_groups: Mapped[list[Any]] = mapped_column(default=list)
    agent_locale: Mapped[str | None] = mapped_column(sa.String(16))

    # What: the purchase (for refunds), the amount in minor units, the reason or option chosen.
    purchase_id: Mapped[str | None] = mapped_column(sa.String(64))
    purchase_title: Mapped[str | None] = mapped_column(sa.String(255))
    amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    option: Mapped[str | None] = mapped_column(sa.String(64))

    # The decision: the rule that applied, why it needed approval or was refused, and who approved it.
    rule: Mapped[str | None] = mapped_column(sa.String(255))
    approval_reason: Mapped[str | None] = mapped_column(sa.Text)
    refusal: Mapped[str | None] = mapped_column(sa.Text)
    approver_slack_id: Mapped[str | None] = mapped_column(sa.String(32))
    approver_name: Mapped[str | None] = mapped_column(sa.String(255))
    # Whether the amount was added to customer_totals (and must be taken back if the action does not happen).
    reserved: Mapped[bool] = mapped_column(default=False)

    # The billing system's answer: its reference (refund id, code, subscription id) and what it said.
    billing_reference: Mapped[str | None] = mapped_column(sa.String(128))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)

    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class CustomerAgent(Base):
    """The helpdesk's record of an agent (role, groups), read by the worker and trusted for a few minutes."""

    __tablename__ = "customer_agents"
    __table_args__ = (sa.UniqueConstraint("account_id", "agent_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(sa.BigInteger)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[str | None] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    groups: Mapped[list[Any]] = mapped_column(default=list)
    fetched_at: Mapped[datetime]


class CustomerTotal(Base):
    """Minor units spent under one limit: ``scope`` is ``ticket:<id>`` or ``agent:<id>:<YYYY-MM-DD>``."""

    __tablename__ = "customer_totals"
    __table_args__ = (sa.UniqueConstraint("account_id", "scope", "currency"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(sa.String(64))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_at: Mapped[datetime]
