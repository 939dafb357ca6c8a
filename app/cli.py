"""Operator commands: ``flask db``, ``worker``, ``accounts``, ``tokens``, ``work``, ``events``, ``zendesk``,
``slack``."""

from __future__ import annotations

import secrets
import signal
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from rich.console import Console
from rich.table import Table

from app import inbox, install, workqueue
from app.accounts import sync_default_account, upsert_account
from app.clock import get_clock
from app.db import rowcount, storage
from app.models import Account, ApiToken, InboundEvent, WorkItem
from app.plugins import plugin_manager
from app.web import hash_token

db_cli = AppGroup("db", help="Database migrations.")
accounts_cli = AppGroup("accounts", help="Helpdesk accounts served by this deployment.")
tokens_cli = AppGroup("tokens", help="Admin API tokens.")
work_cli = AppGroup("work", help="Work items (side effects): inspect and retry.")
events_cli = AppGroup("events", help="Inbound events (webhooks, Slack clicks, plugin events): inspect and retry.")
EVENT_STATES = ("pending", "processing", "done", "failed")
notices_cli = AppGroup("notices", help="Requester notices: what was told to whom, and retries.")


@db_cli.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (core and every enabled plugin), then sync the environment's account."""
    from app import migrate  # Alembic only for the commands that migrate: the others start faster

    migrate.upgrade(current_app, revision)
    view = sync_default_account(current_app, get_clock().now())
    click.echo(f"database at {revision}" + (f"; account {view.subdomain} synced" if view else ""))


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (for example ``base``)."""
    from app import migrate

    migrate.downgrade(current_app, revision)
    click.echo(f"database at {revision}")


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Drain loops in this process (default: setting).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve this worker's Prometheus /metrics on this port (default: DESKMATE_WORKER_METRICS_PORT).")
def worker_command(threads: int | None, metrics_port: int | None) -> None:
    """Run a worker: hand events to plugins, perform work items, run timed passes. Stops on SIGTERM."""
    from app import metrics
    from app.worker import Worker

    settings = current_app.config["DESKMATE"]
    port = metrics_port if metrics_port is not None else settings.worker_metrics_port
    if port is not None:
        server = metrics.serve(port, settings.worker_metrics_address, settings.metrics_token)
        click.echo(f"worker metrics at http://{settings.worker_metrics_address}:{server.server_port}/metrics")
    sync_default_account(current_app, get_clock().now())
    worker = Worker(current_app._get_current_object())  # type: ignore[attr-defined]

    def stop(_signum: int, _frame: Any) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run_forever(threads)


@accounts_cli.command("list")
def accounts_list() -> None:
    """List accounts (never their secrets)."""
    table = Table("id", "subdomain", "zendesk account", "rate limit", "webhook secret", "slack", "active")
    with storage.session() as session:
        for account in session.scalars(sa.select(Account).order_by(Account.id)):
            table.add_row(str(account.id), account.subdomain, str(account.zendesk_account_id or ""),
                          str(account.rate_limit_per_minute), "set" if account.webhook_secret else "missing",
                          "set" if account.slack_bot_token else "-", "yes" if account.active else "no")
    Console().print(table)


@accounts_cli.command("add")
@click.option("--subdomain", required=True)
@click.option("--zendesk-account-id", type=int)
@click.option("--base-url", help="Only for a helpdesk that is not {subdomain}.zendesk.com (the sandbox).")
@click.option("--email", required=True)
@click.option("--api-token", prompt=True, hide_input=True)
@click.option("--webhook-secret", prompt=True, hide_input=True)
@click.option("--slack-bot-token", default="", help="Leave empty for no Slack.")
@click.option("--slack-signing-secret", default="")
@click.option("--slack-team-id")
@click.option("--rate-limit", type=int, default=700, show_default=True)
def accounts_add(subdomain: str, zendesk_account_id: int | None, base_url: str | None, email: str, api_token: str,
                 webhook_secret: str, slack_bot_token: str, slack_signing_secret: str, slack_team_id: str | None,
                 rate_limit: int) -> None:
    """Register (or update) another helpdesk account; secrets are prompted for and stored encrypted."""
    view = upsert_account(
        current_app, subdomain=subdomain, now=get_clock().now(), zendesk_account_id=zendesk_account_id,
        zendesk_base_url=base_url, zendesk_email=email, zendesk_api_token=api_token,
        webhook_secret=webhook_secret, slack_bot_token=slack_bot_token or None,
        slack_signing_secret=slack_signing_secret or None, slack_team_id=slack_team_id,
        rate_limit_per_minute=rate_limit,
    )
    click.echo(f"account {view.subdomain} saved (id {view.id})")


def _account_id(subdomain: str | None) -> int:
    with storage.session() as session:
        if subdomain:
            account_id = session.scalar(sa.select(Account.id).where(Account.subdomain == subdomain))
        else:
            ids = session.scalars(sa.select(Account.id)).all()
            account_id = ids[0] if len(ids) == 1 else None
    if account_id is None:
        raise click.UsageError("name the account with --account SUBDOMAIN")
    return account_id


@tokens_cli.command("create")
@click.option("--name", required=True, help="Who or what uses the token.")
@click.option("--account", "subdomain", help="The account's subdomain (optional when there is one account).")
def tokens_create(name: str, subdomain: str | None) -> None:
    """Create an admin API token and print it once (only its hash is stored)."""
    account_id = _account_id(subdomain)
    token = "dm_" + secrets.token_urlsafe(32)
    with storage.session() as session:
        session.add(ApiToken(account_id=account_id, name=name, token_hash=hash_token(token), prefix=token[:8],
                             created_at=get_clock().now()))
    click.echo(token)


@tokens_cli.command("revoke")
@click.argument("prefix")
def tokens_revoke(prefix: str) -> None:
    """Revoke the token(s) starting with PREFIX (the first 8 characters are shown by ``list``)."""
    with storage.session() as session:
        count = rowcount(session.execute(sa.update(ApiToken).where(ApiToken.prefix == prefix[:8],
                                                                   ApiToken.revoked_at.is_(None))
                                         .values(revoked_at=get_clock().now())))
    click.echo(f"revoked {count} token(s)")


@tokens_cli.command("list")
def tokens_list() -> None:
    table = Table("prefix", "name", "account", "created", "last used", "revoked")
    with storage.session() as session:
        for token in session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
            table.add_row(token.prefix, token.name, str(token.account_id), token.created_at.isoformat(),
                          token.last_used_at.isoformat() if token.last_used_at else "",
                          token.revoked_at.isoformat() if token.revoked_at else "")
    Console().print(table)


@work_cli.command("list")
@click.option("--state", type=click.Choice(workqueue.STATES), default="failed", show_default=True)
@click.option("--limit", type=int, default=50, show_default=True)
def work_list(state: str, limit: int) -> None:
    """List work items in a state (failed ones by default), newest first."""
    table = Table("id", "account", "kind", "key", "attempts", "last error")
    with storage.session() as session:
        items = session.scalars(sa.select(WorkItem).where(WorkItem.state == state)
                                .order_by(WorkItem.id.desc()).limit(limit))
        for item in items:
            table.add_row(str(item.id), str(item.account_id), item.kind, item.idempotency_key,
                          f"{item.attempts}/{item.max_attempts}", (item.last_error or "")[:80])
        counts = workqueue.counts_by_state(session)
    Console().print(table)
    click.echo("  ".join(f"{name}: {count}" for name, count in counts.items()))


@work_cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--account", "subdomain")
def work_retry(ids: tuple[int, ...], subdomain: str | None) -> None:
    """Give failed work items (the listed ones, or all of the account's) a fresh set of attempts."""
    account_id = _account_id(subdomain)
    with storage.session() as session:
        count = workqueue.retry_failed(session, account_id=account_id, item_ids=list(ids) or None,
                                       now=get_clock().now())
    click.echo(f"{count} work item(s) will be tried again")


@events_cli.command("list")
@click.option("--state", type=click.Choice(EVENT_STATES), default="failed", show_default=True)
@click.option("--limit", type=int, default=50, show_default=True)
def events_list(state: str, limit: int) -> None:
    """List inbound events in a state (failed ones by default), newest first, with the plugins that failed."""
    table = Table("id", "account", "type", "ticket", "attempts", "plugins", "last error")
    with storage.session() as session:
        events = session.scalars(sa.select(InboundEvent).where(InboundEvent.state == state)
                                 .order_by(InboundEvent.id.desc()).limit(limit))
        for event in events:
            table.add_row(str(event.id), str(event.account_id), event.event_type, str(event.ticket_id or ""),
                          str(event.attempts), ", ".join(event.pending_plugins or []), (event.last_error or "")[:80])
        counts = dict(session.execute(sa.select(InboundEvent.state, sa.func.count())
                                      .where(InboundEvent.state != "done").group_by(InboundEvent.state)).tuples().all())
    Console().print(table)
    click.echo("  ".join(f"{name}: {counts.get(name, 0)}" for name in ("pending", "processing", "failed")))


@events_cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--account", "subdomain")
def events_retry(ids: tuple[int, ...], subdomain: str | None) -> None:
    """Queue failed events (the listed ones, or all of the account's) again, for the plugins that failed."""
    account_id = _account_id(subdomain)
    with storage.session() as session:
        count = inbox.retry_failed(session, account_id=account_id, event_ids=list(ids) or None,
                                   now=get_clock().now())
    click.echo(f"{count} event(s) will be handled again")


@notices_cli.command("summary")
@click.option("--subject", "subject_key", help="Only notices about this subject (e.g. feature_request:42).")
@click.option("--state", type=click.Choice(["delivered", "pending", "failed", "cancelled"]),
              help="List the notices in this state below the counts.")
@click.option("--account", "subdomain")
def notices_summary(subject_key: str | None, state: str | None, subdomain: str | None) -> None:
    """Count notices by state (and list those in --state), for one subject or all."""
    from app import notices

    account_id = _account_id(subdomain)
    subjects = [subject_key] if subject_key else None
    with storage.session() as session:
        counts = notices.summarise(session, account_id, subject_keys=subjects)
        listed = (notices.list_notices(session, account_id, subject_keys=subjects, state=state)
                  if state else [])
    summary = Table("delivered", "as comment", "as follow-up", "pending", "failed", "total")
    summary.add_row(*(str(counts[name]) for name in ("delivered", "comment", "followup", "pending", "failed",
                                                     "total")))
    Console().print(summary)
    if listed:
        table = Table("requester", "subject", "kind", "state", "ticket", "attempts", "last error")
        for notice in listed:
            table.add_row(str(notice["requester_id"]), notice["subject_key"], notice["kind"],
                          notice["state"], str(notice["ticket_id"] or ""), str(notice["attempts"]),
                          (notice["last_error"] or "")[:80])
        Console().print(table)


@notices_cli.command("retry")
@click.option("--subject", "subject_key", help="Only notices about this subject.")
@click.option("--account", "subdomain")
def notices_retry(subject_key: str | None, subdomain: str | None) -> None:
    """Give failed notices a fresh set of delivery attempts."""
    from app import notices

    account_id = _account_id(subdomain)
    with storage.session() as session:
        subjects = [subject_key] if subject_key else None
        count = notices.retry_failed_notices(session, account_id, subject_keys=subjects,
                                             now=get_clock().now())
    click.echo(f"{count} notice(s) will be tried again")


@click.command("purge")
@click.option("--days", type=click.FloatRange(min=2), default=None,
              help="Delete what finished more than this many days ago (default: DESKMATE_RETENTION_DAYS).")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option("--account", "subdomain", help="Only this account (default: every account).")
def purge_command(days: float | None, dry_run: bool, subdomain: str | None) -> None:
    """Delete done inbound events, done work items and plugins' old rows (see docs/operations.md, Retention)."""
    from app import retention
    from app.accounts import get_account

    settings = current_app.config["DESKMATE"]
    before = retention.cutoff(get_clock().now(), days if days is not None else settings.retention_days)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with storage.session() as session:
        query = sa.select(Account.id).order_by(Account.id)
        if subdomain:
            query = query.where(Account.subdomain == subdomain)
        ids = list(session.scalars(query))
    if subdomain and not ids:
        raise click.UsageError(f"no account {subdomain!r}")
    verb = "would delete" if dry_run else "deleted"
    for account_id in ids:
        account = get_account(account_id, app)
        if account is None:
            continue  # inactive: its rows stay until it is active again or removed (which cascades)
        purged = retention.purge_account(app, account, before=before, batch_size=settings.retention_batch_size,
                                         dry_run=dry_run)
        plugins = "".join(f", {count} rows of {name}" for name, count in purged.plugins.items())
        click.echo(f"{account.subdomain}: {verb} {purged.events} inbound events, {purged.work_items} work items"
                   f"{plugins} (finished before {before.isoformat()})")


def init_app(app: Flask) -> None:
    for group in (db_cli, accounts_cli, tokens_cli, work_cli, events_cli, notices_cli):
        app.cli.add_command(group)
    app.cli.add_command(worker_command)
    app.cli.add_command(purge_command)
    install.init_app(app)  # flask zendesk ..., flask slack ...
    for name, function in plugin_manager.implementations(app, "register_commands"):
        group = AppGroup(name.replace("_", "-"), help=f"Commands of the {name} plugin.")
        function(cli=group)
        if group.commands:
            app.cli.add_command(group)
