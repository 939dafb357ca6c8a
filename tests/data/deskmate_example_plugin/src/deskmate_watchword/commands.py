"""``flask watchword ...``: what an operator asks of the plugin."""

from __future__ import annotations

import click

from app.api import account_option, command_context
from deskmate_watchword import queries


def register(cli: click.Group) -> None:
    @cli.command("mentions")
    @account_option
    def mentions_command(subdomain: str | None) -> None:
        """List the latest tickets that mentioned the watch word."""
        with command_context("watchword", subdomain) as ctx:
            for mention in ctx.session.scalars(queries.recent(ctx.account.id)):
                state = "reported" if mention.reported_at else "not reported yet"
                click.echo(f"#{mention.ticket_id}\t{mention.word}\t{mention.seen_at:%Y-%m-%d %H:%M}\t{state}")
