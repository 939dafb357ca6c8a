"""``flask breaking-news ...``: list incidents; manage the help-center origins allowed to read the news."""

from __future__ import annotations

import click
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from app.api import account_option, command_context
from plugins.breaking_news.incidents import ticket_counts
from plugins.breaking_news.models import Incident
from plugins.breaking_news.settings import BreakingNewsSettings


def register(cli: click.Group) -> None:
    @cli.command("list")
    @account_option
    @click.option("--all", "show_all", is_flag=True, help="Resolved incidents too.")
    def list_incidents(subdomain: str | None, show_all: bool) -> None:
        """List incidents with their status and how many tickets are about each."""
        table = Table("id", "severity", "status", "title", "starts", "ends", "resolved", "tickets")
        with command_context("breaking_news", subdomain) as ctx:
            query = sa.select(Incident).where(Incident.account_id == ctx.account.id)
            if not show_all:
                query = query.where(Incident.resolved_at.is_(None))
            incidents = ctx.session.scalars(query.order_by(Incident.id.desc())).all()
            counts = ticket_counts(ctx.session, ctx.account.id, [incident.id for incident in incidents])
            for incident in incidents:
                table.add_row(str(incident.id), incident.severity, incident.status, incident.title,
                              f"{incident.starts_at:%Y-%m-%d %H:%M}",
                              f"{incident.ends_at:%Y-%m-%d %H:%M}" if incident.ends_at else "",
                              f"{incident.resolved_at:%Y-%m-%d %H:%M}" if incident.resolved_at else "",
                              str(counts.get(incident.id, 0)))
        Console().print(table)

    @cli.command("allow-origin")
    @click.argument("origins", nargs=-1)
    @account_option
    @click.option("--remove", is_flag=True, help="Remove the origins instead.")
    def allow_origin(origins: tuple[str, ...], subdomain: str | None, remove: bool) -> None:
        """Allow (or with --remove, stop allowing) help-center ORIGINS to read the account's active.json."""
        with command_context("breaking_news", subdomain) as ctx:
            # The account's list, or the deployment's until the first change: none is dropped silently.
            current = list(ctx.settings_as(BreakingNewsSettings).allowed_origins)
            try:
                given = BreakingNewsSettings(allowed_origins=list(origins)).allowed_origins
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
            if remove:
                current = [origin for origin in current if origin not in given]
            else:
                current = list(dict.fromkeys(current + given))
            ctx.save_settings({"allowed_origins": current})
        click.echo("allowed origins: " + (", ".join(current) or "(none)"))
