"""The plugin's settings: ``[plugins.watchword]`` in Deskmate's config file, per account overrides merged in."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WatchwordSettings(BaseModel):
    word: str = Field(default="outage", min_length=2, max_length=100)
    tag: str = Field(default="watchword", pattern=r"^[a-z0-9_\-]+$")
    digest_channel: str | None = None
