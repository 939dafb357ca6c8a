"""The routing plugin's settings: ``[plugins.routing]`` in the config file, per-account overrides on top."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from app.api import PluginContext

DEFAULT_RULES_FILE = str(Path(__file__).resolve().parent / "default_rules.yaml")


class RoutingSettings(BaseModel):
    """Every field has a default, so that the plugin starts with the shipped rules and no configuration."""

    # The rules file (YAML, or TOML when it ends in .toml); rules saved through the admin API take precedence.
    rules_file: str = DEFAULT_RULES_FILE
    # The helpdesk's catch-all group: a ticket still there counts as not yet routed (its group may change).
    # When unset, the group the helpdesk marks as default is used.
    default_group: str | None = None
    # How often the incremental export pass refreshes the cached organizations and users.
    directory_refresh_seconds: int = Field(default=60, ge=10)
    # Pages each export stream may read per pass (the helpdesk allows 10 export calls a minute).
    directory_pages_per_pass: int = Field(default=3, ge=1, le=10)
    # The user export starts this many days back on its first pass (organizations are exported in full).
    users_export_days: int = Field(default=0, ge=0)
    # How often group names are resolved to ids again (they are also resolved whenever the rules change).
    groups_refresh_seconds: int = Field(default=3600, ge=60)
    # The ticket statuses routing acts on; solved and closed tickets are left alone.
    open_statuses: list[str] = Field(default_factory=lambda: ["new", "open", "pending", "hold"])

    @field_validator("rules_file")
    @classmethod
    def _rules_file_is_valid(cls, value: str) -> str:
        """Refuse to start with a rules file that cannot be read or has mistakes (each with its line)."""
        from plugins.routing.rules_store import load_file

        load_file(value)
        return value


def settings_of(ctx: PluginContext) -> RoutingSettings:
    """The routing settings of a plugin context, typed."""
    return ctx.settings_as(RoutingSettings)
