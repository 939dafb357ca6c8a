"""How the SLA admin page and its chart say things in the reader's language: durations, shares, labels."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date, format_skeleton, get_day_names
from babel.numbers import format_percent

from app.api import get_locale, gettext, lazy_gettext
from plugins.sla.settings import WEEKDAYS

NONE = "\u2013"  # an en dash: no figure (yet)
DIMENSION_LABELS = {
    "segment": lazy_gettext("Segment"), "group": lazy_gettext("Group"), "type": lazy_gettext("Ticket type"),
    "form": lazy_gettext("Ticket form"), "tag": lazy_gettext("Tag"), "priority": lazy_gettext("Priority"),
}
PRIORITY_LABELS = {
    "low": lazy_gettext("Low"), "normal": lazy_gettext("Normal"), "high": lazy_gettext("High"),
    "urgent": lazy_gettext("Urgent"),
}
SEGMENT_LABELS = {"premium_partner": lazy_gettext("Premium partner"), "user": lazy_gettext("User"),
                  "*": lazy_gettext("Any segment")}
TYPE_LABELS = {"question": lazy_gettext("Question"), "incident": lazy_gettext("Incident"),
               "problem": lazy_gettext("Problem"), "task": lazy_gettext("Task")}


def duration(minutes: float | None) -> str:
    """A duration the way people say it: "45 min", "1 h 30 min", "4 h", "1 d", "2 d 3 h" (no zero parts)."""
    if minutes is None:
        return ""
    total = round(minutes)
    if total < 1:
        return gettext("under 1 min")
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return (gettext("%(days)s d %(hours)s h", days=days, hours=hours) if hours
                else gettext("%(days)s d", days=days))
    if hours:
        return (gettext("%(hours)s h %(minutes)s min", hours=hours, minutes=mins) if mins
                else gettext("%(hours)s h", hours=hours))
    return gettext("%(minutes)s min", minutes=mins)


def _locale() -> Any:
    # Outside a request (the digest, drawn by a worker) there is no reader: English.
    return get_locale() or "en"


def share(value: float | None) -> str:
    """A share (0..1) as a whole percentage in the reader's locale ("85%", "85 %"); a dash for none."""
    if value is None:
        return NONE
    return format_percent(value, locale=_locale())


def dimension_label(name: str | None) -> str:
    return str(DIMENSION_LABELS.get(name or "segment", name or ""))


def key_label(dimension: str | None, key: str) -> str:
    """A report row's key for people: a segment, priority or type by its label; "(no group)" as "None"."""
    if key.startswith("(no "):
        return gettext("None")
    labels = {"segment": SEGMENT_LABELS, "priority": PRIORITY_LABELS, "type": TYPE_LABELS}.get(dimension or "", {})
    found = labels.get(key)
    if found is not None:
        return str(found)
    if dimension == "form" and key.startswith("form "):
        return gettext("Form %(id)s", id=key[5:])
    if dimension == "group" and key.startswith("group "):
        return gettext("Group %(id)s", id=key[6:])
    return key


def segment_label(segment: str | None) -> str:
    if not segment:
        return ""
    found = SEGMENT_LABELS.get(segment)
    return str(found) if found is not None else segment.replace("_", " ")


def day(value: date) -> str:
    """A day in the reader's language: "Nov 16, 2026", "16 nov. 2026", "16 nov 2026"."""
    return format_date(value, "medium", locale=_locale())


def short_day(value: date) -> str:
    """A day without its year, for a chart's axis: "Nov 16", "16 nov.", "16 nov"."""
    return format_skeleton("MMMd", value, locale=_locale())


def business_hours(hours: Any) -> str:
    """The team's working week in the reader's words, consecutive days with the same hours joined by a dash."""
    names = get_day_names("abbreviated", locale=_locale())
    runs: list[tuple[int, int, str]] = []  # first day, last day, spans: consecutive days with the same hours
    for index, day in enumerate(WEEKDAYS):
        spans = ", ".join(span.replace("-", "\u2013") for span in hours.schedule.get(day, []))
        if not spans:
            continue
        if runs and runs[-1][1] == index - 1 and runs[-1][2] == spans:
            runs[-1] = (runs[-1][0], index, spans)
        else:
            runs.append((index, index, spans))
    week = "; ".join((f"{names[first]}\u2013{names[last]}" if last > first else names[first]) + f" {spans}"
                     for first, last, spans in runs)
    text = gettext("Business hours: %(week)s (%(zone)s).", week=week, zone=hours.timezone)
    if hours.holiday_country:
        text += " " + gettext("Closed on the public holidays of %(country)s.", country=hours.holiday_country)
    return text
