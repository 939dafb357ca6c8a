"""Reads of the plugin's table, shared by its command, its admin route and its sidebar panel."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from deskmate_watchword.models import Mention


def unreported(account_id: int, limit: int) -> sa.Select[Any]:
    """The account's mentions not yet in a digest, oldest first (served by ``ix_watchword_mentions_due``)."""
    return (sa.select(Mention).where(Mention.account_id == account_id, Mention.reported_at.is_(None))
            .order_by(Mention.id).limit(limit))


def recent(account_id: int, limit: int = 50, *, exclude_ticket: int | None = None) -> sa.Select[Any]:
    """The account's latest mentions, newest first (optionally without one ticket's)."""
    query = sa.select(Mention).where(Mention.account_id == account_id)
    if exclude_ticket is not None:
        query = query.where(Mention.ticket_id != exclude_ticket)
    return query.order_by(Mention.id.desc()).limit(limit)


def mentions_for_ticket(account_id: int, ticket_id: int) -> sa.Select[Any]:
    """The ticket's mention, if it has one (served by the unique key on account and ticket)."""
    return sa.select(Mention).where(Mention.account_id == account_id, Mention.ticket_id == ticket_id)


def requester_mentions(account_id: int, requester_id: int, *, exclude_ticket: int, limit: int) -> sa.Select[Any]:
    """A requester's other mentions, newest first (served by ``ix_watchword_mentions_requester``)."""
    return (sa.select(Mention)
            .where(Mention.account_id == account_id, Mention.requester_id == requester_id,
                   Mention.ticket_id != exclude_ticket)
            .order_by(Mention.id.desc()).limit(limit))
