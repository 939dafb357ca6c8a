"""Real ``flask worker`` processes on real time: one killed with SIGKILL, two started after the moments.

Targets of two minutes with a reminder one minute before the deadline keep the test to about twenty seconds:
ticket 1's reminder moment and ticket 2's deadline both pass while no worker runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import inbox
from app.accounts import active_accounts
from app.db import storage
from app.models import WorkerHeartbeat
from tests.conftest import TEST_SECRET_KEY, WEBHOOK_SECRET, ticket_event
from tests.plugins.sla.conftest import PREMIUM_CHANNEL, sla_settings
from tests.sandbox_fixtures import SLACK_BOT_TOKEN, wait_for

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
SETTINGS = sla_settings(targets=[{"segment": "premium_partner", "minutes": 2, "notify": True,
                                  "reminders": [1]}])


@pytest.fixture
def real_slack() -> Any:
    """The Slack emulator on real time (the workers are separate processes: no fake clock reaches them)."""
    from sandbox.server import ServerThread
    from sandbox.slack import SlackState, create_app

    state = SlackState(bot_token=SLACK_BOT_TOKEN, post_rate=50, post_burst=50)
    server = ServerThread(create_app(state)).start()
    yield state, server.url
    server.stop()


@pytest.fixture
def app_config(app_config, real_slack):
    app_config["plugin_settings"] = {"sla": SETTINGS}
    app_config.update(slack_bot_token=SLACK_BOT_TOKEN, slack_base_url=real_slack[1] + "/api/")
    return app_config


def start_worker(database_url: str, slack_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ, "FLASK_APP": "wsgi:app", "DESKMATE_ENV": "test", "DESKMATE_DATABASE_URL": database_url,
        "DESKMATE_SECRET_KEY": TEST_SECRET_KEY, "DESKMATE_PLUGINS": "sla", "DESKMATE_LOG_LEVEL": "WARNING",
        "DESKMATE_PLUGIN_SETTINGS": json.dumps({"sla": SETTINGS}), "DESKMATE_ZENDESK_SUBDOMAIN": "acme",
        "DESKMATE_ZENDESK_ACCOUNT_ID": "9001", "DESKMATE_ZENDESK_EMAIL": "deskmate@acme.example",
        "DESKMATE_ZENDESK_API_TOKEN": "zendesk-api-token", "DESKMATE_ZENDESK_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DESKMATE_ZENDESK_BASE_URL": "http://127.0.0.1:9", "DESKMATE_SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "DESKMATE_SLACK_BASE_URL": slack_url + "/api/", "DESKMATE_WORKER_POLL_SECONDS": "0.1",
    }
    flask = Path(sys.executable).with_name("flask")
    return subprocess.Popen([str(flask), "worker", "--threads", "2"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def wait_until_running(app: Any, process: subprocess.Popen[bytes]) -> None:
    def beating() -> bool:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "worker died"
        with storage.session(app) as session:
            return bool(session.scalar(sa.select(WorkerHeartbeat).where(WorkerHeartbeat.pid == process.pid)))

    wait_for(beating, timeout=30, message="the worker's first heartbeat")


def new_premium_ticket(app: Any, ticket_id: int, created: datetime) -> None:
    """A ticket created at ``created`` and routed to the premium segment, stored as the web process would."""
    account = active_accounts(app)[0].id
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = ticket_event(ticket_id, "ticket.created", created_at=stamp, updated_at=stamp)
    now = datetime.now(UTC)
    inbox.store(app, account_id=account, source="zendesk", event_type="ticket.created", ticket_id=ticket_id,
                event_key=f"evt:{body['id']}", invocation_id=None, payload=body, now=now)
    inbox.store(app, account_id=account, event_type="routing.ticket_routed", ticket_id=ticket_id,
                event_key=f"routing:{ticket_id}", invocation_id=None, now=now, source="routing",
                payload={"ticket": {"id": ticket_id}, "ticket_id": ticket_id, "time": now.isoformat(),
                         "data": {"segment": "premium_partner", "group_id": None}})


def posted(state: Any) -> Counter[str]:
    return Counter(m["metadata"]["event_payload"]["deskmate_key"] for m in state.all_messages(PREMIUM_CHANNEL)
                   if m.get("metadata"))


def test_killed_worker_and_two_restarted_ones_post_each_message_once(app, database_url, real_slack):
    state, slack_url = real_slack
    first = start_worker(database_url, slack_url)
    survivors: list[subprocess.Popen[bytes]] = []
    try:
        wait_until_running(app, first)
        now = datetime.now(UTC)
        new_premium_ticket(app, 1, now - timedelta(seconds=54))  # reminder at +6 s, deadline at +66 s
        new_premium_ticket(app, 2, now - timedelta(seconds=116))  # reminder overdue now, deadline at +4 s
        wait_for(lambda: {"sla:arrival:1", "sla:arrival:2", "sla:reminder:1:2"} <= set(posted(state)),
                 timeout=15, message="the first worker's posts")
        os.kill(first.pid, signal.SIGKILL)  # no goodbye: leases and transactions are left as they are
        first.wait(timeout=10)
        time.sleep(max(0.0, (now + timedelta(seconds=8) - datetime.now(UTC)).total_seconds()))
        assert "sla:breach:2" not in posted(state)  # the deadline passed while no worker ran
        survivors = [start_worker(database_url, slack_url), start_worker(database_url, slack_url)]
        wait_for(lambda: {"sla:reminder:1:1", "sla:breach:2"} <= set(posted(state)), timeout=30,
                 message="the restarted workers' reminder and breach")
        time.sleep(3)  # both survivors run several more passes: nothing may repeat
    finally:
        for process in [first, *survivors]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [first, *survivors]:
            process.wait(timeout=20)
    counts = posted(state)
    assert counts == Counter({"sla:arrival:1": 1, "sla:arrival:2": 1, "sla:reminder:1:2": 1,
                              "sla:reminder:1:1": 1, "sla:breach:2": 1})
    [reminder] = [m for m in state.all_messages(PREMIUM_CHANNEL)
                  if m.get("metadata", {}).get("event_payload", {}).get("deskmate_key") == "sla:reminder:1:1"]
    assert reminder["text"].startswith(":alarm_clock: 1 min left")  # late by a few seconds, still true
