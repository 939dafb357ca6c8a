"""Start-up: the embedded worker starts in a serving process once the schema is at head, never in a ``flask``
command; commands print what they are for, and migrating says in one line how many migrations ran."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup

from app import create_app
from app.db import storage
from app.migrate import upgrade
from app.models import WorkerHeartbeat
from app.worker import embedded
from tests.conftest import base_config
from tests.processes import ROOT, deskmate_env


def _wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _embedded_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == embedded.THREAD_NAME]


def _heartbeats(app: Flask) -> int:
    with storage.session(app) as session:
        return len(session.scalars(sa.select(WorkerHeartbeat)).all())


def test_embedded_worker_on_a_fresh_database_waits_for_the_migrations_then_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(embedded, "POLL_SECONDS", 0.05)
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app(base_config(url, embedded_worker=True, log_level="INFO"))
    try:
        state = app.extensions[embedded.EXTENSION]
        assert _wait_for(lambda: "waiting for the database migrations" in capfd.readouterr().err)
        assert state.worker is None and _embedded_threads()

        upgrade(app)  # what `make run` and `flask db upgrade` do after the app is built

        assert _wait_for(lambda: state.worker is not None and _heartbeats(app) == 1)
    finally:
        embedded.stop(app)
        for thread in _embedded_threads():
            thread.join(timeout=15)
        storage.dispose(app)
    assert not _embedded_threads()
    log = capfd.readouterr().err
    assert "Traceback" not in log and "no such table" not in log


def test_a_flask_command_with_the_embedded_worker_on_starts_no_worker(database_url: str, app: Flask) -> None:
    built: list[Flask] = []

    def create() -> Flask:
        built.append(create_app(base_config(database_url, embedded_worker=True)))
        return built[0]

    # FlaskGroup is the `flask` command itself: it builds the app inside the command being run.
    result = CliRunner().invoke(FlaskGroup(create_app=create), ["tokens", "create", "--name", "ops"])

    assert result.exit_code == 0, result.output
    assert built and embedded.EXTENSION not in built[0].extensions
    assert not _embedded_threads()
    storage.dispose(built[0])


def test_outside_a_command_the_embedded_worker_starts(database_url: str, app: Flask) -> None:
    served = create_app(base_config(database_url, embedded_worker=True))
    try:
        assert _wait_for(lambda: served.extensions[embedded.EXTENSION].worker is not None)
        assert _embedded_threads()
    finally:
        embedded.stop(served)
        for thread in _embedded_threads():
            thread.join(timeout=15)
        storage.dispose(served)


def test_tokens_create_prints_only_the_token(database_url: str, app: Flask) -> None:
    config: dict[str, Any] = base_config(database_url, embedded_worker=True, log_level="INFO")
    done = subprocess.run([sys.executable, "-m", "flask", "tokens", "create", "--name", "ops"], cwd=ROOT,
                          env=deskmate_env(config), capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dm_") and len(done.stdout.splitlines()) == 1
    assert done.stderr == ""


def test_migrating_says_in_one_line_how_many_ran_and_nothing_when_none_did(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    app = create_app(base_config(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", log_level="INFO"))
    try:
        capfd.readouterr()
        applied = upgrade(app)
        first = capfd.readouterr().err
        again = upgrade(app)
        second = capfd.readouterr().err
    finally:
        storage.dispose(app)

    assert applied > 5 and again == 0
    [line] = first.splitlines()
    assert line.endswith(f"INFO    deskmate.migrate: database migrated: {applied} migrations applied")
    assert second == ""
