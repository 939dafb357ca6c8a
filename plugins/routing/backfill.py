"""``flask routing backfill``: route the open tickets that were never routed (tickets older than Deskmate).

Tickets come from the helpdesk's incremental ticket export (cursor pages of up to 1,000), so that any number
of tickets can be walked without the search API's 1,000-result cap. Each page is classified like a batch of
webhooks: what the cache lacks is fetched with ``show_many``, decisions are stored and their updates queued
for the worker. ``--dry-run`` decides the same way and then rolls everything back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from app.api import PluginContext, TicketSnapshot
from plugins.routing import decide, fetching
from plugins.routing.models import RoutingDecision
from plugins.routing.rules_store import load_rules
from plugins.routing.settings import settings_of


def snapshot_from_api(ticket: dict[str, Any]) -> TicketSnapshot:
    """A ticket of the REST API (not of an event) as the snapshot routing decides on."""
    via = ticket.get("via") or {}
    return TicketSnapshot.from_detail({
        **ticket, "form_id": ticket.get("ticket_form_id"),
        "via": {"channel": via.get("channel")} if isinstance(via, dict) else via,
    })


def _pages(ctx: PluginContext, start_time: int) -> Iterator[list[dict[str, Any]]]:
    params: dict[str, Any] = {"start_time": start_time}
    while True:
        page = ctx.zendesk.call("GET", "/incremental/tickets/cursor.json", params=params,
                                what="ticket export")
        yield page.get("tickets") or []
        if page.get("end_of_stream") or not page.get("after_cursor"):
            return
        params = {"cursor": page["after_cursor"]}


def _count_open(ctx: PluginContext) -> int | None:
    try:
        answer = ctx.zendesk.call("GET", "/search/count.json", params={"query": "type:ticket status<solved"},
                                  what="count open tickets")
    except Exception:  # the count only sizes the progress bar
        return None
    return int(answer["count"]) if isinstance(answer, dict) and isinstance(answer.get("count"), int) else None


def run_backfill(ctx: PluginContext, *, dry_run: bool, since_days: int, limit: int | None,
                 console: Console) -> Counter[str]:
    """Route every open, never-routed ticket updated in the last ``since_days``; returns the tallies.

    Each page is decided in its own transaction, committed (or, in a dry run, rolled back) before the next
    page is read, so that no transaction is open while the helpdesk is called.
    """
    tally: Counter[str] = Counter()
    start = max(0, int(ctx.now().timestamp()) - since_days * 86400)
    with fetching.reader(ctx) as session:
        rules = load_rules(session, ctx.account.id, settings_of(ctx).rules_file)
    total = _count_open(ctx)
    tally["helpdesk calls"] += 1
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("dry run" if dry_run else "routing", total=total)
        for page in _pages(ctx, start):
            tally["helpdesk calls"] += 1
            if limit is not None:
                page = page[:max(0, limit - tally["examined"])]
            tally["examined"] += len(page)
            tickets = [snapshot_from_api(api_ticket) for api_ticket in page]
            open_tickets = [ticket for ticket in tickets if ticket.status in settings_of(ctx).open_statuses]
            tally["not open"] += len(tickets) - len(open_tickets)
            with fetching.reader(ctx) as session:
                routed = set(session.scalars(sa.select(RoutingDecision.ticket_id).where(
                    RoutingDecision.account_id == ctx.account.id,
                    RoutingDecision.ticket_id.in_([ticket.id for ticket in open_tickets]))))
            todo = [ticket for ticket in open_tickets if ticket.id not in routed]
            tally["already routed"] += len(routed)
            fetched = fetching.gather(ctx, todo, rules)
            tally["helpdesk calls"] += fetched.calls
            fetching.store(ctx, fetched)
            for ticket in todo:
                outcome = decide.route(ctx, decide.new_row(ctx, ticket), final=True, rules=rules)
                _count(tally, outcome.decision)
            if dry_run:
                ctx.session.rollback()
            else:
                ctx.session.commit()  # the worker may apply this page while the next one is read
            progress.advance(task, len(open_tickets))
            if limit is not None and tally["examined"] >= limit:
                break
    return tally


def _count(tally: Counter[str], row: RoutingDecision) -> None:
    tally[f"segment {row.segment}"] += 1
    tally["group changed"] += "group_id" in row.changes
    tally["group kept (an agent's choice)"] += bool(row.note and "agent" in row.note)
    tally["nothing to change"] += not row.changes
