"""``flask feature-requests ...``: release with a progress bar and a delivered/failed summary; notices."""

from __future__ import annotations

import time
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.api import (
    account_option,
    command_context,
    current_time,
    list_notices,
    perform_work_once,
    resolve_account,
    retry_failed_notices,
    summarise_notices,
    transaction,
)
from plugins.feature_requests import records, release
from plugins.feature_requests.records import FeatureRequestError, subject_key


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
    deadline = time.monotonic() + timeout if timeout > 0 else None
    with transaction() as session:
        counts = summarise_notices(session, account_id, subject_keys=[key])
    columns = (TextColumn("[bold]telling requesters"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("release", total=counts["total"], detail="")
        while True:
            with transaction() as session:
                counts = summarise_notices(session, account_id, subject_keys=[key])
            progress.update(task, completed=counts["delivered"] + counts["failed"],
                            detail=f"{counts['failed']} failed, {counts['pending']} pending")
            if counts["pending"] == 0 or (deadline is not None and time.monotonic() > deadline):
                return counts
            if not work or not perform_work_once():
                time.sleep(0.5)


def register(cli: click.Group) -> None:
    @cli.command("release")
    @click.argument("feature_request_id", type=int)
    @click.option("--dry-run", is_flag=True, help="Only show who would be told and how.")
    @account_option
    @click.option("--wait/--no-wait", default=True, show_default=True,
                  help="Show progress until every notice is delivered or has failed for good.")
    @click.option("--timeout", type=float, default=0, help="Stop waiting after this many seconds (0: never).")
    @click.option("--work", is_flag=True, help="Deliver in this process too (when no worker is running).")
    def release_command(feature_request_id: int, dry_run: bool, subdomain: str | None, wait: bool,
                        timeout: float, work: bool) -> None:
        """Release a feature request: tell each requester once, then summarise what was delivered."""
        console = Console()
        try:
            with command_context("feature_requests", subdomain) as ctx:
                account_id = ctx.account.id
                found = records.get(ctx.session, account_id, feature_request_id)
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
        console.print(f"{answer['recorded']} notice(s) recorded at {current_time():%H:%M:%S} UTC")
        key = subject_key(feature_request_id)
        summary = _wait(console, account_id, key, timeout=timeout, work=work) if wait else answer["notices"]
        console.print(_summary_table(summary))
        with transaction() as session:
            stuck = [n for n in list_notices(session, account_id, subject_keys=[key])
                     if n["state"] != "delivered"]
        if stuck:
            console.print(_problems_table(stuck[:50]))
            console.print("failed notices: [bold]flask feature-requests notices "
                          f"{feature_request_id} --retry[/bold] tries them again")
        if summary["failed"]:
            raise SystemExit(1)

    @cli.command("notices")
    @click.argument("feature_request_id", type=int)
    @account_option
    @click.option("--retry", is_flag=True, help="Give failed notices a fresh set of attempts.")
    def notices_command(feature_request_id: int, subdomain: str | None, retry: bool) -> None:
        """Summarise a request's release notices (delivered, pending, failed); --retry retries failures."""
        console = Console()
        account_id = resolve_account(subdomain).id
        key = subject_key(feature_request_id)
        with transaction() as session:
            if retry:
                count = retry_failed_notices(session, account_id, subject_keys=[key],
                                                     now=current_time())
                console.print(f"{count} failed notice(s) will be tried again")
            counts = summarise_notices(session, account_id, subject_keys=[key])
            stuck = [n for n in list_notices(session, account_id, subject_keys=[key])
                     if n["state"] != "delivered"]
        console.print(_summary_table(counts))
        if stuck:
            console.print(_problems_table(stuck[:50]))
