"""``flask breaking-news ...``: list incidents; manage the help-center origins allowed to read the news."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from rich.console import Console
from rich.table import Table

from app.accounts import upsert_account
from app.clock import get_clock
from app.db import storage
from app.models import Account
from app.plugins import plugin_manager
from plugins.breaking_news.incidents import ticket_counts
from plugins.breaking_news.models import Incident
from plugins.breaking_news.settings import BreakingNewsSettings


def _account(session: sa.orm.Session, subdomain: str | None) -> Account:
    accounts = session.scalars(sa.select(Account).where(
        Account.subdomain == subdomain) if subdomain else sa.select(Account)).all()
    if len(accounts) != 1:
        raise click.UsageError("name the account with --account SUBDOMAIN")
    return accounts[0]


def register(cli: click.Group) -> None:
    @cli.command("list")
    @click.option("--account", "subdomain", help="The account's subdomain (optional with one account).")
    @click.option("--all", "show_all", is_flag=True, help="Resolved incidents too.")
    def list_incidents(subdomain: str | None, show_all: bool) -> None:
        """List incidents with their status and how many tickets are about each."""
        table = Table("id", "severity", "status", "title", "starts", "ends", "resolved", "tickets")
        with storage.session() as session:
            account = _account(session, subdomain)
            query = sa.select(Incident).where(Incident.account_id == account.id)
            if not show_all:
                query = query.where(Incident.resolved_at.is_(None))
            incidents = session.scalars(query.order_by(Incident.id.desc())).all()
            counts = ticket_counts(session, account.id, [incident.id for incident in incidents])
            for incident in incidents:
                table.add_row(str(incident.id), incident.severity, incident.status, incident.title,
                              f"{incident.starts_at:%Y-%m-%d %H:%M}",
                              f"{incident.ends_at:%Y-%m-%d %H:%M}" if incident.ends_at else "",
                              f"{incident.resolved_at:%Y-%m-%d %H:%M}" if incident.resolved_at else "",
                              str(counts.get(incident.id, 0)))
        Console().print(table)

    @cli.command("allow-origin")
    @click.argument("origins", nargs=-1)
    @click.option("--account", "subdomain", help="The account's subdomain (optional with one account).")
    @click.option("--remove", is_flag=True, help="Remove the origins instead.")
    def allow_origin(origins: tuple[str, ...], subdomain: str | None, remove: bool) -> None:
        """Allow (or with --remove, stop allowing) help-center ORIGINS to read the account's active.json."""
        with storage.session() as session:
            account = _account(session, subdomain)
            overrides = dict((account.settings or {}).get("breaking_news") or {})
            if "allowed_origins" in overrides:
                current = list(overrides["allowed_origins"])
            else:  # the first override starts from the deployment's list, so that none is dropped silently
                base = plugin_manager.state(current_app).settings.get("breaking_news")
                current = list(base.allowed_origins) if isinstance(base, BreakingNewsSettings) else []
            try:
                given = BreakingNewsSettings(allowed_origins=list(origins)).allowed_origins
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
            if remove:
                current = [origin for origin in current if origin not in given]
            else:
                current = list(dict.fromkeys(current + given))
            overrides["allowed_origins"] = current
            settings = {**(account.settings or {}), "breaking_news": overrides}
            name = account.subdomain
        upsert_account(current_app, subdomain=name, now=get_clock().now(), settings=settings)
        click.echo("allowed origins: " + (", ".join(current) or "(none)"))
