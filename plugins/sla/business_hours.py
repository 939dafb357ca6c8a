"""Deadlines in business time: walk the team's opening spans, day by day, in its own time zone.

Spans are built per local date and converted to UTC, so daylight-saving changes fall where they should.
Holidays come from the `holidays` library (plus a list of extra dates) and close the whole day.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from plugins.sla.settings import WEEKDAYS, BusinessHours, parse_span

# A schedule that opens at least once a week finds its next span within days; this bound only protects
# against a calendar made of nothing but holidays.
_MAX_DAYS = 3 * 366


class NoBusinessHours(ValueError):
    """The calendar has no opening span in the next three years (every day a holiday?)."""


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening spans per weekday (Monday first) in ``zone``, minus holidays."""

    zone: ZoneInfo
    week: tuple[tuple[tuple[time, time | None], ...], ...]
    country: str | None
    subdivision: str | None
    extra_holidays: frozenset[date]

    @functools.cached_property
    def _holidays(self) -> holidays.HolidayBase | None:
        if not self.country:
            return None
        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return True
        calendar = self._holidays
        return calendar is not None and day in calendar

    def spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening spans as UTC datetimes (none on a holiday)."""
        if self.is_holiday(day):
            return []
        result = []
        for opens, closes in self.week[day.weekday()]:
            start = datetime.combine(day, opens, tzinfo=self.zone)
            end = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone) if closes is None
                   else datetime.combine(day, closes, tzinfo=self.zone))
            result.append((start.astimezone(UTC), end.astimezone(UTC)))
        return result

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` business minutes after ``start``."""
        remaining = timedelta(minutes=minutes)
        day = self._local_day(start)
        for _ in range(_MAX_DAYS):
            for opens, closes in self.spans(day):
                if closes <= start:
                    continue
                begin = max(opens, start)
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
            day += timedelta(days=1)
        raise NoBusinessHours("no business hours within three years of " + start.isoformat())

    def subtract(self, end: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` business minutes before ``end``."""
        remaining = timedelta(minutes=minutes)
        day = self._local_day(end)
        for _ in range(_MAX_DAYS):
            for opens, closes in reversed(self.spans(day)):
                if opens >= end:
                    continue
                finish = min(closes, end)
                if remaining <= finish - opens:
                    return finish - remaining
                remaining -= finish - opens
            day -= timedelta(days=1)
        raise NoBusinessHours("no business hours within three years before " + end.isoformat())

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        total = timedelta()
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            for opens, closes in self.spans(day):
                begin, finish = max(opens, start), min(closes, end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total.total_seconds() / 60


def calendar_for(hours: BusinessHours) -> BusinessCalendar:
    """The calendar described by settings (cached: settings objects are rebuilt per context)."""
    schedule = tuple((day, tuple(spans)) for day, spans in sorted(hours.schedule.items()))
    return _calendar(hours.timezone, schedule, hours.holiday_country, hours.holiday_subdivision,
                     frozenset(hours.extra_holidays))


@functools.lru_cache(maxsize=64)
def _calendar(zone: str, schedule: tuple[tuple[str, tuple[str, ...]], ...], country: str | None,
              subdivision: str | None, extra: frozenset[date]) -> BusinessCalendar:
    by_day = dict(schedule)
    week = tuple(tuple(sorted((parse_span(span) for span in by_day.get(day, ())), key=lambda s: s[0]))
                 for day in WEEKDAYS)
    return BusinessCalendar(ZoneInfo(zone), week, country, subdivision, extra)
