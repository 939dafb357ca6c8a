"""`python -m sandbox serve|load`: run the emulators for `make run`, or drive a live-event spike."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import click

from .billing import BillingState, seed_from_helpdesk
from .billing import create_app as create_billing_app
from .seed import seed_facts, seed_helpdesk, seed_slack
from .server import ServerThread
from .slack import SlackState
from .slack import create_app as create_slack_app
from .zendesk import HelpdeskState
from .zendesk import create_app as create_helpdesk_app
from .zendesk.sdk import EXTENSION as LOCAL_SDK
from .zendesk.sdk import LocalSdk

TICKET_EVENTS = [
    f"zen:event-type:ticket.{kind}"
    for kind in (
        "created",
        "status_changed",
        "priority_changed",
        "group_assignment_changed",
        "agent_assignment_changed",
        "tags_changed",
        "comment_added",
        "custom_field_changed",
        "organization_changed",
        "requester_changed",
    )
]


@click.group()
def main() -> None:
    """Deskmate's Zendesk, Slack and billing emulators."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--zendesk-port", default=5101, show_default=True, type=int)
@click.option("--slack-port", default=5102, show_default=True, type=int)
@click.option("--billing-port", default=5103, show_default=True, type=int,
              help="The billing emulator, with a customer for every seeded end user; 0 disables it.")
@click.option("--seed/--no-seed", default=False, help="Load the sample account (orgs, agents, ~300 tickets).")
@click.option(
    "--rate-limit", default=700, show_default=True, type=int, help="Helpdesk API requests per minute."
)
@click.option("--api-user", "api_user_email", default=None,
              help="Create an admin named Deskmate with this e-mail, for Deskmate's API token to act as.")
@click.option("--webhook-url", default=None, help="Create a webhook for every ticket event, posting here.")
@click.option("--webhook-secret", default=None, help="Signing secret for that webhook (generated if absent).")
@click.option("--interactivity-url", default=None, help="Where Slack button clicks are posted.")
@click.option("--sidebar-url", default=None, help="The ticket sidebar app URL shown in the agent workspace.")
@click.option("--signed-urls/--no-signed-urls", default=True, help="Load the sidebar with an RS256 JWT POST.")
@click.option("--zaf-sdk-cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Serve Zendesk's ZAF SDK at /zaf_sdk.js, bundled from npm once and kept in this folder.")
@click.option("--slack-post-rate", default=1.0, show_default=True, type=float,
              help="Slack messages per second per channel before `ratelimited` (Slack's own is about 1).")
@click.option("--slack-post-burst", default=4, show_default=True, type=int)
@click.option(
    "--widget-url",
    default="http://127.0.0.1:5000/news/widget.js",
    show_default=True,
    help="Breaking-news script tag on the help-center page.",
)
def serve(
    host: str,
    zendesk_port: int,
    slack_port: int,
    billing_port: int,
    seed: bool,
    rate_limit: int,
    api_user_email: str | None,
    webhook_url: str | None,
    webhook_secret: str | None,
    interactivity_url: str | None,
    sidebar_url: str | None,
    signed_urls: bool,
    zaf_sdk_cache: Path | None,
    slack_post_rate: float,
    slack_post_burst: int,
    widget_url: str,
) -> None:
    """Serve the emulators until interrupted, and print the URLs to open."""
    slack_state = SlackState(interactivity_url=interactivity_url, post_rate=slack_post_rate,
                             post_burst=slack_post_burst)
    slack_server = ServerThread(create_slack_app(slack_state), port=slack_port, host=host)
    helpdesk = HelpdeskState(
        rate_limit=rate_limit,
        widget_url=widget_url,
        slack_url=slack_server.url,
        sidebar_url=sidebar_url,
        sidebar_signed_urls=signed_urls,
    )
    helpdesk_server = ServerThread(create_helpdesk_app(helpdesk), port=zendesk_port, host=host)
    if zaf_sdk_cache is not None:
        helpdesk_server.app.extensions[LOCAL_SDK] = LocalSdk(zaf_sdk_cache).start()
    if seed:
        seed_helpdesk(helpdesk)
        seed_slack(slack_state)
    if api_user_email:
        # A helpdesk user of Deskmate's own (the API token is account-wide, as in Zendesk): its comments and
        # updates are then told apart from the agents', the admin's included.
        helpdesk.create_user({"name": "Deskmate", "email": api_user_email, "role": "admin"})
    secret = None
    if webhook_url:
        hook = helpdesk.create_webhook(
            {
                "name": "Deskmate",
                "endpoint": webhook_url,
                "subscriptions": TICKET_EVENTS,
                "signing_secret": {"secret": webhook_secret} if webhook_secret else None,
            }
        )
        secret = hook["_secret"]
    billing_server = billing_emulator(helpdesk, billing_port, host)
    helpdesk_server.start()
    slack_server.start()
    if billing_server is not None:
        billing_server.start()
    facts = seed_facts(helpdesk)
    _print_banner(helpdesk, helpdesk_server.url, slack_server.url, secret, facts,
                  billing_server.app.extensions["billing"] if billing_server else None,
                  billing_server.url if billing_server else None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        helpdesk_server.stop()
        slack_server.stop()
        if billing_server is not None:
            billing_server.stop()
        helpdesk.close()


def billing_emulator(helpdesk: HelpdeskState, port: int, host: str = "127.0.0.1") -> ServerThread | None:
    """The billing emulator (not started) with a customer for each of the helpdesk's end users; None for port 0."""
    if not port:
        return None
    state = BillingState()
    seed_from_helpdesk(state, helpdesk)
    return ServerThread(create_billing_app(state), port=port, host=host)


def _print_banner(
    state: HelpdeskState, helpdesk_url: str, slack_url: str, secret: str | None, facts: dict[str, Any],
    billing: BillingState | None = None, billing_url: str | None = None,
) -> None:
    lines = [
        "Deskmate sandbox is running",
        f"  Agent workspace     {helpdesk_url}/agent/",
        f"  Help center page    {helpdesk_url}/hc/",
        f"  Slack channel view  {slack_url}/__sandbox/channel/premium-partners",  # Deskmate's SLA channel
        f"  Zendesk API         {helpdesk_url}/api/v2  (basic {state.admin_email}/token : {state.api_token})",
        f"  Slack Web API       {slack_url}/api/  (bot token xoxb-sandbox-token,"
        " signing secret sandbox-signing-secret)",
        f"  zenpy               ZENPY_FORCE_SCHEME=http ZENPY_FORCE_NETLOC={helpdesk_url.split('//')[1]}"
        f" subdomain={state.subdomain}",
        f"  Sandbox controls    {helpdesk_url}/__sandbox/state  /stats  /deliveries  /faults",
        f"  Seeded              {facts['tickets']} tickets, {len(facts['organizations'])} organizations, "
        f"{len(facts['agents'])} agents",
    ]
    if billing is not None and billing_url:
        lines += [
            f"  Billing API         {billing_url}/customers/<email>  (Authorization: Bearer {billing.secret};"
            f" {len(billing.customers)} customers)",
            f"  Billing controls    {billing_url}/__billing/faults  /ledger  /stats",
        ]
    if secret:
        lines.append(f"  Webhook secret      {secret}")
    click.echo("\n".join(lines), err=False)


@main.command()
@click.option("--url", default="http://127.0.0.1:5101", show_default=True, help="The helpdesk emulator.")
@click.option("--spike", default=5000, show_default=True, type=int, help="Tickets to create.")
@click.option("--minutes", default=3.0, show_default=True, type=float, help="Over how long.")
@click.option("--premium-share", default=0.2, show_default=True, type=float)
@click.option("--reply-share", default=0.3, show_default=True, type=float)
@click.option("--workers", default=16, show_default=True, type=int)
@click.option("--seed", "random_seed", default=7, show_default=True, type=int)
def load(
    url: str,
    spike: int,
    minutes: float,
    premium_share: float,
    reply_share: float,
    workers: int,
    random_seed: int,
) -> None:
    """Simulate a live-event spike of end-user tickets and agent replies, printing progress."""
    from .load import run_spike

    def report(snapshot: dict[str, Any]) -> None:
        click.echo(json.dumps(snapshot, ensure_ascii=False))

    run_spike(
        url,
        total=spike,
        minutes=minutes,
        premium_share=premium_share,
        reply_share=reply_share,
        workers=workers,
        seed=random_seed,
        progress=report,
    )
