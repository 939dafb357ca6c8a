"""The fixture chain: database -> app -> client / worker -> helpers (signed webhooks, admin tokens).

The suite runs against SQLite by default and against PostgreSQL with ``DESKMATE_TEST_DATABASE=postgresql``
(``make test`` runs both). Either way the schema comes from the real migrations, once per session, and every
test starts from empty tables.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.clock import FakeClock
from app.db import Base, storage
from app.webhooks import sign

pytest_plugins = ["tests.sandbox_fixtures", "tests.hook_coverage", "tests.browser"]

PG_ADMIN_URL = os.environ.get("DESKMATE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WEBHOOK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
SLACK_SIGNING_SECRET = "slack-signing-secret-for-tests"
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def database_kind() -> str:
    return os.environ.get("DESKMATE_TEST_DATABASE", "sqlite")


def create_pg_database() -> str:
    """Create a fresh PostgreSQL database and return its URL (``drop_pg_database`` removes it)."""
    name = f"deskmate_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def base_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    """The settings every test app starts from: one account, ``acme``, pointing nowhere until a test says."""
    return {
        "env": "test",
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "log_format": "text",
        "log_level": "WARNING",
        "zendesk_subdomain": "acme",
        "zendesk_account_id": 9001,
        "zendesk_email": "deskmate@acme.example",
        "zendesk_api_token": "zendesk-api-token",
        "zendesk_webhook_secret": WEBHOOK_SECRET,
        "zendesk_base_url": "http://127.0.0.1:9",  # nothing listens there unless a test points it elsewhere
        "slack_signing_secret": SLACK_SIGNING_SECRET,
        "work_backoff_base_seconds": 1.0,
        "batch_linger_seconds": 0.0,
        # Off unless a test turns it on (tests/core/test_catch_up.py): its export reads would count among the
        # helpdesk calls other tests measure.
        "catch_up_interval_seconds": 0,
        **overrides,
    }


def pytest_sessionstart(session: pytest.Session) -> None:
    """Build the translations' .mo files from the committed .po files when missing or stale, as `make test` does."""
    from app.i18n import compile_catalogs

    compile_catalogs(Path(__file__).resolve().parents[1])


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database for the whole session (tables are emptied before each test)."""
    if database_kind() == "postgresql":
        url = create_pg_database()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'deskmate.sqlite3'}"
    app = create_app(base_config(url))
    from app.migrate import upgrade

    upgrade(app)
    storage.engine(app).dispose()
    yield url
    if database_kind() == "postgresql":
        drop_pg_database(url)


def empty_tables(app: Flask) -> None:
    engine = storage.engine(app)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def clock() -> FakeClock:
    """A clock that starts at the real time and moves only when a test says."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Per-test overrides of the settings; a test (or a module's fixture) updates this dict."""
    return {}


@pytest.fixture
def app(database_url: str, clock: FakeClock, app_config: dict[str, Any],
        request: pytest.FixtureRequest) -> Iterator[Flask]:
    from app.accounts import sync_default_account

    if {"helpdesk", "slack_emulator"} & set(request.fixturenames):
        request.getfixturevalue("sandbox_config")  # point the account at the emulators first
    from app.ratelimit import forget_local_buckets

    app = create_app(base_config(database_url, **app_config), app_clock=clock)
    empty_tables(app)
    forget_local_buckets()
    with app.app_context():
        sync_default_account(app, clock.now())
        yield app
    storage.dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def worker(app: Flask) -> Any:
    from app.worker import Worker

    return Worker(app, worker_id="test-worker")


@pytest.fixture
def account_id(app: Flask) -> int:
    from app.accounts import active_accounts

    return active_accounts(app)[0].id


@pytest.fixture
def admin_token(runner: Any) -> str:
    result = runner.invoke(args=["tokens", "create", "--name", "tests"])
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


@pytest.fixture
def admin_headers(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


def ticket_event(ticket_id: int, event_type: str = "ticket.created", *, event: dict[str, Any] | None = None,
                 **detail: Any) -> dict[str, Any]:
    """An event-subscribed webhook body in Zendesk's shape (ids as strings in ``detail``)."""
    base_detail = {
        "id": str(ticket_id), "subject": f"Ticket {ticket_id}", "status": "NEW", "priority": None,
        "requester_id": "501", "submitter_id": "501", "organization_id": None, "group_id": None,
        "assignee_id": None, "brand_id": "1", "form_id": None, "tags": [], "type": None,
        "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:00:00Z", "via": {"channel": "web"},
        "description": "Help", "is_public": True, "actor_id": "501",
    }
    base_detail.update({key: (str(value) if key.endswith("_id") and value is not None else value)
                        for key, value in detail.items()})
    return {
        "type": f"zen:event-type:{event_type}", "account_id": 9001, "id": str(uuid.uuid4()),
        "time": "2026-11-23T09:00:00Z", "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket_id}",
        "detail": base_detail, "event": event or {},
    }


@pytest.fixture
def post_webhook(client: FlaskClient, clock: FakeClock) -> Callable[..., Any]:
    """Post a body to /webhooks/zendesk signed the way Zendesk signs it."""

    def post(body: dict[str, Any] | bytes, *, secret: str = WEBHOOK_SECRET, timestamp: str | None = None,
             invocation_id: str | None = None, headers: dict[str, str] | None = None,
             path: str = "/webhooks/zendesk") -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        stamp = timestamp or clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        sent = {
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Signature": sign(secret, stamp, raw),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Id": "01HWEBHOOK",
            "X-Zendesk-Webhook-Invocation-Id": invocation_id or str(uuid.uuid4()),
            "X-Zendesk-Account-Id": "9001",
            "User-Agent": "Zendesk Webhook",
            **(headers or {}),
        }
        return client.post(path, data=raw, headers=sent)

    return post


ARTIFACTS = Path(__file__).parent / "artifacts"
