"""A second plugin for the event-failure tests: it counts the events it is handed, and can be told to write a
row the database refuses when its transaction is committed (not when it is added)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.hookspecs import hookimpl
from app.models import WorkItem

seen: Counter[tuple[int, int | None]] = Counter()  # (account id, ticket id) -> times handed
modes: dict[str, Any] = {}


def reset() -> None:
    seen.clear()
    modes.clear()


@hookimpl
def handle_event(event, ctx):
    seen[(ctx.account.id, event.ticket_id)] += 1
    duplicate = modes.get("duplicate_key")
    if duplicate and event.ticket_id == modes.get("on_ticket"):
        now = ctx.now()
        # Added to the session, so the database sees (and refuses) it only when the session is flushed.
        ctx.session.add(WorkItem(account_id=ctx.account.id, kind="counting_plugin.x", idempotency_key=duplicate,
                                 payload={}, state="pending", attempts=0, max_attempts=8, next_attempt_at=now,
                                 created_at=now, updated_at=now))
