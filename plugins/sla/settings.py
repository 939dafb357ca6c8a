"""The SLA plugin's settings: targets per segment and priority, business hours, channels, the weekly digest.

Read from ``[plugins.sla]`` in the config file and merged with the account's overrides
(``accounts.settings["sla"]``, written by ``PUT /admin/api/sla/targets``). Every field has a default.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from app.api import PluginContext

PRIORITIES = ("low", "normal", "high", "urgent")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class Target(BaseModel):
    """A first-reply target: for a segment (``*`` for any) and a priority (``None`` for any)."""

    model_config = ConfigDict(extra="forbid")

    segment: str = Field(default="*", min_length=1, max_length=64)
    priority: str | None = None
    minutes: int = Field(gt=0, le=60 * 24 * 90)
    business_hours: bool = False
    # Whether the team is told in Slack (arrival, reminders, breach); without it the clock is only measured.
    notify: bool = False
    # Reminder points, in minutes before the deadline (in business minutes when business_hours is set).
    reminders: list[int] = Field(default_factory=list)
    # A Slack user group mentioned in reminders and breaches (its id, e.g. "S0123ABC").
    mention: str | None = Field(default=None, pattern=r"^S[A-Z0-9]{2,}$")

    @field_validator("priority")
    @classmethod
    def _known_priority(cls, value: str | None) -> str | None:
        if value is not None and value.lower() not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)} or absent (any priority)")
        return value.lower() if value else None

    @field_validator("reminders")
    @classmethod
    def _distinct_positive(cls, value: list[int]) -> list[int]:
        if any(minutes <= 0 for minutes in value):
            raise ValueError("reminder points are minutes before the deadline and must be positive")
        return sorted(set(value), reverse=True)

    @model_validator(mode="after")
    def _reminders_inside_target(self) -> Target:
        if any(minutes >= self.minutes for minutes in self.reminders):
            raise ValueError("a reminder point must be shorter than the target itself")
        return self


def default_targets() -> list[Target]:
    return [
        Target(segment="premium_partner", minutes=90, notify=True, reminders=[30, 10]),
        Target(segment="user", minutes=24 * 60, notify=False),
    ]


class BusinessHours(BaseModel):
    """The team's working week: time zone, opening spans per weekday, public holidays."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    # Weekday -> spans "HH:MM-HH:MM" ("24:00" closes at midnight). Days not listed are closed.
    schedule: dict[str, list[str]] = Field(default_factory=lambda: {
        day: ["09:00-17:00"] for day in WEEKDAYS[:5]})
    # Public holidays from the `holidays` library (ISO country code, optional subdivision).
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    extra_holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, spans in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"schedule days are {', '.join(WEEKDAYS)}; got {day!r}")
            for span in spans:
                parse_span(span)
        if not any(value.values()):
            raise ValueError("the schedule needs at least one opening span")
        return value

    @model_validator(mode="after")
    def _known_country(self) -> BusinessHours:
        if self.holiday_country:
            import holidays

            try:
                holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision)
            except NotImplementedError as exc:
                raise ValueError(f"holidays: {exc}") from None
        return self


def parse_span(span: str) -> tuple[time, time | None]:
    """Parse ``"09:00-17:00"``; a closing time of ``24:00`` comes back as ``None`` (midnight after)."""
    match = _SPAN.match(span.strip())
    if not match:
        raise ValueError(f"an opening span looks like '09:00-17:00', got {span!r}")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"{span!r} is not a time span of one day")
    opens, closes = time(h1, m1), (None if h2 == 24 else time(h2, m2))
    if closes is not None and closes <= opens:
        raise ValueError(f"{span!r} closes before it opens")
    return opens, closes


class SlaSettings(BaseModel):
    """Everything the SLA plugin reads; see plugins/sla/README.md for each setting's effect."""

    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(default_factory=default_targets)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    # Slack channel per segment, per helpdesk group (group id as a string; wins over the segment), or default.
    channels: dict[str, str] = Field(default_factory=dict)
    group_channels: dict[str, str] = Field(default_factory=dict)
    default_channel: str | None = None
    # Whether a new ticket waits for the routing plugin's segment; None: wait when routing is enabled.
    wait_for_routing: bool | None = None
    default_segment: str = "user"
    # Minutes a new ticket waits for the routing plugin's segment before the default segment applies.
    routing_grace_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # Measure tickets that an agent or an integration opened for a requester (the helpdesk does not).
    measure_agent_created: bool = False
    # Helpdesk users whose public comments are automated (integrations, bots) and never a first reply.
    automated_author_ids: list[int] = Field(default_factory=list)
    # Weekly digest: channel (none: no digest), weekday (0 = Monday) and hour in business_hours.timezone.
    digest_channel: str | None = None
    digest_weekday: int = Field(default=0, ge=0, le=6)
    digest_hour: int = Field(default=9, ge=0, le=23)
    # Most clocks one scheduler pass turns into messages; the rest wait for the next pass (seconds later).
    pass_batch_size: int = Field(default=500, ge=1, le=10_000)
    # SLA policy title in the helpdesk -> segment, for `flask sla import-policies`.
    policy_segments: dict[str, str] = Field(default_factory=dict)

    def target_for(self, segment: str | None, priority: str | None) -> Target | None:
        """The most specific target: segment and priority, then segment, then ``*`` with and without."""
        candidates = [
            (segment, priority), (segment, None), ("*", priority), ("*", None),
        ]
        for wanted_segment, wanted_priority in candidates:
            if wanted_segment is None:
                continue
            for target in self.targets:
                if target.segment == wanted_segment and target.priority == wanted_priority:
                    return target
        return None

    def channel_for(self, segment: str | None, group_id: int | None) -> str | None:
        if group_id is not None and str(group_id) in self.group_channels:
            return self.group_channels[str(group_id)]
        if segment is not None and segment in self.channels:
            return self.channels[segment]
        return self.default_channel


def settings_of(ctx: PluginContext) -> SlaSettings:
    """The SLA settings of a context (the account's overrides merged in), typed."""
    return ctx.settings_as(SlaSettings)
