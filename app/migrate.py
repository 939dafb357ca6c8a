"""Alembic, configured in code: the core's migrations plus each enabled plugin's own branch.

A plugin's migrations are found from where its code is, not from its name: the folder ``migrations/`` beside the
plugin's module (inside the package when the plugin is a package's ``__init__``), whether that is this
repository's ``plugins/<name>/`` or a distribution installed on its own.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from flask import Flask

from app.plugins import plugin_manager

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("deskmate.migrate")


def plugin_migrations(plugin: Any) -> Path | None:
    """The ``migrations/`` folder beside a registered plugin's module, or None when there is none.

    A top-level module that is not a package has no folder of its own (it would be ``site-packages``), so it
    has no migrations.
    """
    module = plugin if inspect.ismodule(plugin) else inspect.getmodule(plugin)
    file = getattr(module, "__file__", None)
    if module is None or not file:
        return None
    if not hasattr(module, "__path__") and "." not in module.__name__:
        return None
    folder = Path(file).resolve().parent / "migrations"
    return folder if folder.is_dir() else None


def version_locations(app: Flask) -> list[Path]:
    """The core's versions, then each enabled plugin's migrations folder, in the order of ``DESKMATE_PLUGINS``."""
    state = plugin_manager.state(app)
    locations = [ROOT / "migrations" / "versions"]
    for name in state.order:
        if plugin_manager.is_builtin(app, name):
            continue  # the core's own parts keep their tables in the core's migrations
        folder = plugin_migrations(state.pm.get_plugin(name))
        if folder is not None and folder not in locations:
            locations.append(folder)
    return locations


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    # A separator that no path contains: the default (whitespace/comma) would break on unusual paths.
    config.set_main_option("path_separator", ";")
    config.set_main_option("version_locations", ";".join(str(path) for path in version_locations(app)))
    config.attributes["engine"] = app.extensions["deskmate.storage"].engine
    return config


def at_head(app: Flask) -> bool:
    """Whether the database has every migration of the core and of each enabled plugin (nothing to upgrade)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    wanted = set(ScriptDirectory.from_config(alembic_config(app)).get_heads())
    with app.extensions["deskmate.storage"].reader.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == wanted


def upgrade(app: Flask, revision: str = "heads") -> int:
    """Apply the migrations up to ``revision``; returns how many ran, said in one log line when any did."""
    applied: list[str] = []
    config = alembic_config(app)
    config.attributes["on_version_apply"] = lambda step, **_: applied.append(step.up_revision_id or "")
    command.upgrade(config, revision)
    if applied:
        log.info("database migrated: %d migration%s applied", len(applied), "" if len(applied) == 1 else "s")
    return len(applied)


def downgrade(app: Flask, revision: str) -> None:
    command.downgrade(alembic_config(app), revision)
