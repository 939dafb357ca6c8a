"""The public plugin API (``app.api``): documented name by name, and what it offers instead of core tables."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from pydantic import BaseModel

import app.api as api
from app import workqueue
from app.accounts import active_accounts, get_account, invalidate, upsert_account
from app.db import storage
from app.models import Account, InboundEvent
from app.plugins import plugin_manager

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


class _Settings(BaseModel):
    colour: str = "blue"


def _ctx(app, session, plugin="routing"):
    return plugin_manager.context(app, plugin, active_accounts(app)[0], session)


def test_every_public_name_is_documented_in_the_plugin_guide():
    text = DOCS.read_text()
    missing = [name for name in api.__all__ if not re.search(rf"`{re.escape(name)}\b", text)]
    assert not missing, f"docs/plugins.md does not describe {missing}"
    for name in api.__all__:
        value = getattr(api, name)
        if callable(value) and not isinstance(value, str):
            assert (value.__doc__ or "").strip(), f"app.api.{name} has no docstring"


def test_work_states_tell_where_each_key_stands_and_leave_unknown_keys_out(app, clock, account_id):
    with storage.session(app) as session:
        for key in ("routing:a", "routing:b"):
            workqueue.enqueue(session, account_id=account_id, kind="routing.x", key=key, payload={},
                              now=clock.now())
    with storage.session(app) as session:
        session.execute(sa.update(workqueue.WorkItem).where(workqueue.WorkItem.idempotency_key == "routing:b")
                        .values(state=workqueue.FAILED, last_error="boom", finished_at=clock.now()))
    with storage.session(app) as session:
        ctx = _ctx(app, session)
        states = ctx.work_states(["routing:a", "routing:b", "routing:never"] + [f"k{i}" for i in range(1200)])
        assert set(states) == {"routing:a", "routing:b"}
        assert states["routing:a"].state == workqueue.PENDING
        assert (states["routing:b"].state, states["routing:b"].last_error) == (workqueue.FAILED, "boom")
        assert ctx.work_state("routing:never") is None
        assert ctx.work_state("routing:b") == workqueue.FAILED


def test_failed_work_is_limited_to_the_plugins_own_kinds_and_the_period(app, clock, account_id):
    with storage.session(app) as session:
        for key, kind in (("routing:old", "routing.x"), ("routing:new", "routing.x"), ("sla:1", "sla.x")):
            workqueue.enqueue(session, account_id=account_id, kind=kind, key=key, payload={}, now=clock.now())
        w = workqueue.WorkItem
        session.execute(sa.update(w).where(w.idempotency_key == "routing:old")
                        .values(state=workqueue.FAILED, finished_at=clock.now() - timedelta(days=3)))
        session.execute(sa.update(w).where(w.idempotency_key.in_(("routing:new", "sla:1")))
                        .values(state=workqueue.FAILED, finished_at=clock.now()))
    with storage.session(app) as session:
        ctx = _ctx(app, session)
        assert set(ctx.failed_work("routing.x", clock.now() - timedelta(days=1))) == {"routing:new"}
        with pytest.raises(ValueError, match="its own work kinds"):
            ctx.failed_work("sla.x", clock.now() - timedelta(days=1))


def test_unhandled_events_count_only_those_this_plugin_still_has_to_handle(app, clock, account_id):
    def event(key, ticket_id, state, pending_plugins):
        return InboundEvent(account_id=account_id, source="zendesk", event_type="ticket.comment_added",
                            ticket_id=ticket_id, event_key=key, payload={}, state=state, attempts=0,
                            received_at=clock.now(), next_attempt_at=clock.now(), pending_plugins=pending_plugins)

    with storage.session(app) as session:
        session.add_all([event("e1", 1, "pending", None), event("e2", 2, "processing", ["sla"]),
                         event("e3", 3, "pending", ["routing"]), event("e4", 4, "done", None)])
    with storage.session(app) as session:
        assert _ctx(app, session, "sla").tickets_with_unhandled_events([1, 2, 3, 4, 5]) == {1, 2}
        assert _ctx(app, session, "sla").tickets_with_unhandled_events([]) == set()


def test_settings_as_types_the_settings_and_says_what_is_wrong(app):
    with storage.session(app) as session:
        ctx = _ctx(app, session)
        assert type(ctx.settings).__name__ == "RoutingSettings"
        assert ctx.settings_as(type(ctx.settings)) is ctx.settings
        with pytest.raises(RuntimeError, match="no settings of type _Settings"):
            ctx.settings_as(_Settings)


def test_save_settings_merges_clears_and_is_seen_after_the_commit(app, clock, account_id):
    with storage.session(app) as session:
        _ctx(app, session, "sla").save_settings({"targets": []})
    with storage.session(app) as session:
        _ctx(app, session, "breaking_news").save_settings({"allowed_origins": ["https://help.example.com"]})
    account = get_account(account_id, app)  # the commit invalidated this process's account cache
    assert account is not None
    assert account.settings["sla"] == {"targets": []}
    assert account.settings["breaking_news"] == {"allowed_origins": ["https://help.example.com"]}
    with storage.session(app) as session:
        _ctx(app, session, "sla").save_settings(None)
    assert "sla" not in get_account(account_id, app).settings  # type: ignore[union-attr]
    assert "breaking_news" in get_account(account_id, app).settings  # type: ignore[union-attr]


def test_save_settings_rolled_back_changes_nothing(app, account_id):
    with pytest.raises(RuntimeError), storage.session(app) as session:
        _ctx(app, session, "sla").save_settings({"targets": []})
        raise RuntimeError("the admin's request failed after the change")
    invalidate(app)
    assert "sla" not in get_account(account_id, app).settings  # type: ignore[union-attr]


@pytest.mark.postgres
def test_two_plugins_saving_at_once_lose_neither_change(app, account_id):
    if storage.engine(app).dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite writers are serialised by the database lock")
    first_locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with storage.session(app) as session:
                _ctx(app, session, "sla").save_settings({"targets": []})
                first_locked.set()
                release.wait(10)
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_locked.wait(10)
    second = threading.Thread(target=lambda: _save(app, "breaking_news", {"allowed_origins": []}))
    second.start()
    with storage.engine(app).connect() as connection:  # the second writer waits on the first's row lock
        for _ in range(100):
            waiting = connection.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"))
            if waiting:
                break
            threading.Event().wait(0.05)
        assert waiting, "the second save did not wait for the first"
    release.set()
    thread.join(10)
    second.join(10)
    assert not errors
    with storage.session(app) as session:
        settings = session.get(Account, account_id).settings  # type: ignore[union-attr]
    assert settings["sla"] == {"targets": []} and settings["breaking_news"] == {"allowed_origins": []}


def _save(app, plugin, values):
    with storage.session(app) as session:
        _ctx(app, session, plugin).save_settings(values)


def _command():
    @click.command()
    @api.account_option
    def show(subdomain):
        with api.command_context("routing", subdomain) as ctx:
            click.echo(f"{ctx.plugin}@{ctx.account.subdomain}")

    return show


def test_account_option_picks_the_only_active_account_or_the_named_one(app, clock):
    runner = app.test_cli_runner()
    result = runner.invoke(_command(), [])
    assert result.exit_code == 0 and result.output.strip() == "routing@acme"
    upsert_account(app, subdomain="globex", now=clock.now(), zendesk_account_id=77)
    result = runner.invoke(_command(), [])
    assert result.exit_code == 2 and "name the account with --account SUBDOMAIN" in result.output
    result = runner.invoke(_command(), ["--account", "globex"])
    assert result.exit_code == 0 and result.output.strip() == "routing@globex"
    upsert_account(app, subdomain="initech", now=clock.now(), zendesk_account_id=78, active=False)
    result = runner.invoke(_command(), ["--account", "initech"])
    assert result.exit_code == 2 and "no active account 'initech'" in result.output


def test_command_context_commits_at_the_end_and_rolls_back_on_error(app, account_id):
    @click.command()
    @api.account_option
    @click.option("--fail", is_flag=True)
    def save(subdomain, fail):
        with api.command_context("sla", subdomain) as ctx:
            ctx.save_settings({"targets": []})
            if fail:
                raise click.ClickException("stopped")

    runner = app.test_cli_runner()
    assert runner.invoke(save, ["--fail"]).exit_code == 1
    invalidate(app)
    assert "sla" not in get_account(account_id, app).settings  # type: ignore[union-attr]
    assert runner.invoke(save, []).exit_code == 0
    assert get_account(account_id, app).settings["sla"] == {"targets": []}  # type: ignore[index]


def test_settings_for_merges_the_accounts_overrides_without_a_session(app, account_id):
    with storage.session(app) as session:
        _ctx(app, session, "breaking_news").save_settings({"allowed_origins": ["https://help.example.com"]})
    account = get_account(account_id, app)
    from plugins.breaking_news.settings import BreakingNewsSettings

    with app.app_context():
        settings = api.settings_for("breaking_news", BreakingNewsSettings, account)  # type: ignore[arg-type]
        with pytest.raises(RuntimeError, match="no settings of type _Settings"):
            api.settings_for("breaking_news", _Settings, account)  # type: ignore[arg-type]
    assert settings.allowed_origins == ["https://help.example.com"]


def test_enqueue_keys_are_namespaced_by_plugin_as_emitted_events_are(app):
    with storage.session(app) as session:
        ctx = _ctx(app, session, "sla")
        with pytest.raises(ValueError, match="keys starting with 'sla:'"):
            ctx.enqueue("slack.post_message", "routing:apply:1:1", {"channel": "C1", "text": "x"})
        with pytest.raises(ValueError, match="keys starting with 'sla:'"):
            ctx.enqueue("slack.post_message", "slack-arrival", {"channel": "C1", "text": "x"})
        assert ctx.enqueue("slack.post_message", "sla:test:1", {"channel": "C1", "text": "x"}) is True
        assert ctx.enqueue("slack.post_message", "sla:test:1", {"channel": "C1", "text": "x"}) is False
