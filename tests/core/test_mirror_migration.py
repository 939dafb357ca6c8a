"""Upgrading to the helpdesk mirror carries every cached row over (sidebar's and routing's), and back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa

from app import create_app
from app.db import storage
from app.migrate import downgrade, upgrade
from tests.conftest import base_config, create_pg_database, database_kind, drop_pg_database

T0 = datetime(2026, 11, 20, 9, 0)
T1 = datetime(2026, 11, 21, 9, 0)


@pytest.fixture
def old_app(tmp_path) -> Iterator[object]:
    """An app whose database stands where it stood before the mirror (core 0003, routing and requests 0001)."""
    url = create_pg_database() if database_kind() == "postgresql" else f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(base_config(url))
    upgrade(app, "0003_sidebar")
    upgrade(app, "routing_0001")
    upgrade(app, "feature_requests_0001")
    yield app
    storage.engine(app).dispose()
    if database_kind() == "postgresql":
        drop_pg_database(url)


def _rows(app, statement: str) -> list[sa.Row]:
    with storage.engine(app).connect() as connection:
        return list(connection.execute(sa.text(statement)))


def test_the_sidebars_and_routings_caches_become_the_mirror_and_back(old_app):
    app = old_app
    json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
    with storage.engine(app).begin() as connection:
        account_id = connection.execute(sa.text(
            "INSERT INTO accounts (subdomain, active, rate_limit_per_minute, settings, created_at, updated_at) "
            "VALUES ('acme', true, 700, '{}', :t, :t) RETURNING id"), {"t": T0}).scalar_one()
        connection.execute(sa.text(
            "INSERT INTO ticket_index (account_id, ticket_id, subject, status, requester_id, organization_id, tags, "
            "updated_at) VALUES (:a, 42, 'Charged twice', 'open', 501, 301, :tags, :t)").bindparams(
            sa.bindparam("tags", type_=json)), {"a": account_id, "tags": ["ppv"], "t": T1})
        directory = sa.table("directory_cache", sa.column("account_id"), sa.column("kind"), sa.column("record_id"),
                             sa.column("data", json), sa.column("fetched_at"), sa.column("stale"))
        connection.execute(directory.insert(), [
            {"account_id": account_id, "kind": "user", "record_id": 501, "stale": False, "fetched_at": T1,
             "data": {"id": 501, "name": "Ana", "email": "Ana@Studio.example", "organization_id": 301,
                      "tags": ["VIP"], "user_fields": {"plan": "gold"}, "updated_at": "2026-11-21T08:00:00Z"}},
            {"account_id": account_id, "kind": "organization", "record_id": 301, "stale": True, "fetched_at": T0,
             "data": {"id": 301, "name": "Studio Aurora", "tags": ["premium_partner"],
                      "domain_names": ["Studio.example"], "updated_at": "2026-11-20T08:00:00Z"}},
        ])
        users = sa.table("routing_users", sa.column("account_id"), sa.column("user_id"), sa.column("email"),
                         sa.column("organization_id"), sa.column("role"), sa.column("tags", json),
                         sa.column("fields", json), sa.column("complete"), sa.column("missing"),
                         sa.column("updated_at"), sa.column("fetched_at"))
        connection.execute(users.insert(), [
            # older than the sidebar's copy of 501: the sidebar's columns stay
            {"account_id": account_id, "user_id": 501, "email": "old@studio.example", "organization_id": 301,
             "role": "end-user", "tags": [], "fields": {}, "complete": True, "missing": False, "updated_at": T0,
             "fetched_at": T0},
            # only routing knew 502: it comes over as it was, without a whole record
            {"account_id": account_id, "user_id": 502, "email": "fan@mail.example", "organization_id": None,
             "role": "end-user", "tags": ["night"], "fields": {"x": 1}, "complete": False, "missing": False,
             "updated_at": None, "fetched_at": T0},
        ])
        orgs = sa.table("routing_organizations", sa.column("account_id"), sa.column("organization_id"),
                        sa.column("name"), sa.column("tags", json), sa.column("fields", json),
                        sa.column("domain_names", json), sa.column("complete"), sa.column("missing"),
                        sa.column("updated_at"), sa.column("fetched_at"))
        connection.execute(orgs.insert(), [
            # newer than the sidebar's stale copy of 301: routing's columns win, the sidebar's record stays
            {"account_id": account_id, "organization_id": 301, "name": "Studio Aurora",
             "tags": ["premium_partner", "ppv"], "fields": {"tier": "2"}, "domain_names": ["studio.example"],
             "complete": True, "missing": False, "updated_at": T1, "fetched_at": T1},
        ])

        # a linked ticket only the feature-requests plugin heard of, and a requester only it knew
        connection.execute(sa.text(
            "INSERT INTO feature_requests_tickets (account_id, ticket_id, subject, status, requester_id, segment, "
            "tag_changes, seen_at) VALUES (:a, 77, 'Add 4K', 'pending', 503, 'premium_partner', '{}', :t), "
            "(:a, 42, 'Charged twice', 'solved', 501, NULL, '{}', :t)"), {"a": account_id, "t": T0})
        connection.execute(sa.text(
            "INSERT INTO feature_requests_requesters (account_id, requester_id, email, organization_id, segment, "
            "updated_at) VALUES (:a, 503, 'lead@studio.example', 301, 'premium_partner', :t)"),
            {"a": account_id, "t": T0})

    upgrade(app)

    tickets = {row.ticket_id: tuple(row) for row in _rows(
        app, "SELECT ticket_id, subject, status, requester_id, organization_id FROM helpdesk_tickets")}
    # the sidebar's newer view of 42 stays; 77 comes from the plugin's copy
    assert tickets == {42: (42, "Charged twice", "open", 501, 301), 77: (77, "Add 4K", "pending", 503, None)}
    [lead] = _rows(app, "SELECT email, organization_id, complete FROM helpdesk_users WHERE user_id = 503")
    assert tuple(lead) == ("lead@studio.example", 301, False)
    [own] = _rows(app, "SELECT ticket_id, segment FROM feature_requests_tickets WHERE ticket_id = 77")
    assert tuple(own) == (77, "premium_partner")
    users_after = {row.user_id: row for row in _rows(
        app, "SELECT user_id, name, email, organization_id, tags, fields, complete, data FROM helpdesk_users")}
    assert set(users_after) == {501, 502, 503}
    ana = users_after[501]
    assert (ana.name, ana.email, ana.complete) == ("Ana", "ana@studio.example", True)
    assert _json(ana.tags) == ["vip"] and _json(ana.fields) == {"plan": "gold"}
    assert _json(ana.data)["name"] == "Ana"
    fan = users_after[502]
    assert (fan.email, fan.complete, fan.data) == ("fan@mail.example", False, None)
    assert _json(fan.tags) == ["night"]
    [aurora] = _rows(app, "SELECT organization_id, tags, fields, complete, data FROM helpdesk_organizations")
    assert (_json(aurora.tags), _json(aurora.fields), aurora.complete) == (["premium_partner", "ppv"], {"tier": "2"},
                                                                          True)
    assert _json(aurora.data)["name"] == "Studio Aurora"
    tables = set(sa.inspect(storage.engine(app)).get_table_names())
    assert not tables & {"ticket_index", "directory_cache", "routing_users", "routing_organizations"}

    downgrade(app, "feature_requests_0001")
    assert tuple(_rows(app, "SELECT status, requester_id FROM feature_requests_tickets WHERE ticket_id = 77")[0]) \
        == ("pending", 503)
    downgrade(app, "routing_0001")
    downgrade(app, "0003_sidebar")
    assert {row.record_id for row in _rows(app, "SELECT record_id FROM directory_cache WHERE kind = 'user'")} == {501}
    assert {row.user_id for row in _rows(app, "SELECT user_id FROM routing_users")} == {501, 502, 503}
    assert sorted(row.ticket_id for row in _rows(app, "SELECT ticket_id FROM ticket_index")) == [42, 77]


def _json(value):
    import json

    return json.loads(value) if isinstance(value, str) else value
