"""The breaking-news settings: ``[plugins.breaking_news]`` in the config file, overridable per account."""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, Field, field_validator

LOCALE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$")
ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$")


@lru_cache(maxsize=512)  # on the public hot path; the argument is at most 32 characters there
def normalise_locale(value: str) -> str | None:
    """``pt_BR`` -> ``pt-br``; None when the value is not a plausible language tag."""
    tag = value.strip().replace("_", "-").lower()
    return tag if LOCALE.match(tag) else None


class NoticeText(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)


class BreakingNewsSettings(BaseModel):
    """What an account can tune; every field has a default."""

    # Help-center origins (scheme://host[:port]) allowed to read the public JSON from their pages.
    allowed_origins: list[str] = Field(default_factory=list)
    # The language incidents are written in when the admin does not say; the fallback before English.
    default_locale: str = "en"
    # Slack channel id for publish/resolve announcements; None posts nothing.
    slack_channel: str | None = None
    # How long browsers and CDNs may keep active.json, and serve it stale while they revalidate.
    cache_max_age_seconds: int = Field(default=5, ge=0, le=300)
    stale_while_revalidate_seconds: int = Field(default=30, ge=0, le=3600)
    # How often the widget polls (it adds jitter of up to a third).
    poll_seconds: int = Field(default=30, ge=5, le=3600)
    # A resolved incident stays on the banner this long, saying so, then disappears.
    resolved_visible_minutes: int = Field(default=10, ge=0, le=1440)
    # Tag added to tickets that match an incident: ``incident_<id>``.
    ticket_tag_prefix: str = Field(default="incident_", pattern=r"^[a-z0-9_:-]{1,40}$")
    match_tickets: bool = True
    # What linked requesters are told when an incident that asks for it is resolved, per locale:
    # {"en": {"subject": ..., "body": ...}}; placeholders {title}, {name}, {first_name}.
    resolved_notice: dict[str, NoticeText] = Field(default_factory=lambda: {"en": NoticeText(
        subject="Fixed: {title}",
        body="Hi {first_name}, good news: the problem you wrote to us about ({title}) has been fixed. "
             "If anything still does not work for you, just reply to this message.")})

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        cleaned = []
        for origin in value:
            origin = origin.strip().rstrip("/").lower()
            if not ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin like https://help.example.com")
            cleaned.append(origin)
        return cleaned

    @field_validator("resolved_notice")
    @classmethod
    def _notice(cls, value: dict[str, NoticeText]) -> dict[str, NoticeText]:
        tags = {normalise_locale(locale): text for locale, text in value.items()}
        if None in tags or not tags:
            raise ValueError("resolved_notice needs language tags like en or pt-br, and at least one")
        return {str(tag): text for tag, text in tags.items()}

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        tag = normalise_locale(value)
        if tag is None:
            raise ValueError(f"{value!r} is not a language tag like en or pt-br")
        return tag
