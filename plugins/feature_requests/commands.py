"""``flask feature-requests ...``: release with a progress bar and a delivered/failed summary; notices."""

from __future__ import annotations

import time
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app import notices
from app.accounts import get_account
from app.clock import get_clock
from app.db import storage
from app.models import Account
from app.plugins import PluginContext, plugin_manager
from plugins.feature_requests import records, release
from plugins.feature_requests.records import FeatureRequestError, subject_key


def _account_id(subdomain: str | None) -> int:
    with storage.session() as session:
        if subdomain:
            found = session.scalar(sa.select(Account.id).where(Account.subdomain == subdomain))
        else:
            ids = session.scalars(sa.select(Account.id).where(Account.active.is_(True))).all()
            found = ids[0] if len(ids) == 1 else None
    if found is None:
        raise click.UsageError("name the account with --account SUBDOMAIN")
    return int(found)


def _context(session: Any, account_id: int) -> PluginContext:
    account = get_account(account_id)
    if account is None:
        raise click.UsageError(f"account {account_id} is not active")
    return plugin_manager.context(current_app, "feature_requests", account, session)


def _plan_table(answer: dict[str, Any]) -> Table:
    table = Table("requester", "organization", "segment", "how", "tickets", title="Would tell")
    for person in answer["would_tell"]:
        how = person["channel"]
        if person.get("ticket_id"):
            how += f" on #{person['ticket_id']}"
        elif person.get("source_ticket_id"):
            how += f" of closed #{person['source_ticket_id']}"
        tickets = ", ".join(f"#{t['id']} ({t['status'] or '?'})" for t in person["tickets"])
        table.add_row(str(person["requester_id"]), str(person["organization_id"] or ""),
                      ("★ " if person["premium"] else "") + (person["segment"] or ""), how, tickets)
    return table


def _summary_table(counts: dict[str, int]) -> Table:
    table = Table("delivered", "as comment", "as follow-up", "pending (retrying)", "failed", "total",
                  title="Release notices")
    table.add_row(*(str(counts[name]) for name in ("delivered", "comment", "followup", "pending", "failed",
                                                   "total")))
    return table


def _problems_table(items: list[dict[str, Any]]) -> Table:
    table = Table("requester", "state", "attempts", "last error", title="Not delivered yet")
    for notice in items:
        table.add_row(str(notice["requester_id"]), notice["state"], str(notice["attempts"]),
                      (notice["last_error"] or "")[:120])
    return table


def _wait(console: Console, account_id: int, key: str, *, timeout: float, work: bool) -> dict[str, int]:
    """Show progress until every notice is delivered or failed for good (or ``timeout`` seconds pass)."""
    worker = None
    if work:
        from app.worker import Worker

        worker = Worker(current_app._get_current_object())  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout if timeout > 0 else None
    with storage.session() as session:
        counts = notices.summarise(session, account_id, subject_keys=[key])
    columns = (TextColumn("[bold]telling requesters"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("release", total=counts["total"], detail="")
        while True:
            with storage.session() as session:
                counts = notices.summarise(session, account_id, subject_keys=[key])
            progress.update(task, completed=counts["delivered"] + counts["failed"],
                            detail=f"{counts['failed']} failed, {counts['pending']} pending")
            if counts["pending"] == 0 or (deadline is not None and time.monotonic() > deadline):
                return counts
            if worker is None or not worker.perform_work():
                time.sleep(0.5)


def register(cli: click.Group) -> None:
    @cli.command("release")
    @click.argument("feature_request_id", type=int)
    @click.option("--dry-run", is_flag=True, help="Only show who would be told and how.")
    @click.option("--account", "subdomain", help="The account's subdomain (optional with one account).")
    @click.option("--wait/--no-wait", default=True, show_default=True,
                  help="Show progress until every notice is delivered or has failed for good.")
    @click.option("--timeout", type=float, default=0, help="Stop waiting after this many seconds (0: never).")
    @click.option("--work", is_flag=True, help="Deliver in this process too (when no worker is running).")
    def release_command(feature_request_id: int, dry_run: bool, subdomain: str | None, wait: bool,
                        timeout: float, work: bool) -> None:
        """Release a feature request: tell each requester once, then summarise what was delivered."""
        console = Console()
        account_id = _account_id(subdomain)
        try:
            with storage.session() as session:
                ctx = _context(session, account_id)
                found = records.get(session, account_id, feature_request_id)
                title = found.title
                answer = release.release(ctx, found, by="cli", dry_run=dry_run)
        except FeatureRequestError as error:
            raise click.ClickException(str(error)) from None
        console.print(f"[bold]#{feature_request_id} {title}[/bold]")
        for problem in answer["problems"]:
            console.print(f"[red]cannot release:[/red] {problem}")
        counts = answer["counts"]
        console.print(f"{counts['would_tell']} to tell ({counts['by_comment']} by comment, "
                      f"{counts['by_followup']} by follow-up expected), "
                      f"{counts['already_told']} already told, "
                      f"{counts['unknown_requester_tickets']} ticket(s) of unknown requester")
        if dry_run:
            console.print(_plan_table(answer))
            return
        console.print(f"{answer['recorded']} notice(s) recorded at {get_clock().now():%H:%M:%S} UTC")
        key = subject_key(feature_request_id)
        summary = _wait(console, account_id, key, timeout=timeout, work=work) if wait else answer["notices"]
        console.print(_summary_table(summary))
        with storage.session() as session:
            stuck = [n for n in notices.list_notices(session, account_id, subject_keys=[key])
                     if n["state"] != "delivered"]
        if stuck:
            console.print(_problems_table(stuck[:50]))
            console.print("failed notices: [bold]flask feature-requests notices "
                          f"{feature_request_id} --retry[/bold] tries them again")
        if summary["failed"]:
            raise SystemExit(1)

    @cli.command("notices")
    @click.argument("feature_request_id", type=int)
    @click.option("--account", "subdomain")
    @click.option("--retry", is_flag=True, help="Give failed notices a fresh set of attempts.")
    def notices_command(feature_request_id: int, subdomain: str | None, retry: bool) -> None:
        """Summarise a request's release notices (delivered, pending, failed); --retry retries failures."""
        console = Console()
        account_id = _account_id(subdomain)
        key = subject_key(feature_request_id)
        with storage.session() as session:
            if retry:
                count = notices.retry_failed_notices(session, account_id, subject_keys=[key],
                                                     now=get_clock().now())
                console.print(f"{count} failed notice(s) will be tried again")
            counts = notices.summarise(session, account_id, subject_keys=[key])
            stuck = [n for n in notices.list_notices(session, account_id, subject_keys=[key])
                     if n["state"] != "delivered"]
        console.print(_summary_table(counts))
        if stuck:
            console.print(_problems_table(stuck[:50]))
