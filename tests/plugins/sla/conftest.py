"""Fixtures for the SLA plugin: the plugin alone (routing's events are stored as routing would emit them)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app import inbox
from app.db import storage
from app.models import WorkItem
from plugins.sla.models import SlaClock
from tests.conftest import ticket_event

PREMIUM_CHANNEL = "C02PREMIUM"
AGENT_ID = 7001
REQUESTER_ID = 501


def sla_settings(**overrides: Any) -> dict[str, Any]:
    """The SLA settings these tests start from: premium partners told in #premium-partners."""
    return {"channels": {"premium_partner": PREMIUM_CHANNEL}, "wait_for_routing": True, **overrides}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["plugins"] = ["sla"]
    app_config["plugin_settings"] = {"sla": sla_settings()}
    # No Slack unless the test asks for the Slack emulator (sandbox_config then adds the bot token).
    return app_config


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def submitters() -> dict[int, int]:
    """Who submitted each test ticket opened on a requester's behalf; later events of it say the same."""
    return {}


@pytest.fixture
def created_at() -> dict[int, str]:
    """When each test ticket was created: every later event of a ticket carries the same creation time."""
    return {}


@pytest.fixture
def new_ticket(post_webhook: Callable[..., Any], clock: Any,
               created_at: dict[int, str], submitters: dict[int, int]) -> Callable[..., int]:
    """Send a signed ticket.created webhook for a ticket created now (by the clock)."""

    def create(ticket_id: int, **detail: Any) -> int:
        created_at[ticket_id] = iso(clock.now())
        if "submitter_id" in detail:
            submitters[ticket_id] = detail["submitter_id"]
        body = ticket_event(ticket_id, "ticket.created", **{
            "created_at": created_at[ticket_id], "updated_at": iso(clock.now()), "requester_id": REQUESTER_ID,
            "subject": f"Playback fails on ticket {ticket_id}", **detail})
        body["time"] = iso(clock.now())
        answer = post_webhook(body)
        assert answer.status_code == 202, answer.get_data(as_text=True)
        return ticket_id

    return create


@pytest.fixture
def comment(post_webhook: Callable[..., Any], clock: Any, created_at: dict[int, str],
            submitters: dict[int, int]) -> Callable[..., Any]:
    """Send a signed ticket.comment_added webhook (an agent's public reply unless told otherwise); each call is
    a new comment unless ``comment_id`` repeats one (the helpdesk delivering it again)."""
    ids = itertools.count(9_001)

    def add(ticket_id: int, *, public: bool = True, author_id: int = AGENT_ID, staff: bool = True,
            at: datetime | None = None, comment_id: int | None = None) -> Any:
        """``at``: when the agent wrote it (the helpdesk may deliver the webhook later)."""
        written = iso(at or clock.now())
        body = ticket_event(ticket_id, "ticket.comment_added", event={"comment": {
            "id": str(comment_id if comment_id is not None else next(ids)), "body": "Hello", "is_public": public,
            "author": {"id": str(author_id), "is_staff": staff, "name": "Ana Agent"}}},
            updated_at=written, requester_id=REQUESTER_ID, created_at=created_at.get(ticket_id),
            submitter_id=submitters.get(ticket_id, REQUESTER_ID))
        body["time"] = written
        return post_webhook(body)

    return add


@pytest.fixture
def status_change(post_webhook: Callable[..., Any], clock: Any,
                  created_at: dict[int, str]) -> Callable[..., Any]:
    def change(ticket_id: int, status: str) -> Any:
        body = ticket_event(ticket_id, "ticket.status_changed", event={"current": status.upper()},
                            status=status.upper(), updated_at=iso(clock.now()), requester_id=REQUESTER_ID,
                            created_at=created_at.get(ticket_id))
        body["time"] = iso(clock.now())
        return post_webhook(body)

    return change


@pytest.fixture
def route(app: Flask, clock: Any, submitters: dict[int, int]) -> Callable[..., None]:
    """Store a routing.ticket_routed event exactly as the routing plugin's ctx.emit stores it."""

    def emit(ticket_id: int, segment: str = "premium_partner", *, group_id: int | None = 360001,
             group_name: str | None = "Tier 2", priority: str | None = "normal", version: int = 1) -> None:
        from app.accounts import active_accounts

        ticket: dict[str, Any] = {"id": ticket_id, "priority": priority, "group_id": group_id}
        if ticket_id in submitters:  # routing passes the whole ticket; here only what the test needs
            ticket.update(submitter_id=submitters[ticket_id], requester_id=REQUESTER_ID)
        inbox.store(app, account_id=active_accounts(app)[0].id, event_type="routing.ticket_routed",
                    ticket_id=ticket_id, event_key=f"routing:routed:{ticket_id}:{version}",
                    invocation_id=None,
                    payload={"ticket": ticket, "ticket_id": ticket_id, "time": clock.now().isoformat(),
                             "data": {"segment": segment, "group_id": group_id, "group_name": group_name,
                                      "priority": priority, "reason": "test", "rule": None,
                                      "organization_id": None, "requester_id": None}},
                    now=clock.now(), source="routing")

    return emit


def clock_of(app: Flask, ticket_id: int) -> SlaClock:
    with storage.session(app) as session:
        return session.scalars(sa.select(SlaClock).where(SlaClock.ticket_id == ticket_id)).one()


def work_keys(app: Flask, prefix: str = "sla:") -> dict[str, str]:
    """Every work item key starting with ``prefix`` and its state."""
    with storage.session(app) as session:
        rows = session.execute(sa.select(WorkItem.idempotency_key, WorkItem.state)
                               .where(WorkItem.idempotency_key.startswith(prefix))).all()
    return {key: state for key, state in rows}


def work_item(app: Flask, key: str) -> WorkItem:
    with storage.session(app) as session:
        return session.scalars(sa.select(WorkItem).where(WorkItem.idempotency_key == key)).one()


# --- the emulators, on the test's fake clock ---------------------------------------------------------------
# Deadlines are minutes away; the emulators must see the same time as Deskmate, or a comment made "90 minutes
# later" would carry a time from before the deadline (and a signed click would look stale).

AGENT_EMAIL = "ana@acme.example"
SLACK_AGENT = "U0100ANA"


@pytest.fixture
def helpdesk(clock: Any) -> Any:
    from sandbox.server import ServerThread
    from sandbox.zendesk import HelpdeskState, create_app
    from tests.sandbox_fixtures import ACCOUNT_ID, ADMIN_EMAIL, API_TOKEN, SUBDOMAIN, Emulator

    state = HelpdeskState(clock=lambda: clock.now().timestamp(), subdomain=SUBDOMAIN, account_id=ACCOUNT_ID,
                          admin_email=ADMIN_EMAIL, admin_name="Deskmate", api_token=API_TOKEN, job_delay=0.05,
                          delivery_backoff=0.1)
    server = ServerThread(create_app(state)).start()
    yield Emulator(state, server.url, server)
    state.dispatcher.stop()
    server.stop()


@pytest.fixture
def slack_emulator(clock: Any) -> Any:
    from sandbox.server import ServerThread
    from sandbox.slack import SlackState, create_app
    from tests.conftest import SLACK_SIGNING_SECRET
    from tests.sandbox_fixtures import SLACK_BOT_TOKEN, Emulator

    state = SlackState(bot_token=SLACK_BOT_TOKEN, signing_secret=SLACK_SIGNING_SECRET,
                       clock=lambda: clock.now().timestamp())
    state.add_user("ana", "Ana Agent", AGENT_EMAIL, user_id=SLACK_AGENT)
    server = ServerThread(create_app(state)).start()
    yield Emulator(state, server.url, server)
    server.stop()


class Desk:
    """The helpdesk emulator as the test's people use it: requesters write in, agents reply."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.agent_id = int(emulator.api("POST", "/users", json={"user": {
            "name": "Ana Agent", "email": AGENT_EMAIL, "role": "agent"}})["user"]["id"])

    def new_ticket(self, subject: str = "Live stream keeps buffering", **fields: Any) -> int:
        answer = self.emulator.call("POST", "/__sandbox/tickets", json={
            "subject": subject, "body": "Our partners' viewers see buffering.", "requester_email":
            "rita@partner.example", "name": "Rita Requester", **fields})
        self.emulator.flush_deliveries()
        return int(answer["ticket"]["id"])

    def reply(self, ticket_id: int, *, public: bool = True, author_email: str = AGENT_EMAIL,
              status: str | None = None) -> None:
        self.emulator.call("POST", f"/__sandbox/tickets/{ticket_id}/comments", json={
            "body": "Looking into it now.", "public": public, "author_email": author_email,
            **({"status": status} if status else {})})
        self.emulator.flush_deliveries()


@pytest.fixture
def desk(helpdesk: Any, deskmate_server: Any) -> Desk:
    """The helpdesk emulator, subscribed to Deskmate's webhook endpoint served over real HTTP."""
    return Desk(helpdesk)


def slack_messages(slack: Any, channel: str = PREMIUM_CHANNEL) -> list[dict[str, Any]]:
    return list(slack.call("GET", f"/__sandbox/messages?channel={channel}")["messages"])


def thread_replies(slack: Any, channel: str = PREMIUM_CHANNEL) -> list[dict[str, Any]]:
    return [m for m in slack_messages(slack, channel) if m.get("thread_ts") not in (None, m["ts"])]


def arrivals(slack: Any, channel: str = PREMIUM_CHANNEL) -> list[dict[str, Any]]:
    return [m for m in slack_messages(slack, channel) if m.get("thread_ts") in (None, m["ts"])]


def make_clock(app: Flask, ticket_id: int, *, started_at: datetime, reply_minutes: float | None = None,
               target_minutes: int = 90, breached: bool | None = None, state: str | None = None,
               **fields: Any) -> SlaClock:
    """A clock as the plugin would have left it (for reports): answered after ``reply_minutes``, or not."""
    from datetime import timedelta

    from app.accounts import active_accounts

    due = started_at + timedelta(minutes=target_minutes)
    replied = started_at + timedelta(minutes=reply_minutes) if reply_minutes is not None else None
    late = (replied is not None and replied > due) if breached is None else breached
    values: dict[str, Any] = {
        "account_id": active_accounts(app)[0].id, "ticket_id": ticket_id, "started_at": started_at,
        "target_minutes": target_minutes, "due_at": due, "replied_at": replied,
        "reply_minutes": reply_minutes,
        "breached_at": due if late else None, "segment": "premium_partner", "tags": [],
        "state": state or ("answered" if replied else ("breached" if late else "running")),
        "reminders": [30, 10], "reminders_done": [], "business_hours": False, "notify": True,
        "created_at": started_at, "updated_at": started_at, **fields,
    }
    with storage.session(app) as session:
        clock = SlaClock(**values)
        session.add(clock)
    return clock
