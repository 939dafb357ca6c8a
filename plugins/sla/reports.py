"""SLA reports: attainment, median and 90th-percentile first-reply time, breaches, by a chosen dimension.

A clock counts in the period in which its ticket was created. Attainment is the share of decided clocks
(answered, or past their deadline) answered within target; clocks still running before their deadline and
tickets solved without any reply are counted but left out of it. Reply times are in each clock's own measure
(business minutes for business-hours targets).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from plugins.sla.models import ANSWERED, BREACHED, CLOSED, SlaClock

DIMENSIONS = ("segment", "group", "type", "form", "tag", "priority")
MAX_DAYS = 400


class ReportError(ValueError):
    """A report request that cannot be answered; the message says why (safe to show).

    ``problem`` names the case for pages that say it in the reader's language: ``date`` (not a date),
    ``order`` (from after to), ``length`` (longer than ``MAX_DAYS``), ``dimension`` (an unknown ``by``).
    """

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass
class Summary:
    """The figures for one slice of tickets."""

    key: str
    tickets: int = 0
    answered: int = 0
    within_target: int = 0
    breaches: int = 0
    running: int = 0
    closed_without_reply: int = 0
    attainment: float | None = None
    median_minutes: float | None = None
    p90_minutes: float | None = None


def percentile(values: list[float], share: float) -> float | None:
    """Linear-interpolated percentile (``share`` in 0..1) of ``values``; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 1)


def summarise(key: str, clocks: Iterable[SlaClock]) -> Summary:
    summary = Summary(key=key)
    minutes: list[float] = []
    decided = 0
    for clock in clocks:
        summary.tickets += 1
        met = clock.met_target
        if clock.breached_at is not None:
            summary.breaches += 1
        if clock.state == ANSWERED:
            summary.answered += 1
            if clock.reply_minutes is not None:
                minutes.append(clock.reply_minutes)
        elif clock.state == CLOSED:
            summary.closed_without_reply += 1
        elif clock.state != BREACHED:
            summary.running += 1
        if met is not None and not (clock.state == CLOSED and clock.breached_at is None):
            decided += 1
            summary.within_target += int(met)
    summary.attainment = round(summary.within_target / decided, 4) if decided else None
    summary.median_minutes = percentile(minutes, 0.5)
    summary.p90_minutes = percentile(minutes, 0.9)
    return summary


def _keys(clock: SlaClock, by: str) -> list[str]:
    value: Any
    if by == "tag":
        return [str(tag) for tag in clock.tags] or ["(no tag)"]
    if by == "group":
        value = clock.group_name or (f"group {clock.group_id}" if clock.group_id else None)
    elif by == "form":
        value = f"form {clock.form_id}" if clock.form_id else None
    elif by == "type":
        value = clock.ticket_type
    else:
        value = getattr(clock, by)
    return [str(value) if value else f"(no {by})"]


def parse_period(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """``from``/``to`` as ISO dates (``to`` inclusive); the last 7 days by default."""
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=6)
    except ValueError:
        raise ReportError("from and to are dates like 2026-11-23", "date") from None
    if first > last:
        raise ReportError("from must not be after to", "order")
    if (last - first).days >= MAX_DAYS:
        raise ReportError(f"a report covers at most {MAX_DAYS} days", "length")
    return first, last


def clocks_created(account_id: int, first: date, last: date, zone: ZoneInfo) -> sa.Select[tuple[SlaClock]]:
    """The query of the clocks with a target whose tickets were created from ``first`` to ``last`` (local)."""
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return (sa.select(SlaClock).where(SlaClock.account_id == account_id, SlaClock.started_at >= start,
                                      SlaClock.started_at < end, SlaClock.target_minutes.is_not(None))
            .order_by(SlaClock.started_at))


def build_report(session: Session, account_id: int, first: date, last: date, by: str | None,
                 zone: ZoneInfo) -> dict[str, Any]:
    """The report for tickets created from ``first`` to ``last``, dates in the team's time ``zone``."""
    check_dimension(by)
    clocks = list(session.scalars(clocks_created(account_id, first, last, zone)))
    return report_of(clocks, first, last, by, zone)


def check_dimension(by: str | None) -> None:
    if by is not None and by not in DIMENSIONS:
        raise ReportError(f"by must be one of {', '.join(DIMENSIONS)}", "dimension")


def report_of(clocks: list[SlaClock], first: date, last: date, by: str | None,
              zone: ZoneInfo) -> dict[str, Any]:
    """The report's figures for ``clocks`` (already read)."""
    check_dimension(by)
    groups: dict[str, list[SlaClock]] = defaultdict(list)
    daily: dict[date, list[SlaClock]] = defaultdict(list)
    breaches: dict[str, dict[str, int]] = {name: defaultdict(int) for name in DIMENSIONS}
    for clock in clocks:
        for key in _keys(clock, by) if by else ():
            groups[key].append(clock)
        daily[clock.started_at.astimezone(zone).date()].append(clock)
        if clock.breached_at is not None:
            for name in DIMENSIONS:
                for key in _keys(clock, name):
                    breaches[name][key] += 1
    rows = sorted((summarise(key, members) for key, members in groups.items()),
                  key=lambda row: (-row.tickets, row.key))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        "from": first.isoformat(), "to": last.isoformat(), "by": by,
        "overall": asdict(summarise("all", clocks)),
        "groups": [asdict(row) for row in rows],
        "daily": [asdict(summarise(day.isoformat(), daily.get(day, []))) for day in days],
        "breaches_by": {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
                        for name, counts in breaches.items()},
    }

