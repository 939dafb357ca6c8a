"""``make run``: Deskmate in one process (web + one embedded worker), on SQLite by default.

With no helpdesk credentials in the environment (``DESKMATE_ZENDESK_SUBDOMAIN`` unset) it first starts the
bundled helpdesk, Slack and billing sandbox in a child process (``python -m sandbox serve --seed``), points
Deskmate's account at it, subscribes Deskmate to its ticket events and, unless plugin settings come from
elsewhere, points the customer panel at the billing emulator, so that a newcomer sees everything work. The
production service never imports the sandbox; this runner only starts it as a separate program.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

import requests

HOST = os.environ.get("DESKMATE_HOST", "127.0.0.1")
PORT = int(os.environ.get("DESKMATE_PORT", "5000"))
SANDBOX_HELPDESK_PORT = 5101
SANDBOX_SLACK_PORT = 5102
SANDBOX_BILLING_PORT = 5103
SANDBOX_BILLING_AUTHORIZATION = "Bearer billing-sandbox-secret"


def _wait_until_up(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise SystemExit(f"the sandbox did not start at {url}; see its output above")


def start_sandbox() -> dict[str, str]:
    """Start the sandbox emulators and return the environment that points Deskmate at them."""
    public = f"http://{HOST}:{PORT}"
    webhook_secret = secrets.token_urlsafe(24)
    command = [
        sys.executable, "-m", "sandbox", "serve", "--seed",
        "--zendesk-port", str(SANDBOX_HELPDESK_PORT), "--slack-port", str(SANDBOX_SLACK_PORT),
        "--billing-port", str(SANDBOX_BILLING_PORT),
        "--webhook-url", f"{public}/webhooks/zendesk", "--webhook-secret", webhook_secret,
        "--interactivity-url", f"{public}/slack/interactions",
        "--sidebar-url", f"{public}/sidebar/", "--widget-url", f"{public}/news/widget.js",
    ]
    process = subprocess.Popen(command)
    atexit.register(_stop, process)
    helpdesk = f"http://127.0.0.1:{SANDBOX_HELPDESK_PORT}"
    _wait_until_up(helpdesk + "/__sandbox/state")
    _wait_until_up(f"http://127.0.0.1:{SANDBOX_SLACK_PORT}/__sandbox/messages")
    _wait_until_up(f"http://127.0.0.1:{SANDBOX_BILLING_PORT}/__billing/stats")
    return {
        **billing_plugin_settings(os.environ),
        "DESKMATE_ZENDESK_SUBDOMAIN": "sandbox",
        "DESKMATE_ZENDESK_ACCOUNT_ID": "1",
        "DESKMATE_ZENDESK_BASE_URL": helpdesk,
        "DESKMATE_ZENDESK_EMAIL": "admin@deskmate-sandbox.example",
        "DESKMATE_ZENDESK_API_TOKEN": "sandbox-api-token",
        "DESKMATE_ZENDESK_WEBHOOK_SECRET": webhook_secret,
        "DESKMATE_SLACK_BOT_TOKEN": "xoxb-sandbox-token",
        "DESKMATE_SLACK_SIGNING_SECRET": "sandbox-signing-secret",
        "DESKMATE_SLACK_BASE_URL": f"http://127.0.0.1:{SANDBOX_SLACK_PORT}/api/",
        "DESKMATE_PUBLIC_URL": public,
    }


def billing_plugin_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """``DESKMATE_PLUGIN_SETTINGS`` pointing the customer plugin at the billing emulator, or nothing.

    Nothing when plugin settings already come from the environment or a config file: this variable would
    replace them whole, not add to them. Nothing either when ``DESKMATE_PLUGINS`` leaves the customer plugin
    out, since settings for a plugin that is not enabled stop Deskmate at start-up.
    """
    if environ.get("DESKMATE_PLUGIN_SETTINGS") or environ.get("DESKMATE_CONFIG_FILE"):
        return {}
    plugins = environ.get("DESKMATE_PLUGINS")
    if plugins is not None and "customer" not in [name.strip() for name in plugins.split(",")]:
        return {}
    customer = {
        "source": "billing",
        "billing_url_template": f"http://127.0.0.1:{SANDBOX_BILLING_PORT}/customers/{{email}}",
        "billing_secret": SANDBOX_BILLING_AUTHORIZATION,
        # Above Tier 1's limits a lead approves in the Slack sandbox: James (Tier 2) or Olivia (Billing).
        "approvals_channel": "#billing-approvals",
        "approvers": ["U0JAMES", "U0OLIVIA"],
    }
    return {"DESKMATE_PLUGIN_SETTINGS": json.dumps({"customer": customer})}


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    sandboxed = not os.environ.get("DESKMATE_ZENDESK_SUBDOMAIN")
    if sandboxed:
        os.environ.update(start_sandbox())
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
    if sandboxed and account is not None:
        # What an admin does once with `flask zendesk install`: groups, the webhook, and trusting the sidebar
        # app's installation (its public key), so that the workspace's signed sidebar loads.
        from app.install.helpdesk import install

        for step in install(app, account, service_url=public):
            if step.action == "skipped" and step.what == "organization field":
                continue  # the seeded organizations carry their partner tags already: nothing to do here
            print(f"  install: {step}")
    lines = [
        "",
        "Deskmate is running.",
        f"  health:            {public}/healthz",
        f"  admin:             {public}/admin/",
        "                     (sign in with a token from: .venv/bin/flask --app wsgi tokens create --name me)",
    ]
    if sandboxed:
        lines += [
            f"  agent workspace:   http://127.0.0.1:{SANDBOX_HELPDESK_PORT}/agent/",
            f"  Slack channel:     http://127.0.0.1:{SANDBOX_SLACK_PORT}/__sandbox/channel/premium-partners",
            f"  billing approvals: http://127.0.0.1:{SANDBOX_SLACK_PORT}/__sandbox/channel/billing-approvals",
            f"  help center:       http://127.0.0.1:{SANDBOX_HELPDESK_PORT}/hc/",
            f"  billing API:       http://127.0.0.1:{SANDBOX_BILLING_PORT}/customers/<email>"
            f"  (Authorization: {SANDBOX_BILLING_AUTHORIZATION}; faults and ledger under /__billing/)",
            "  (sandbox helpdesk, Slack and billing; set DESKMATE_ZENDESK_* to use a real account)",
        ]
    print("\n".join(lines) + "\n", flush=True)
    run_simple(HOST, PORT, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
