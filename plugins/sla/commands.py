"""``flask sla report`` (a table of the SLA report) and ``flask sla import-policies``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table

from app.api import account_option, command_context
from plugins.sla.policies import import_policies
from plugins.sla.reports import DIMENSIONS, ReportError, build_report, parse_period
from plugins.sla.settings import SlaSettings


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _minutes(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def register(cli: click.Group) -> None:
    @cli.command("report")
    @click.option("--from", "first", help="First day (YYYY-MM-DD); default: 6 days before --to.")
    @click.option("--to", "last", help="Last day, inclusive (YYYY-MM-DD); default: today.")
    @click.option("--by", type=click.Choice(DIMENSIONS), help="Break the figures down by this dimension.")
    @account_option
    def report(first: str | None, last: str | None, by: str | None, subdomain: str | None) -> None:
        """Print attainment, median and p90 first-reply time and breaches for a period."""
        with command_context("sla", subdomain) as ctx:
            zone = ZoneInfo(ctx.settings_as(SlaSettings).business_hours.timezone)
            try:
                start, end = parse_period(first, last, ctx.now().astimezone(zone).date())
                data = build_report(ctx.session, ctx.account.id, start, end, by, zone)
            except ReportError as error:
                raise click.UsageError(str(error)) from None
        table = Table("slice", "tickets", "within target", "median min", "p90 min", "breaches", "open",
                      "closed w/o reply", title=f"First-reply SLA {data['from']} to {data['to']}")
        for row in [data["overall"], *data["groups"]]:
            table.add_row(row["key"], str(row["tickets"]), _percent(row["attainment"]),
                          _minutes(row["median_minutes"]), _minutes(row["p90_minutes"]), str(row["breaches"]),
                          str(row["running"]), str(row["closed_without_reply"]))
        Console(width=120).print(table)

    @cli.command("import-policies")
    @account_option
    def import_command(subdomain: str | None) -> None:
        """Read the helpdesk's SLA policies into the account's targets (see policy_segments)."""
        with command_context("sla", subdomain) as ctx:
            result = import_policies(ctx)
        for target in result["imported"]:
            click.echo(f"{target['segment']} {target['priority'] or 'any priority'}: {target['minutes']} min"
                       + (" (business hours)" if target["business_hours"] else ""))
        for note in result["notes"]:
            click.echo(f"note: {note}")
        click.echo(f"{len(result['imported'])} target(s) imported")
