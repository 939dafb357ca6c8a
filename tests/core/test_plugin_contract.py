"""The plugin contract stays small, documented and enforced."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from app import create_app, hookspecs
from app.config import ConfigError
from tests.conftest import base_config
from tests.hook_coverage import marked_tests

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


def test_every_hook_has_a_test_that_exercises_it():
    """The hook-coverage rule of docs/plugins.md (``tests/hook_coverage.py`` checks the marks while tests run)."""
    marked = marked_tests()
    untested = [name for name in hook_names() if not marked.get(name)]
    assert not untested, (f"no test is marked @pytest.mark.hook(...) for {', '.join(untested)}: add a test that "
                          "makes the core call the hook (see docs/plugins.md, 'Testing a plugin')")
    unknown = sorted(set(marked) - set(hook_names()))
    assert not unknown, f"tests are marked for hooks app/hookspecs.py does not declare: {marked_with(unknown, marked)}"


def marked_with(names: list[str], marked: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} ({', '.join(marked[name])})" for name in names)


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


@pytest.mark.hook("sidebar_messages")
def test_sidebar_messages_are_merged_into_the_catalog_under_the_plugin_name(database_url):
    app = create_app(base_config(database_url, plugins=["tests.core.sidebar_plugin"]))
    client = app.test_client()
    english = client.get("/sidebar/ui/i18n/en.json").get_json()
    assert english["sidebar_plugin.title"] == "Sample"
    assert english["sidebar_plugin.things"] == {"one": "{count} thing", "other": "{count} things"}
    assert english["panel.error_title"] == "This panel could not be loaded"  # outside its namespace: ignored
    assert client.get("/sidebar/ui/i18n/it.json").get_json()["sidebar_plugin.title"] == "Esempio"
    assert client.get("/sidebar/ui/i18n/xx.json").status_code == 404


@pytest.mark.hook("sidebar_module")
def test_sidebar_module_is_served_under_the_plugin_name(database_url):
    app = create_app(base_config(database_url, plugins=["tests.core.sidebar_plugin"]))
    client = app.test_client()
    response = client.get("/sidebar/ui/plugins/sidebar_plugin/panel.js")
    assert response.status_code == 200 and "javascript" in response.content_type
    assert b"export function render" in response.data
    assert client.get("/sidebar/ui/plugins/sidebar_plugin/../sidebar_plugin.py").status_code == 404
    assert client.get("/sidebar/ui/plugins/routing/panel.js").status_code == 404
