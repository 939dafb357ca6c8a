"""Alembic, configured in code: the core's migrations plus each enabled plugin's own branch."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    locations = [str(ROOT / "migrations" / "versions")]
    for name in app.config["DESKMATE"].plugins:
        folder = ROOT / "plugins" / name / "migrations"
        if folder.is_dir():
            locations.append(str(folder))
    # A separator that no path contains: the default (whitespace/comma) would break on unusual paths.
    config.set_main_option("path_separator", ";")
    config.set_main_option("version_locations", ";".join(locations))
    config.attributes["engine"] = app.extensions["deskmate.storage"].engine
    return config


def upgrade(app: Flask, revision: str = "heads") -> None:
    command.upgrade(alembic_config(app), revision)


def downgrade(app: Flask, revision: str) -> None:
    command.downgrade(alembic_config(app), revision)
