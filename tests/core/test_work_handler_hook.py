"""register_work_handlers: a plugin's own work kinds reach its handlers, and only kinds named after it."""

from __future__ import annotations

import pytest

from app import create_app
from app.accounts import active_accounts
from app.config import ConfigError
from app.db import storage
from app.plugins import plugin_manager
from app.worker import Worker
from tests.conftest import base_config
from tests.core import sample_plugin


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["tests.core.sample_plugin"]
    app_config["sidebar_warm_cache"] = False
    sample_plugin.reset()
    return app_config


@pytest.mark.hook("register_work_handlers")
def test_a_plugin_kind_is_performed_by_its_handler_and_its_result_kept(app, worker):
    account = active_accounts(app)[0]
    with storage.session(app) as session:
        ctx = plugin_manager.context(app, "sample_plugin", account, session)
        assert ctx.enqueue("sample_plugin.record", "sample_plugin:record:hook", {"greeting": "hej"})
    worker.run_until_idle()
    assert sample_plugin.performed == {"sample_plugin:record:hook": 1}
    with storage.session(app) as session:
        ctx = plugin_manager.context(app, "sample_plugin", account, session)
        assert ctx.result_of("sample_plugin:record:hook") == {"greeting": "hej", "attempt": 1}


@pytest.mark.hook("register_work_handlers")
def test_a_kind_not_named_after_its_plugin_is_refused(database_url, tmp_path, monkeypatch):
    package = tmp_path / "hookcheck_kinds"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "poacher.py").write_text(
        "from app.hookspecs import hookimpl\n\n@hookimpl\ndef register_work_handlers():\n"
        "    return {'zendesk.ticket_update': lambda item, ctx: None}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = create_app(base_config(database_url, plugins=["hookcheck_kinds.poacher"]))
    with pytest.raises(ConfigError, match=r"plugin poacher registers work kind 'zendesk.ticket_update'"):
        Worker(app)
