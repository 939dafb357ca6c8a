"""How a name in DESKMATE_PLUGINS becomes a plugin: an installed entry point, then ``plugins.<name>``, then a
dotted module path; and where each plugin's migrations are found (beside its own code)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError
from app.migrate import ROOT, version_locations
from app.plugins import PLUGIN_GROUP, plugin_manager
from tests.conftest import base_config
from tests.distributions import write_distribution

HOOKS = "from app.hookspecs import hookimpl\n\n\n@hookimpl\ndef register_timers():\n    return []\n"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh folder on sys.path standing in for site-packages."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in [name for name in sys.modules if name.startswith("acme_")]:
        del sys.modules[name]


def package(site: Path, name: str, *, migrations: bool = False, body: str = HOOKS) -> Path:
    folder = site / name
    folder.mkdir()
    (folder / "__init__.py").write_text(body)
    if migrations:
        (folder / "migrations").mkdir()
    return folder


def registered(app, name: str):
    return plugin_manager.state(app).pm.get_plugin(name)


def test_an_entry_point_loads_a_plugin_by_its_name(database_url, site):
    package(site, "acme_widgets", migrations=True)
    write_distribution(site, "acme-widgets", "1.0", {PLUGIN_GROUP: {"widgets": "acme_widgets"}})
    app = create_app(base_config(database_url, plugins=["widgets"]))
    assert registered(app, "widgets").__name__ == "acme_widgets"
    assert [name for name in plugin_manager.state(app).order if not plugin_manager.is_builtin(app, name)] == [
        "widgets"]
    assert version_locations(app) == [ROOT / "migrations" / "versions",
                                      (site / "acme_widgets" / "migrations").resolve()]


def test_an_entry_point_may_name_an_object_inside_a_module(database_url, site):
    package(site, "acme_objects", body=HOOKS.replace("def register_timers", "def _unused") + (
        "\n\nclass Hooks:\n    @hookimpl\n    def register_timers(self):\n        return []\n\n\nhooks = Hooks()\n"))
    write_distribution(site, "acme-objects", "2.0", {PLUGIN_GROUP: {"objects": "acme_objects:hooks"}})
    app = create_app(base_config(database_url, plugins=["objects"]))
    assert type(registered(app, "objects")).__name__ == "Hooks"


def test_an_entry_point_comes_before_the_repository_plugin_of_the_same_name(database_url, site):
    package(site, "acme_customer")
    write_distribution(site, "acme-customer", "1.0", {PLUGIN_GROUP: {"customer": "acme_customer"}})
    app = create_app(base_config(database_url, plugins=["customer"]))
    assert registered(app, "customer").__name__ == "acme_customer"


def test_without_an_entry_point_a_name_is_the_repository_plugin_and_a_dotted_path_a_module(database_url, site):
    package(site, "acme_company")
    package(site / "acme_company", "deskmate_plugin")
    app = create_app(base_config(database_url, plugins=["customer", "acme_company.deskmate_plugin"]))
    assert registered(app, "customer").__name__ == "plugins.customer"
    assert registered(app, "deskmate_plugin").__name__ == "acme_company.deskmate_plugin"


def test_two_distributions_claiming_one_name_are_refused(database_url, site):
    package(site, "acme_one")
    package(site, "acme_two")
    write_distribution(site, "acme-one", "1.0", {PLUGIN_GROUP: {"twice": "acme_one"}})
    write_distribution(site, "acme-two", "1.0", {PLUGIN_GROUP: {"twice": "acme_two"}})
    with pytest.raises(ConfigError, match=r"'twice'.*2 installed entry points.*acme_one from acme-one; "
                                          r"acme_two from acme-two"):
        create_app(base_config(database_url, plugins=["twice"]))


def test_an_entry_point_that_cannot_be_loaded_is_a_clear_error(database_url, site):
    write_distribution(site, "acme-gone", "1.0", {PLUGIN_GROUP: {"gone": "acme_gone_module"}})
    with pytest.raises(ConfigError, match=r"'gone'.*acme_gone_module of acme-gone.*cannot be loaded"):
        create_app(base_config(database_url, plugins=["gone"]))


def test_nothing_matching_a_name_is_a_clear_error(database_url, site):
    with pytest.raises(ConfigError, match=r"no entry point 'nowhere' of group deskmate\.plugins and no module "
                                          r"plugins\.nowhere"):
        create_app(base_config(database_url, plugins=["nowhere"]))


def test_a_plugin_missing_one_of_its_own_imports_says_so(database_url, site):
    package(site, "acme_broken", body="")
    (site / "acme_broken" / "plugin.py").write_text("import acme_dependency_not_installed  # noqa: F401\n")
    with pytest.raises(ModuleNotFoundError, match="acme_dependency_not_installed"):
        create_app(base_config(database_url, plugins=["acme_broken.plugin"]))


def test_two_names_resolving_to_one_plugin_name_are_refused(database_url, site):
    (site / "acme_ns").mkdir()
    package(site / "acme_ns", "customer")
    with pytest.raises(ConfigError, match="two plugins called 'customer'"):
        create_app(base_config(database_url, plugins=["customer", "acme_ns.customer"]))


def test_migrations_are_found_beside_each_plugin_module(database_url, site):
    package(site, "acme_flat_parent")
    (site / "acme_flat_parent" / "hooks.py").write_text(HOOKS)
    (site / "acme_flat_parent" / "migrations").mkdir()
    (site / "acme_single.py").write_text(HOOKS)
    (site / "migrations").mkdir()  # some other distribution's top-level folder: never a single module's
    write_distribution(site, "acme-single", "1.0", {PLUGIN_GROUP: {"single": "acme_single"}})
    app = create_app(base_config(database_url, plugins=["routing", "acme_flat_parent.hooks", "single"]))
    assert version_locations(app) == [
        ROOT / "migrations" / "versions",
        ROOT / "plugins" / "routing" / "migrations",
        (site / "acme_flat_parent" / "migrations").resolve(),
    ]
