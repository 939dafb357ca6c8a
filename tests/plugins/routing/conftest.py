"""Fixtures for the routing plugin: the plugin alone, a warm directory cache, and readers of what it did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.db import storage
from app.effects import TICKET_UPDATE
from app.mirror import Mirror
from app.models import InboundEvent, WorkItem
from plugins.routing import groups
from plugins.routing.models import RoutingDecision
from tests.sandbox_fixtures import Emulator

TIER_1, TIER_2, SUPPORT, BILLING = 11, 12, 10, 13
PREMIUM_ORG, PLAIN_ORG = 301, 302
PARTNER_REQUESTER, VIEWER, PARTNER_DOMAIN_REQUESTER = 501, 502, 503


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["plugins"] = ["routing"]
    return app_config


def seed_groups(app: Flask, account_id: int, clock: Any, extra: dict[str, int] | None = None) -> None:
    """The helpdesk's groups as routing caches them: Support (the default), Tier 1, Tier 2, Billing."""
    with storage.session(app) as session:
        groups.store(session, account_id, [
            {"id": SUPPORT, "name": "Support", "default": True}, {"id": TIER_1, "name": "Tier 1"},
            {"id": TIER_2, "name": "Tier 2"}, {"id": BILLING, "name": "Billing"},
            *({"id": gid, "name": name} for name, gid in (extra or {}).items())], clock.now())


def organization(org_id: int, *, tags: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """An organization in the helpdesk API's shape."""
    return {"id": org_id, "name": f"Org {org_id}", "tags": tags or [], "organization_fields": fields,
            "domain_names": [], "updated_at": "2026-11-23T08:00:00Z"}


def user(user_id: int, email: str, *, organization_id: int | None = None, tags: list[str] | None = None,
         **fields: Any) -> dict[str, Any]:
    """An end user in the helpdesk API's shape."""
    return {"id": user_id, "email": email, "organization_id": organization_id, "role": "end-user",
            "tags": tags or [], "user_fields": fields, "active": True, "updated_at": "2026-11-23T08:00:00Z"}


@pytest.fixture
def warm_cache(app: Flask, account_id: int, clock: Any) -> Callable[..., None]:
    """Fill the helpdesk mirror as the incremental export would have (no helpdesk call needed)."""

    def fill(organizations: list[dict[str, Any]] = (), users: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        with storage.session(app) as session:
            Mirror(session, account_id).store_organizations(organizations, clock.now())
            Mirror(session, account_id).store_users(users, clock.now())

    return fill


@pytest.fixture
def known_directory(app: Flask, account_id: int, clock: Any, warm_cache: Callable[..., None]) -> None:
    """A premium partner organization, a plain one, and their people, all cached; groups resolved."""
    seed_groups(app, account_id, clock)
    warm_cache(
        organizations=[organization(PREMIUM_ORG, tags=["premium_partner"]), organization(PLAIN_ORG)],
        users=[user(PARTNER_REQUESTER, "ops@bigstudio.example", organization_id=PREMIUM_ORG),
               user(VIEWER, "viewer@mail.example"),
               user(PARTNER_DOMAIN_REQUESTER, "lead@studio.partner.example")])


def decision(app: Flask, ticket_id: int) -> RoutingDecision | None:
    with storage.session(app) as session:
        return session.scalar(sa.select(RoutingDecision).where(RoutingDecision.ticket_id == ticket_id))


def updates(app: Flask, ticket_id: int | None = None) -> list[WorkItem]:
    """The ticket updates routing asked the core for, oldest first."""
    with storage.session(app) as session:
        query = sa.select(WorkItem).where(WorkItem.kind == TICKET_UPDATE).order_by(WorkItem.id)
        items = session.scalars(query)
        return [item for item in items if ticket_id is None or item.payload["ticket_id"] == ticket_id]


def work(app: Flask, kind: str) -> list[WorkItem]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(WorkItem).where(WorkItem.kind == kind).order_by(WorkItem.id)))


def routed_events(app: Flask) -> list[InboundEvent]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(InboundEvent).where(
            InboundEvent.event_type == "routing.ticket_routed").order_by(InboundEvent.id)))


# --- the helpdesk emulator (real HTTP) ---------------------------------------------------------------

@pytest.fixture
def desk(helpdesk: Emulator, deskmate_server: Any) -> dict[str, Any]:
    """The emulated account (``build_desk``), with Deskmate subscribed to its ticket events."""
    return build_desk(helpdesk)


def build_desk(helpdesk: Emulator) -> dict[str, Any]:
    """Groups (Support is the default), a premium partner and a plain organization, their people, an agent."""
    api = helpdesk.api
    support = api("POST", "/groups", json={"group": {"name": "Support"}})["group"]  # the first is the default
    tier_1 = api("POST", "/groups", json={"group": {"name": "Tier 1"}})["group"]
    tier_2 = api("POST", "/groups", json={"group": {"name": "Tier 2"}})["group"]
    billing = api("POST", "/groups", json={"group": {"name": "Billing"}})["group"]
    premium = api("POST", "/organizations", json={"organization": {
        "name": "Big Studio", "tags": ["premium_partner"]}})["organization"]
    plain = api("POST", "/organizations", json={"organization": {"name": "Small Club"}})["organization"]
    partner = api("POST", "/users", json={"user": {"name": "Ops", "email": "ops@bigstudio.example",
                                                   "organization_id": premium["id"]}})["user"]
    member = api("POST", "/users", json={"user": {"name": "Fan", "email": "fan@smallclub.example",
                                                  "organization_id": plain["id"]}})["user"]
    agent = api("POST", "/users", json={"user": {"name": "Agent", "email": "agent@acme.example",
                                                 "role": "agent"}})["user"]
    records = {"support": support, "tier_1": tier_1, "tier_2": tier_2, "billing": billing, "premium": premium,
               "plain": plain, "partner": partner, "member": member, "agent": agent}
    return {name: record["id"] for name, record in records.items()}


def new_ticket(helpdesk: Emulator, requester_id: int, subject: str = "The live stream froze") -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_id": requester_id, "subject": subject, "body": "At minute 12, for everyone."})
    return int(answer["ticket"]["id"])


def settle(helpdesk: Emulator, worker: Any, rounds: int = 4) -> None:
    """Let webhooks arrive and the worker act on them until both are quiet."""
    for _ in range(rounds):
        helpdesk.flush_deliveries()
        if not worker.run_until_idle():
            break


def ticket(helpdesk: Emulator, ticket_id: int) -> dict[str, Any]:
    return helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]  # type: ignore[no-any-return]


def update_calls(helpdesk: Emulator) -> int:
    return sum(count for name, count in helpdesk.stats()["by_endpoint"].items() if "update_many" in name)
