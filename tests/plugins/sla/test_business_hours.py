"""Deadlines in business hours: walking opening spans over evenings, weekends, holidays and clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from plugins.sla.business_hours import calendar_for
from plugins.sla.settings import BusinessHours, SlaSettings, Target

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


@pytest.fixture
def week() -> BusinessHours:
    """Monday to Friday, 09:00-17:00 in Berlin, German public holidays (Berlin)."""
    return BusinessHours(timezone="Europe/Berlin", holiday_country="DE", holiday_subdivision="BE")


def test_deadline_inside_one_day_is_plain_addition(week):
    assert calendar_for(week).add(berlin(2026, 11, 24, 10, 0), 90) == berlin(2026, 11, 24, 11, 30)


def test_ticket_before_opening_starts_counting_at_opening(week):
    assert calendar_for(week).add(berlin(2026, 11, 24, 6, 45), 90) == berlin(2026, 11, 24, 10, 30)


def test_friday_afternoon_ticket_is_due_on_monday(week):
    # 30 minutes left on Friday, the other 60 on Monday morning.
    assert calendar_for(week).add(berlin(2026, 11, 27, 16, 30), 90) == berlin(2026, 11, 30, 10, 0)


def test_weekend_ticket_is_due_monday_after_opening(week):
    assert calendar_for(week).add(berlin(2026, 11, 28, 12, 0), 90) == berlin(2026, 11, 30, 10, 30)


def test_holiday_is_skipped_like_a_weekend(week):
    # Christmas Eve (Thursday) is open; the 25th and 26th are public holidays, then the weekend.
    calendar = calendar_for(week)
    assert calendar.is_holiday(date(2026, 12, 25))
    assert calendar.add(berlin(2026, 12, 24, 16, 30), 90) == berlin(2026, 12, 28, 10, 0)


def test_regional_holiday_follows_the_subdivision():
    # International Women's Day (8 March) is a holiday in Berlin only; 8 March 2027 is a Monday.
    berlin_hours = BusinessHours(timezone="Europe/Berlin", holiday_country="DE", holiday_subdivision="BE")
    bavaria_hours = BusinessHours(timezone="Europe/Berlin", holiday_country="DE", holiday_subdivision="BY")
    friday = berlin(2027, 3, 5, 16, 0)
    assert calendar_for(berlin_hours).add(friday, 120) == berlin(2027, 3, 9, 10, 0)
    assert calendar_for(bavaria_hours).add(friday, 120) == berlin(2027, 3, 8, 10, 0)


def test_extra_company_holiday(week):
    hours = week.model_copy(update={"extra_holidays": [date(2026, 11, 30)]})
    assert calendar_for(hours).add(berlin(2026, 11, 27, 16, 30), 90) == berlin(2026, 12, 1, 10, 0)


def test_daylight_saving_change_keeps_local_opening_hours(week):
    # Clocks go back on 25 October 2026: Monday 09:00 local is 08:00 UTC, Friday's was 07:00 UTC.
    due = calendar_for(week).add(berlin(2026, 10, 23, 16, 30), 60)
    assert due == berlin(2026, 10, 26, 9, 30)
    assert due.astimezone(UTC).hour == 8


def test_reminder_points_count_back_in_business_time(week):
    calendar = calendar_for(week)
    due = berlin(2026, 11, 30, 9, 20)
    assert calendar.subtract(due, 30) == berlin(2026, 11, 27, 16, 50)
    assert calendar.subtract(due, 10) == berlin(2026, 11, 30, 9, 10)


def test_minutes_between_counts_only_open_time(week):
    calendar = calendar_for(week)
    assert calendar.minutes_between(berlin(2026, 11, 27, 16, 0), berlin(2026, 11, 30, 9, 30)) == 90
    assert calendar.minutes_between(berlin(2026, 11, 28, 10, 0), berlin(2026, 11, 29, 10, 0)) == 0


def test_add_and_subtract_are_inverse_over_a_month(week):
    calendar = calendar_for(week)
    start = berlin(2026, 12, 1, 9, 0)
    for minutes in (1, 59, 480, 481, 2000, 9000):
        due = calendar.add(start, minutes)
        assert calendar.minutes_between(start, due) == pytest.approx(minutes)
        assert calendar.subtract(due, minutes) == start


def test_split_shift_and_midnight_close():
    hours = BusinessHours(timezone="UTC", schedule={"mon": ["08:00-12:00", "13:00-24:00"]})
    calendar = calendar_for(hours)
    monday = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    assert calendar.add(monday, 60) == datetime(2026, 11, 23, 13, 30, tzinfo=UTC)
    assert calendar.add(monday, 30 + 660 + 10) == datetime(2026, 11, 30, 8, 10, tzinfo=UTC)


@pytest.mark.parametrize("schedule, message", [
    ({"mon": ["17:00-09:00"]}, "closes before it opens"),
    ({"mon": ["9-17"]}, "looks like"),
    ({"funday": ["09:00-17:00"]}, "schedule days"),
    ({"mon": []}, "at least one opening span"),
])
def test_bad_schedules_are_refused_with_a_reason(schedule, message):
    with pytest.raises(ValidationError, match=message):
        BusinessHours(schedule=schedule)


def test_unknown_time_zone_and_country_are_refused():
    with pytest.raises(ValidationError, match="unknown time zone"):
        BusinessHours(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="holidays"):
        BusinessHours(holiday_country="XX")


def test_target_lookup_prefers_segment_and_priority():
    settings = SlaSettings(targets=[
        Target(segment="premium_partner", minutes=90, notify=True, reminders=[30, 10]),
        Target(segment="premium_partner", priority="urgent", minutes=30, notify=True, reminders=[10]),
        Target(segment="*", minutes=2880),
    ])
    assert settings.target_for("premium_partner", "urgent").minutes == 30
    assert settings.target_for("premium_partner", "low").minutes == 90
    assert settings.target_for("user", None).minutes == 2880


def test_reminder_must_fall_inside_the_target():
    with pytest.raises(ValidationError, match="shorter than the target"):
        Target(segment="user", minutes=20, reminders=[30])


def test_calendar_is_cached_per_configuration(week):
    assert calendar_for(week) is calendar_for(week.model_copy())
    assert calendar_for(week).add(berlin(2026, 11, 24, 9, 0), 0) == berlin(2026, 11, 24, 9, 0)
