"""The sidebar's own hook implementations: warming the mirror with the plugins' machinery.

Registered by ``app.sidebar.init_app`` as the built-in plugin ``sidebar`` (it is not in ``DESKMATE_PLUGINS``:
the sidebar is part of the core). The mirror (``app.mirror``) has already taken in each event; a new ticket
whose requester or organization the mirror lacks whole gets one background fetch, so the agent's first open is
a cache hit.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from app.events import Event
from app.hookspecs import hookimpl
from app.plugins import PluginContext
from app.sidebar.context import (
    FETCH_KIND,
    fetch_ticket,
    is_fresh,
    needs_fetch,
    store_answer,
)
from app.workqueue import ClaimedItem, Handler

NAME = "sidebar"
# Events after which the ticket's requester or organization may be one the cache has never seen.
_WARM_ON = frozenset({"ticket.created", "ticket.requester_changed", "ticket.organization_changed"})


@hookimpl
def handle_event(event: Event, ctx: PluginContext) -> None:
    snapshot = event.ticket
    if event.source != "zendesk" or snapshot is None or event.type not in _WARM_ON:
        return
    settings = ctx.config
    if settings.sidebar_warm_cache and needs_fetch(
            ctx.session, ctx.account.id, snapshot, ctx.now(), timedelta(seconds=settings.sidebar_cache_seconds)) \
            and _warm_ups.take(ctx.account.id, ctx.now(),
                               max(1, int(ctx.account.rate_limit_per_minute * settings.sidebar_warm_share))):
        key = f"sidebar:warm:{snapshot.id}:{snapshot.requester_id}:{snapshot.organization_id}"
        ctx.enqueue(FETCH_KIND, key, {"ticket_id": snapshot.id}, max_attempts=3)


class _PerMinute:
    """A per-process allowance per account and clock minute (a cap, not a fair share: good enough here)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.used: dict[int, tuple[int, int]] = {}

    def take(self, account_id: int, now: datetime, limit: int) -> bool:
        minute = int(now.timestamp() // 60)
        with self.lock:
            current, count = self.used.get(account_id, (minute, 0))
            if current != minute:
                count = 0
            if count >= limit:
                return False
            self.used[account_id] = (minute, count + 1)
            return True


_warm_ups = _PerMinute()


def fetch(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any] | None:
    """Fetch a ticket with its requester and organization into the cache (one helpdesk call)."""
    from app.zendesk import HelpdeskError

    ticket_id = int(item.payload["ticket_id"])
    if is_fresh(ctx.session, ctx.account.id, ticket_id, ctx.now(),
                timedelta(seconds=ctx.config.sidebar_cache_seconds)):
        return {"ticket_id": ticket_id, "skipped": "already cached"}  # an open fetched it meanwhile
    if not ctx.zendesk.has_spare_budget(0.5):
        # Warming is optional: during a spike the budget goes to routing and replies, and an agent's open
        # still gets its one call.
        return {"ticket_id": ticket_id, "skipped": "the helpdesk budget is busy"}
    try:
        answer = fetch_ticket(ctx.zendesk, ticket_id, timeout=30)
    except HelpdeskError as exc:
        if exc.status == 404:
            return {"ticket_id": ticket_id, "missing": True}  # deleted meanwhile: nothing to cache
        raise
    store_answer(ctx.session, ctx.account.id, answer, ctx.now())
    return {"ticket_id": ticket_id, "users": len(answer.get("users") or []),
            "organizations": len(answer.get("organizations") or [])}


@hookimpl
def register_work_handlers() -> dict[str, Handler]:
    return {FETCH_KIND: fetch}
