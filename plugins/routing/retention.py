"""Routing's part of retention (the ``purge`` hook): decisions of tickets that can no longer change.

A decision row is what makes routing act once per ticket: a later event for a ticket without a row routes it
as new. So a row goes only when no event can come for its ticket again: the ticket is closed (the helpdesk
never changes a closed ticket; a follow-up is a new ticket), or solved and unchanged for longer than the
helpdesk's automatic closing can wait (28 days at most), and its last change seen is older than the window.
The sidebar's routing panel of such a ticket then shows nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.api import PluginContext
from plugins.routing.models import RoutingDecision

# Zendesk closes a solved ticket after at most 28 days (the longest its automation allows).
SOLVED_CLOSES_WITHIN = timedelta(days=28)


def _forgettable(ctx: PluginContext, before: datetime) -> sa.ColumnElement[bool]:
    status = RoutingDecision.snapshot["status"].as_string()
    last_seen = sa.func.coalesce(RoutingDecision.snapshot_updated_at, RoutingDecision.created_at)
    return sa.and_(
        RoutingDecision.account_id == ctx.account.id,
        last_seen < before,
        sa.or_(status == "closed", sa.and_(status == "solved", last_seen < before - SOLVED_CLOSES_WITHIN)),
    )


def purge(ctx: PluginContext, before: datetime, limit: int, dry_run: bool) -> int:
    """Delete up to ``limit`` decisions of tickets closed before ``before`` (see the module's doc)."""
    condition = _forgettable(ctx, before)
    if dry_run:
        return ctx.session.scalar(sa.select(sa.func.count()).select_from(RoutingDecision).where(condition)) or 0
    ids = list(ctx.session.scalars(sa.select(RoutingDecision.id).where(condition).limit(limit)
                                   .with_for_update(skip_locked=True)))
    if ids:
        ctx.session.execute(sa.delete(RoutingDecision).where(RoutingDecision.id.in_(ids))
                            .execution_options(synchronize_session=False))
    return len(ids)
