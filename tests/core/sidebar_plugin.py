"""A plugin for the sidebar hooks' tests: texts of its own (and one outside its namespace) and an ES module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.hookspecs import hookimpl


@hookimpl
def sidebar_messages() -> dict[str, dict[str, Any]]:
    return {"en": {"sidebar_plugin.title": "Sample", "sidebar_plugin.things": {"one": "{count} thing",
                                                                              "other": "{count} things"},
                   "panel.error_title": "a plugin may not overwrite the core's texts"},
            "it": {"sidebar_plugin.title": "Esempio"}}


@hookimpl
def sidebar_module() -> str:
    return str(Path(__file__).parent / "sidebar_plugin_ui" / "panel.js")
