"""The plugin contract stays small, documented and enforced."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from app import create_app, hookspecs
from app.config import ConfigError
from tests.conftest import base_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def hook_names() -> list[str]:
    return [name for name, value in vars(hookspecs).items()
            if inspect.isfunction(value) and hasattr(value, "deskmate_spec")]


def test_every_hook_is_documented_with_its_signature():
    text = DOC.read_text()
    assert hook_names(), "no hooks found: the hookspec marker changed?"
    for name in hook_names():
        assert re.search(rf"^### {name}$", text, re.M), f"docs/plugins.md has no section for hook {name}"
        assert re.search(rf"def {name}\(", text), f"docs/plugins.md does not show the signature of {name}"


def test_every_documented_hook_exists():
    documented = re.findall(r"^### (\w+)$", DOC.read_text(), re.M)
    assert set(documented) <= set(hook_names())


def test_unknown_plugin_is_a_clear_start_up_error(database_url):
    with pytest.raises(ConfigError, match=r"no module plugins\.nonexistent"):
        create_app(base_config(database_url, plugins=["nonexistent"]))


def test_misspelt_hook_fails_at_start_up(database_url, tmp_path, monkeypatch):
    package = tmp_path / "thirdparty"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "misspelt_plugin.py").write_text(
        "from app.hookspecs import hookimpl\n\n@hookimpl\ndef handle_evnt(event, ctx):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(Exception, match="handle_evnt"):
        create_app(base_config(database_url, plugins=["thirdparty.misspelt_plugin"]))


def test_invalid_plugin_settings_are_refused(database_url):
    with pytest.raises(ConfigError, match="sample_plugin"):
        create_app(base_config(database_url, plugins=["tests.core.sample_plugin"],
                               plugin_settings={"sample_plugin": {"greeting": ["not", "a", "string"]}}))


def test_settings_for_a_disabled_plugin_are_refused(database_url):
    with pytest.raises(ConfigError, match="not enabled"):
        create_app(base_config(database_url, plugin_settings={"routing_typo": {}}))


def test_plugin_may_only_emit_its_own_events(app):
    from app.accounts import active_accounts
    from app.db import storage
    from app.plugins import plugin_manager

    with storage.session(app) as session:
        ctx = plugin_manager.context(app, "sample_plugin", active_accounts(app)[0], session)
        with pytest.raises(ValueError, match="may only emit"):
            ctx.emit("routing.ticket_routed", {}, key="x")
