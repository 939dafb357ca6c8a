"""``flask routing ...``: ``backfill`` (route tickets older than Deskmate) and ``sync`` (warm the cache)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from rich.console import Console
from rich.table import Table

from app.accounts import active_accounts
from app.db import storage
from app.plugins import PluginContext, plugin_manager
from plugins.routing import groups, jobs
from plugins.routing.backfill import run_backfill

# Pages of each export ``sync`` reads at most (1,000 records a page; the helpdesk allows 10 a minute).
SYNC_MAX_PAGES = 8


@contextmanager
def _context(subdomain: str | None) -> Iterator[PluginContext]:
    """The routing context of the named account (or the only one), on a session closed afterwards."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    accounts = [a for a in active_accounts(app) if subdomain in (None, a.subdomain)]
    if len(accounts) != 1:
        raise click.UsageError("name the account with --account SUBDOMAIN" if accounts or not subdomain
                               else f"no active account {subdomain!r}")
    session = storage.sessions(app)()
    try:
        yield plugin_manager.context(app, "routing", accounts[0], session)
    finally:
        session.close()


def register(cli: click.Group) -> None:
    @cli.command("backfill")
    @click.option("--dry-run", is_flag=True, help="Decide and report, change nothing.")
    @click.option("--account", "subdomain", help="The account's subdomain (optional with one account).")
    @click.option("--since-days", type=click.IntRange(0, 3650), default=30, show_default=True,
                  help="Only tickets updated in the last N days.")
    @click.option("--limit", type=click.IntRange(1), default=None, help="Stop after N tickets.")
    def backfill(dry_run: bool, subdomain: str | None, since_days: int, limit: int | None) -> None:
        """Route existing open tickets that were never routed (with --dry-run: only report)."""
        console = Console()
        with _context(subdomain) as ctx:
            tally = run_backfill(ctx, dry_run=dry_run, since_days=since_days, limit=limit, console=console)
        table = Table("", "count", title="routing backfill")
        for name, count in sorted(tally.items()):
            table.add_row(name, str(count))
        console.print(table)
        if dry_run:
            console.print("dry run: nothing changed (decisions rolled back, no update queued)")

    @cli.command("sync")
    @click.option("--account", "subdomain", help="The account's subdomain (optional with one account).")
    def sync(subdomain: str | None) -> None:
        """Warm the cache now: resolve group names and read the organization and user exports.

        The worker does the same every minute; run this before a big live event, or after installing.
        """
        with _context(subdomain) as ctx:
            found = groups.fetch(ctx)  # every helpdesk call before the first write: no transaction held
            exported = jobs.export_directory(ctx, SYNC_MAX_PAGES)
            groups.store(ctx.session, ctx.account.id, found, ctx.now())
            ctx.session.commit()
        table = Table("", "records", title="routing cache")
        table.add_row("groups", str(len(found)))
        for stream, count in exported.items():
            table.add_row(stream, "export unavailable" if count < 0 else str(count))
        Console().print(table)
