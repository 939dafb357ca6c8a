"""``make run``'s settings: every capability configured against the sandbox, its database fresh at each start."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pydantic import ValidationError

from app.devserver import SandboxPorts, fresh_sandbox_database, sandbox_plugin_settings, save_plugin_settings


def _settings(environ: dict[str, str], ports: SandboxPorts | None = None) -> dict[str, dict[str, Any]]:
    return sandbox_plugin_settings(environ, ports)


def test_make_run_announces_premium_tickets_and_incidents_in_channels_the_slack_sandbox_has() -> None:
    from plugins.breaking_news.settings import BreakingNewsSettings
    from plugins.sla.settings import SlaSettings
    from sandbox.slack import SlackState

    settings = _settings({})
    sla = SlaSettings.model_validate(settings["sla"])
    news = BreakingNewsSettings.model_validate(settings["breaking_news"])
    slack = SlackState()
    assert slack.channel(sla.channel_for("premium_partner", None))["name"] == "premium-partners"
    assert sla.channel_for("user", None) is None  # only premium partners' tickets are announced
    assert news.slack_channel is not None
    assert slack.channel(news.slack_channel)["name"] == "breaking-news"


def test_make_run_lets_the_sandbox_help_center_read_the_banner_on_its_ports() -> None:
    from plugins.breaking_news.settings import BreakingNewsSettings

    news = BreakingNewsSettings.model_validate(_settings({}, SandboxPorts(6101, 6102, 6103))["breaking_news"])
    assert news.allowed_origins == ["http://127.0.0.1:6101", "http://localhost:6101"]


def test_make_run_points_the_customer_plugin_at_the_billing_emulator() -> None:
    from plugins.customer.settings import CustomerSettings
    from sandbox.seed import seed_slack
    from sandbox.slack import SlackState

    settings = _settings({})
    assert settings["customer"] == {"source": "billing",
                                    "billing_url_template": "http://127.0.0.1:5103/customers/{email}",
                                    "billing_secret": "Bearer billing-sandbox-secret",
                                    "approvals_channel": "#billing-approvals",
                                    "approvers": ["U0JAMES", "U0OLIVIA"]}
    # The approvers are members of the seeded Slack sandbox, and the channel exists there.
    slack = SlackState()
    seed_slack(slack)
    customer = CustomerSettings.model_validate(settings["customer"])
    assert {slack.users[user]["real_name"] for user in customer.approvers} == {"James Carter", "Olivia Brooks"}
    assert slack.channel("#billing-approvals")["id"] == "C08APPROVALS"


def test_only_enabled_plugins_get_sandbox_settings() -> None:
    assert set(_settings({"DESKMATE_PLUGINS": "routing, customer"})) == {"customer"}
    assert set(_settings({"DESKMATE_PLUGINS": "routing,sla"})) == {"sla"}
    assert sandbox_plugin_settings({"DESKMATE_PLUGINS": "routing,feature_requests"}) == {}


def test_plugin_settings_from_elsewhere_are_left_alone() -> None:
    assert sandbox_plugin_settings({"DESKMATE_PLUGIN_SETTINGS": "{}"}) == {}
    assert sandbox_plugin_settings({"DESKMATE_CONFIG_FILE": "deskmate.toml"}) == {}


def test_the_sandbox_settings_are_the_accounts_own_for_every_process(app: Flask, database_url: str) -> None:
    from app import create_app
    from app.accounts import get_account
    from app.db import storage
    from app.plugins import plugin_manager
    from tests.conftest import base_config

    save_plugin_settings(app, "acme", sandbox_plugin_settings({}))
    # Another process of the deployment (a `flask` command in another shell) reads them from the account.
    other = create_app(base_config(database_url))
    try:
        with other.app_context():
            account = get_account(_account_id(other), other)
            assert account is not None
            sla = plugin_manager.settings_for(other, "sla", account)
            news = plugin_manager.settings_for(other, "breaking_news", account)
            customer = plugin_manager.settings_for(other, "customer", account)
    finally:
        storage.dispose(other)
    assert sla is not None and sla.model_dump()["channels"] == {"premium_partner": "#premium-partners"}
    assert news is not None and news.model_dump()["allowed_origins"][0] == "http://127.0.0.1:5101"
    assert customer is not None and customer.model_dump()["source"] == "billing"


def test_a_sandbox_setting_the_plugin_refuses_is_not_saved(app: Flask) -> None:
    from app.accounts import get_account

    with pytest.raises(ValidationError):
        save_plugin_settings(app, "acme", {"sla": {"channels": "#premium-partners"}})
    account = get_account(_account_id(app), app)
    assert account is not None and "sla" not in account.settings


def _account_id(app: Flask) -> int:
    from app.accounts import active_accounts

    [account] = active_accounts(app)
    return account.id


def _database_with_accounts(path: Path, *accounts: tuple[str, str | None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("create table accounts (subdomain text, zendesk_base_url text)")
        connection.executemany("insert into accounts values (?, ?)", accounts)


def test_the_sandbox_database_is_emptied_at_each_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    url = fresh_sandbox_database({})
    assert url == "sqlite:///instance/deskmate.sqlite3"  # the default: `flask` commands in another shell use it
    database = tmp_path / "instance" / "deskmate.sqlite3"
    _database_with_accounts(database, ("sandbox", "http://127.0.0.1:5101"))
    (tmp_path / "instance" / "deskmate.sqlite3-wal").write_bytes(b"last run's log")
    secret_key = tmp_path / "instance" / "secret_key"
    secret_key.write_text("kept")

    assert fresh_sandbox_database({}) == url
    assert not database.exists()
    assert not (tmp_path / "instance" / "deskmate.sqlite3-wal").exists()
    assert secret_key.read_text() == "kept"


def test_a_real_helpdesks_database_is_never_emptied_by_the_sandbox(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "instance" / "deskmate.sqlite3"
    _database_with_accounts(database, ("sandbox", "http://127.0.0.1:5101"), ("acme", None))
    before = database.read_bytes()
    with pytest.raises(SystemExit, match=r"real helpdesk \(acme\)"):
        fresh_sandbox_database({})
    assert database.read_bytes() == before

    database.write_bytes(b"not a database")
    with pytest.raises(SystemExit, match="unreadable"):
        fresh_sandbox_database({})
    assert database.read_bytes() == b"not a database"


def test_a_chosen_database_is_never_emptied_by_the_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "instance" / "deskmate.sqlite3"
    _database_with_accounts(database, ("sandbox", "http://127.0.0.1:5101"))
    before = database.read_bytes()
    with pytest.raises(SystemExit, match="DESKMATE_DATABASE_URL is set"):
        fresh_sandbox_database({"DESKMATE_DATABASE_URL": "postgresql://deskmate@db/deskmate"})
    assert database.read_bytes() == before


def test_sandbox_ports_come_from_the_environment() -> None:
    ports = SandboxPorts.from_environ({"DESKMATE_SANDBOX_HELPDESK_PORT": "6101",
                                       "DESKMATE_SANDBOX_SLACK_PORT": "6102"})
    assert (ports.helpdesk, ports.slack, ports.billing) == (6101, 6102, 5103)
    assert ports.helpdesk_url == "http://127.0.0.1:6101"
