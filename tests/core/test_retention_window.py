"""DESKMATE_RETENTION_WINDOW_SECONDS: a window in seconds for benches (bench/soak.py), refused in production."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import ConfigError
from app.db import storage
from app.models import InboundEvent
from tests.conftest import base_config, database_kind, ticket_event


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = []
    app_config["sidebar_warm_cache"] = False
    app_config["retention_window_seconds"] = 30
    return app_config


def test_the_purge_timer_deletes_done_events_older_than_the_window_in_seconds(app, post_webhook, worker, clock):
    post_webhook(ticket_event(1))
    worker.run_until_idle()
    clock.advance(seconds=20)
    post_webhook(ticket_event(2))
    worker.run_until_idle()
    clock.advance(seconds=15)  # ticket 1's event finished 35 s ago, ticket 2's 15 s ago
    worker.run_timers({"purge"})
    with storage.session(app) as session:
        left = session.execute(sa.select(InboundEvent.ticket_id, InboundEvent.state)).all()
    assert [tuple(row) for row in left] == [(2, "done")]


def test_production_refuses_a_window_in_seconds(database_url):
    config = base_config(database_url, env="production", secret_key=secrets.token_urlsafe(32),
                         public_url="https://deskmate.acme.example", metrics_token="metrics-" + "k" * 24,
                         allow_sqlite_in_production=database_kind() == "sqlite", retention_window_seconds=60)
    with pytest.raises(ConfigError) as raised:
        create_app(config)
    assert "DESKMATE_RETENTION_WINDOW_SECONDS: is for benches and tests" in str(raised.value)
