"""``make run``: Deskmate in one process (web + one embedded worker), on SQLite by default.

With no helpdesk credentials in the environment (``DESKMATE_ZENDESK_SUBDOMAIN`` unset) it first starts the
bundled helpdesk, Slack and billing sandbox in a child process (``python -m sandbox serve --seed``), points
Deskmate's account at it as the sandbox's own "Deskmate" helpdesk user, subscribes Deskmate to its ticket
events and, unless plugin settings come from elsewhere, configures every capability the way an admin would for
a real account: the SLA and breaking-news Slack channels, the help center's origin for the banner, and the
customer panel's billing emulator. The production service never imports the sandbox; this runner only starts
it as a separate program.

The sandbox keeps its records in memory, so every run starts it fresh; Deskmate's database starts fresh with
it (the default ``instance/deskmate.sqlite3``, emptied at each start) so that the two always agree, and the
admin token for the run is printed. A database holding a real helpdesk's account, or named by
``DESKMATE_DATABASE_URL``, is never emptied: the run refuses to start instead.

Ports: ``DESKMATE_PORT`` (5000) for Deskmate, ``DESKMATE_SANDBOX_HELPDESK_PORT`` (5101),
``DESKMATE_SANDBOX_SLACK_PORT`` (5102) and ``DESKMATE_SANDBOX_BILLING_PORT`` (5103) for the emulators.
"""

from __future__ import annotations

import atexit
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask import Flask

HOST = os.environ.get("DESKMATE_HOST", "127.0.0.1")
PORT = int(os.environ.get("DESKMATE_PORT", "5000"))
SANDBOX_BILLING_AUTHORIZATION = "Bearer billing-sandbox-secret"
# Deskmate's own helpdesk user in the sandbox, as the README asks of a real account: its updates are known as
# echoes of its own, and its comments are told apart from the agents'.
SANDBOX_API_USER_EMAIL = "deskmate-bot@deskmate-sandbox.example"
# The default database (DESKMATE_DATABASE_URL's default), emptied at each sandbox start unless a real account's.
SANDBOX_DATABASE = Path("instance") / "deskmate.sqlite3"
LOOPBACK_URLS = ("http://127.0.0.1:", "http://localhost:")
SANDBOX_ZAF_SDK_CACHE = Path("instance") / "zaf_sdk"  # kept across runs, so the sidebar works offline
SLA_CHANNEL = "#premium-partners"
NEWS_CHANNEL = "#breaking-news"


@dataclass(frozen=True)
class SandboxPorts:
    """Where the emulators listen."""

    helpdesk: int = 5101
    slack: int = 5102
    billing: int = 5103

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SandboxPorts:
        defaults = cls()
        return cls(
            helpdesk=int(environ.get("DESKMATE_SANDBOX_HELPDESK_PORT", defaults.helpdesk)),
            slack=int(environ.get("DESKMATE_SANDBOX_SLACK_PORT", defaults.slack)),
            billing=int(environ.get("DESKMATE_SANDBOX_BILLING_PORT", defaults.billing)),
        )

    @property
    def helpdesk_url(self) -> str:
        return f"http://127.0.0.1:{self.helpdesk}"

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.slack}"

    @property
    def billing_url(self) -> str:
        return f"http://127.0.0.1:{self.billing}"


def _wait_until_up(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:  # not listening yet, or too busy starting to answer in time
            time.sleep(0.2)
    raise SystemExit(f"the sandbox did not start at {url}; see its output above")


def start_sandbox(ports: SandboxPorts) -> dict[str, str]:
    """Start the sandbox emulators and return the environment that points Deskmate at them."""
    public = f"http://{HOST}:{PORT}"
    webhook_secret = secrets.token_urlsafe(24)
    command = [
        sys.executable, "-m", "sandbox", "serve", "--seed",
        "--zendesk-port", str(ports.helpdesk), "--slack-port", str(ports.slack),
        "--billing-port", str(ports.billing), "--api-user", SANDBOX_API_USER_EMAIL,
        "--webhook-url", f"{public}/webhooks/zendesk", "--webhook-secret", webhook_secret,
        "--interactivity-url", f"{public}/slack/interactions",
        "--sidebar-url", f"{public}/sidebar/", "--widget-url", f"{public}/news/widget.js",
        "--zaf-sdk-cache", str(SANDBOX_ZAF_SDK_CACHE),
    ]
    process = subprocess.Popen(command)
    atexit.register(_stop, process)
    _wait_until_up(ports.helpdesk_url + "/__sandbox/state")
    _wait_until_up(ports.slack_url + "/__sandbox/messages")
    _wait_until_up(ports.billing_url + "/__billing/stats")
    return {
        "DESKMATE_ZENDESK_SUBDOMAIN": "sandbox",
        "DESKMATE_ZENDESK_ACCOUNT_ID": "1",
        "DESKMATE_ZENDESK_BASE_URL": ports.helpdesk_url,
        "DESKMATE_ZENDESK_EMAIL": SANDBOX_API_USER_EMAIL,
        "DESKMATE_ZENDESK_API_TOKEN": "sandbox-api-token",
        "DESKMATE_ZENDESK_WEBHOOK_SECRET": webhook_secret,
        "DESKMATE_SLACK_BOT_TOKEN": "xoxb-sandbox-token",
        "DESKMATE_SLACK_SIGNING_SECRET": "sandbox-signing-secret",
        "DESKMATE_SLACK_BASE_URL": ports.slack_url + "/api/",
        "DESKMATE_PUBLIC_URL": public,
        # The sidebar's ZAF SDK from the helpdesk emulator (bundled from npm once, then cached): no CDN needed.
        "DESKMATE_SIDEBAR_ZAF_SDK_URL": ports.helpdesk_url + "/zaf_sdk.js",
    }


def sandbox_plugin_settings(environ: Mapping[str, str],
                            ports: SandboxPorts | None = None) -> dict[str, dict[str, Any]]:
    """Per enabled plugin, the settings that show its capability against the sandbox; empty to leave them alone.

    What an admin sets for a real account: the SLA plugin announces premium partners' tickets in
    ``#premium-partners``; breaking news announces incidents in ``#breaking-news`` and lets the help center's
    origin read the banner's JSON; the customer panel reads the billing emulator, with large refunds approved in
    ``#billing-approvals``. Nothing when plugin settings already come from the environment or a config file: the
    sandbox's would override them.
    """
    if environ.get("DESKMATE_PLUGIN_SETTINGS") or environ.get("DESKMATE_CONFIG_FILE"):
        return {}
    ports = ports or SandboxPorts()
    plugins = environ.get("DESKMATE_PLUGINS")
    enabled = None if plugins is None else {name.strip() for name in plugins.split(",")}
    help_center_origins = [ports.helpdesk_url, f"http://localhost:{ports.helpdesk}"]
    candidates: dict[str, dict[str, Any]] = {
        "sla": {"channels": {"premium_partner": SLA_CHANNEL}},
        "breaking_news": {"slack_channel": NEWS_CHANNEL, "allowed_origins": help_center_origins},
        "customer": {
            "source": "billing",
            "billing_url_template": ports.billing_url + "/customers/{email}",
            "billing_secret": SANDBOX_BILLING_AUTHORIZATION,
            # Above Tier 1's limits a lead approves in the Slack sandbox: James (Tier 2) or Olivia (Billing).
            "approvals_channel": "#billing-approvals",
            "approvers": ["U0JAMES", "U0OLIVIA"],
        },
    }
    return {name: values for name, values in candidates.items() if enabled is None or name in enabled}


def save_plugin_settings(app: Flask, subdomain: str, settings: Mapping[str, dict[str, Any]]) -> None:
    """Store ``settings`` as the account's own, as ``flask breaking-news allow-origin`` and the admin pages do.

    In the account's row, every process of the deployment reads them: the ``flask`` commands typed in another
    shell as well as this server.

    Raises:
        pydantic.ValidationError: a value the plugin's settings refuse (nothing is saved for that plugin).
    """
    from app.api import command_context

    with app.app_context():
        for plugin, values in settings.items():
            with command_context(plugin, subdomain) as ctx:
                if ctx.settings is not None:
                    type(ctx.settings).model_validate({**ctx.settings.model_dump(), **values})
                ctx.save_settings(values)


def fresh_sandbox_database(environ: Mapping[str, str]) -> str:
    """Empty Deskmate's default database file for a sandbox run and return its URL.

    The default file, so that every ``flask`` command of the docs, typed in another shell, reads and writes the
    database the running sandbox uses. Only a database of the sandbox's own account (or of none) is emptied.

    Raises:
        SystemExit: ``DESKMATE_DATABASE_URL`` is set (emptying a database someone chose is not this runner's
            call, and keeping it beside a re-seeded sandbox would let old ticket ids hide new tickets), or the
            file holds a real helpdesk's account.
    """
    if environ.get("DESKMATE_DATABASE_URL"):
        raise SystemExit(
            f"make run with the sandbox empties Deskmate's database ({SANDBOX_DATABASE}) at every start, as the "
            "sandbox itself starts fresh; DESKMATE_DATABASE_URL is set, and that database will not be emptied. "
            "Unset it to try the sandbox, or set DESKMATE_ZENDESK_* to use a real helpdesk."
        )
    real = _real_accounts(SANDBOX_DATABASE)
    if real:
        raise SystemExit(
            f"{SANDBOX_DATABASE} holds the account of a real helpdesk ({', '.join(real)}); make run with the sandbox "
            "would empty it. Set DESKMATE_ZENDESK_* to run against that helpdesk, or move the file away to try the "
            "sandbox."
        )
    SANDBOX_DATABASE.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{SANDBOX_DATABASE}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{SANDBOX_DATABASE.as_posix()}"


def _real_accounts(path: Path) -> list[str]:
    """The subdomains of accounts in the SQLite file at ``path`` that are not the sandbox's (loopback) account.

    A file that is not a database Deskmate can read counts as a real account's: it is left alone.
    """
    if not path.exists():
        return []
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            tables = {row[0] for row in connection.execute("select name from sqlite_master where type = 'table'")}
            if "accounts" not in tables:
                return []
            rows = connection.execute("select subdomain, zendesk_base_url from accounts").fetchall()
    except sqlite3.Error:
        return [f"an unreadable database: {path}"]
    return [str(subdomain) for subdomain, base_url in rows
            if subdomain != "sandbox" or not str(base_url or "").startswith(LOOPBACK_URLS)]


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def _create_admin_token(account_id: int, name: str) -> str:
    """An admin API token for the account, as ``flask tokens create`` makes one (only its hash is stored)."""
    from app.clock import get_clock
    from app.db import storage
    from app.models import ApiToken
    from app.web import hash_token

    token = "dm_" + secrets.token_urlsafe(32)
    with storage.session() as session:
        session.add(ApiToken(account_id=account_id, name=name, token_hash=hash_token(token), prefix=token[:8],
                             created_at=get_clock().now()))
    return token


def _configured_lines(settings: Mapping[str, Any]) -> list[str]:
    """What the sandbox configured in Deskmate, or why it left the plugins' settings alone."""
    if not settings:
        return ["  plugin settings:   yours (DESKMATE_PLUGIN_SETTINGS or DESKMATE_CONFIG_FILE); the sandbox set none"]
    lines = []
    if "sla" in settings:
        lines.append(f"  SLA alerts:        premium partners' tickets announced in {SLA_CHANNEL}")
    if "breaking_news" in settings:
        lines.append(f"  incidents:         announced in {NEWS_CHANNEL}; the help center may read the banner")
    return lines


def main() -> None:
    sandboxed = not os.environ.get("DESKMATE_ZENDESK_SUBDOMAIN")
    ports = SandboxPorts.from_environ(os.environ)
    if sandboxed:
        database_url = fresh_sandbox_database(os.environ)
        os.environ.update(start_sandbox(ports))
        os.environ["DESKMATE_DATABASE_URL"] = database_url
    os.environ.setdefault("DESKMATE_EMBEDDED_WORKER", "true")

    from werkzeug.serving import run_simple

    from app import create_app
    from app.accounts import sync_default_account
    from app.clock import get_clock
    from app.migrate import upgrade

    app = create_app()
    upgrade(app)
    account = sync_default_account(app, get_clock(app).now())
    public = f"http://{HOST}:{PORT}"
    token = None
    plugin_settings: dict[str, dict[str, Any]] = {}
    if sandboxed and account is not None:
        # What an admin does once with `flask zendesk install`: groups, the webhook, and trusting the sidebar
        # app's installation (its public key), so that the workspace's signed sidebar loads.
        from app.install.helpdesk import install

        for step in install(app, account, service_url=public):
            if step.action == "skipped" and step.what == "organization field":
                continue  # the seeded organizations carry their partner tags already: nothing to do here
            print(f"  install: {step}")
        plugin_settings = sandbox_plugin_settings(os.environ, ports)
        save_plugin_settings(app, account.subdomain, plugin_settings)
        with app.app_context():
            token = _create_admin_token(account.id, "make run")
    lines = [
        "",
        "Deskmate is running.",
        f"  health:            {public}/healthz",
        f"  admin:             {public}/admin/",
    ]
    if token is None:
        lines.append(" " * 21 + "(sign in with a token from: .venv/bin/flask --app wsgi tokens create --name me)")
    else:
        lines.append(f"  admin token:       {token}")
    if sandboxed:
        lines += [
            f"  agent workspace:   {ports.helpdesk_url}/agent/",
            f"  Slack channel:     {ports.slack_url}/__sandbox/channel/premium-partners",
            f"  breaking news:     {ports.slack_url}/__sandbox/channel/breaking-news",
            f"  billing approvals: {ports.slack_url}/__sandbox/channel/billing-approvals",
            f"  help center:       {ports.helpdesk_url}/hc/",
            f"  billing API:       {ports.billing_url}/customers/<email>"
            f"  (Authorization: {SANDBOX_BILLING_AUTHORIZATION}; faults and ledger under /__billing/)",
            *_configured_lines(plugin_settings),
            "",
            "  The sandbox starts fresh at every `make run`: the helpdesk, Slack and billing emulators are seeded",
            f"  again and Deskmate's database ({SANDBOX_DATABASE}) is emptied with them, so ticket ids,",
            "  messages, incidents and the admin token above are new each time; `flask` commands in another shell",
            "  use this database while it runs. (set DESKMATE_ZENDESK_* to use a real account)",
        ]
    print("\n".join(lines) + "\n", flush=True)
    # `kill` ends the run as Ctrl-C does: the embedded worker stops and the sandbox with it (atexit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_simple(HOST, PORT, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        from app.worker import embedded

        embedded.stop(app, wait_seconds=15)


if __name__ == "__main__":
    main()
