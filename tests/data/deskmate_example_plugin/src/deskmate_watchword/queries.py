"""Reads of the plugin's table, shared by its command (and by a sidebar panel, when it gets one)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from deskmate_watchword.models import Mention


def unreported(account_id: int, limit: int) -> sa.Select[Any]:
    """The account's mentions not yet in a digest, oldest first (served by ``ix_watchword_mentions_due``)."""
    return (sa.select(Mention).where(Mention.account_id == account_id, Mention.reported_at.is_(None))
            .order_by(Mention.id).limit(limit))


def recent(account_id: int, limit: int = 50) -> sa.Select[Any]:
    return sa.select(Mention).where(Mention.account_id == account_id).order_by(Mention.id.desc()).limit(limit)


def mentions_for_ticket(account_id: int, ticket_id: int) -> sa.Select[Any]:
    return sa.select(Mention).where(Mention.account_id == account_id, Mention.ticket_id == ticket_id)
