"""DESKMATE_ENV=production refuses to start with what would be unsafe on the internet, naming each setting; a
sound production configuration starts."""

from __future__ import annotations

import secrets
import subprocess
import sys
from typing import Any

import pytest

from app import create_app
from app.config import ConfigError, estimated_entropy_bits, load_settings
from app.db import storage
from tests.conftest import base_config, database_kind
from tests.processes import ROOT, deskmate_env

METRICS_TOKEN = "metrics-" + "k" * 24


@pytest.fixture
def production(database_url) -> dict[str, Any]:
    """A sound production configuration on the test database (SQLite allowed explicitly on the SQLite run)."""
    return base_config(database_url, env="production", secret_key=secrets.token_urlsafe(32),
                       public_url="https://deskmate.acme.example", metrics_token=METRICS_TOKEN,
                       allow_sqlite_in_production=database_kind() == "sqlite")


def refusal(config: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        create_app(config)
    return str(raised.value)


def test_a_sound_production_configuration_starts(production):
    app = create_app(production)
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        client = app.test_client()
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
    finally:
        storage.dispose(app)


def test_a_secret_key_of_32_spaces_is_refused_with_the_rule(production):
    message = refusal({**production, "secret_key": " " * 32})
    assert "DESKMATE_SECRET_KEY: is too guessable" in message
    assert "how often each of its characters occurs" in message and "80 bits" in message
    assert "secrets.token_urlsafe(32)" in message


@pytest.mark.parametrize("key", ["ab" * 16, "0" * 40, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabc"])
def test_low_entropy_keys_of_any_length_are_refused(production, key):
    assert "DESKMATE_SECRET_KEY: is too guessable" in refusal({**production, "secret_key": key})


@pytest.mark.parametrize("key", [None, "x7Kp2qZ9"])
def test_a_missing_or_short_secret_key_is_refused(production, key):
    message = refusal({**production, "secret_key": key})
    assert "DESKMATE_SECRET_KEY: must be set to at least 32 characters in production" in message


def test_random_keys_pass_the_entropy_rule():
    # The shortest usual key, 32 hexadecimal digits, has the least room: it must pass however it falls.
    assert min(estimated_entropy_bits(secrets.token_hex(16)) for _ in range(2000)) > 80
    assert estimated_entropy_bits(secrets.token_urlsafe(32)) > 150


@pytest.mark.parametrize("url", ["http://deskmate.acme.example", "deskmate.acme.example", "https://"])
def test_a_public_url_that_is_not_https_is_refused(production, url):
    message = refusal({**production, "public_url": url})
    assert "DESKMATE_PUBLIC_URL: must be an https:// URL in production" in message
    assert repr(url) in message


def test_sqlite_is_refused_unless_explicitly_allowed(production, tmp_path):
    sqlite = {**production, "database_url": f"sqlite:///{tmp_path / 'prod.sqlite3'}"}
    message = refusal({**sqlite, "allow_sqlite_in_production": False})
    assert "DESKMATE_DATABASE_URL: is SQLite" in message
    assert "DESKMATE_ALLOW_SQLITE_IN_PRODUCTION=true" in message
    assert load_settings({**sqlite, "allow_sqlite_in_production": True}).is_sqlite


@pytest.mark.parametrize("token", [None, "", "   "])
def test_metrics_without_a_token_are_refused(production, token):
    message = refusal({**production, "metrics_token": token})
    assert "DESKMATE_METRICS_TOKEN: must be set in production" in message
    assert "/metrics is public" in message


def test_every_problem_is_named_at_once(production, tmp_path):
    message = refusal({**production, "secret_key": " " * 32, "public_url": "http://127.0.0.1:5000",
                       "database_url": f"sqlite:///{tmp_path / 'x.sqlite3'}", "allow_sqlite_in_production": False,
                       "metrics_token": None})
    named = [line.split(":", 1)[0].strip() for line in message.splitlines()[1:]]
    assert named == ["DESKMATE_SECRET_KEY", "DESKMATE_PUBLIC_URL", "DESKMATE_DATABASE_URL", "DESKMATE_METRICS_TOKEN"]


def test_development_and_test_keep_their_defaults(tmp_path):
    for env in ("development", "test"):
        settings = load_settings({"env": env, "secret_key": " " * 32, "database_url": f"sqlite:///{tmp_path}/d.db"})
        assert settings.public_url.startswith("http://") and settings.metrics_token is None


def test_a_secret_key_from_the_config_file_counts_with_production_from_the_environment(production, tmp_path,
                                                                                        monkeypatch):
    """The environment alone is not a whole configuration: production is judged once every source is merged."""
    monkeypatch.setenv("DESKMATE_ENV", "production")
    config_file = tmp_path / "deskmate.toml"
    config_file.write_text(f'secret_key = "{secrets.token_urlsafe(32)}"\n'
                           f'metrics_token = "{METRICS_TOKEN}"\npublic_url = "https://deskmate.acme.example"\n')
    settings = load_settings({key: value for key, value in production.items()
                              if key not in ("env", "secret_key", "metrics_token", "public_url")}
                             | {"config_file": str(config_file)})
    assert settings.env == "production"


def test_the_flask_command_refuses_to_start_and_says_why(production):
    env = deskmate_env({**production, "secret_key": " " * 32, "metrics_token": None})
    done = subprocess.run([sys.executable, "-m", "flask", "routes"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "DESKMATE_SECRET_KEY: is too guessable" in done.stderr
    assert "DESKMATE_METRICS_TOKEN: must be set in production" in done.stderr
