"""``flask routing ...``: ``backfill`` (route tickets older than Deskmate) and ``sync`` (warm the cache)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from app.api import account_option, command_context
from plugins.routing import groups, jobs
from plugins.routing.backfill import run_backfill

# Pages of each export ``sync`` reads at most (1,000 records a page; the helpdesk allows 10 a minute).
SYNC_MAX_PAGES = 8



def register(cli: click.Group) -> None:
    @cli.command("backfill")
    @click.option("--dry-run", is_flag=True, help="Decide and report, change nothing.")
    @account_option
    @click.option("--since-days", type=click.IntRange(0, 3650), default=30, show_default=True,
                  help="Only tickets updated in the last N days.")
    @click.option("--limit", type=click.IntRange(1), default=None, help="Stop after N tickets.")
    def backfill(dry_run: bool, subdomain: str | None, since_days: int, limit: int | None) -> None:
        """Route existing open tickets that were never routed (with --dry-run: only report)."""
        console = Console()
        with command_context("routing", subdomain) as ctx:
            tally = run_backfill(ctx, dry_run=dry_run, since_days=since_days, limit=limit, console=console)
        table = Table("", "count", title="routing backfill")
        for name, count in sorted(tally.items()):
            table.add_row(name, str(count))
        console.print(table)
        if dry_run:
            console.print("dry run: nothing changed (decisions rolled back, no update queued)")

    @cli.command("sync")
    @account_option
    def sync(subdomain: str | None) -> None:
        """Warm the cache now: resolve group names and read the organization and user exports.

        The worker does the same every minute; run this before a big live event, or after installing.
        """
        with command_context("routing", subdomain) as ctx:
            found = groups.fetch(ctx)  # every helpdesk call before the first write: no transaction held
            exported = jobs.export_directory(ctx, SYNC_MAX_PAGES)
            groups.store(ctx.session, ctx.account.id, found, ctx.now())
            ctx.session.commit()
        table = Table("", "records", title="routing cache")
        table.add_row("groups", str(len(found)))
        for stream, count in exported.items():
            table.add_row(stream, "export unavailable" if count < 0 else str(count))
        Console().print(table)
