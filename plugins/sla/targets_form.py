"""The targets form of the SLA admin page: one row per segment and priority, read back exactly as typed.

A row keeps the text the admin typed (so a refused form shows it again) and, per field, what to fix in plain
words. ``read_form`` turns the posted fields into rows, ``check_rows`` into targets or problems: nothing is
saved unless every row is right, and an empty set of targets needs its own confirmation (``confirm_empty``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from app.api import gettext
from plugins.sla.settings import PRIORITIES, Target

UNITS = {"min": 1, "h": 60, "d": 24 * 60}
MAX_MINUTES = 60 * 24 * 90  # the Target model's bound: 90 days
MAX_ROWS = 100
_MENTION = re.compile(r"^S[A-Z0-9]{2,}$")


@dataclass
class TargetRow:
    """One row of the form: every value as typed, and the problems found per field name."""

    segment: str = ""
    priority: str = ""
    target: str = ""
    unit: str = "min"
    business_hours: bool = False
    notify: bool = False
    reminders: str = ""
    mention: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def blank(self) -> bool:
        """A row left empty (the spare row for a new target): skipped, never an error."""
        return not (self.segment.strip() or self.target.strip() or self.reminders.strip() or self.mention.strip())


def row_of(target: Target) -> TargetRow:
    """A saved target as a form row, its time in the largest unit that divides it (90 min, 4 h, 1 d)."""
    unit = next(name for name in ("d", "h", "min") if target.minutes % UNITS[name] == 0)
    return TargetRow(segment=target.segment, priority=target.priority or "",
                     target=str(target.minutes // UNITS[unit]), unit=unit, business_hours=target.business_hours,
                     notify=target.notify, reminders=", ".join(str(m) for m in target.reminders),
                     mention=target.mention or "")


def read_form(form: Mapping[str, str]) -> list[TargetRow]:
    """The rows posted as ``segment-N``, ``priority-N``, ``target-N``, ``unit-N``, ``business_hours-N``,
    ``notify-N``, ``reminders-N`` and ``mention-N`` (N from 0 to ``rows`` - 1)."""
    try:
        count = min(max(int(form.get("rows", "0")), 0), MAX_ROWS)
    except ValueError:
        count = 0
    rows = []
    for n in range(count):
        unit = form.get(f"unit-{n}", "min")
        rows.append(TargetRow(
            segment=form.get(f"segment-{n}", "").strip(), priority=form.get(f"priority-{n}", "").strip().lower(),
            target=form.get(f"target-{n}", "").strip(), unit=unit if unit in UNITS else "min",
            business_hours=bool(form.get(f"business_hours-{n}")), notify=bool(form.get(f"notify-{n}")),
            reminders=form.get(f"reminders-{n}", "").strip(), mention=form.get(f"mention-{n}", "").strip()))
    return rows


def _whole_number(text: str) -> int | None:
    return int(text) if re.fullmatch(r"\d{1,9}", text) else None


def _check(row: TargetRow) -> Target | None:
    """The row's target, or None with ``row.errors`` saying what to fix."""
    errors = row.errors
    errors.clear()
    if not row.segment:
        errors["segment"] = gettext("Name the segment (or * for every segment).")
    elif len(row.segment) > 64:
        errors["segment"] = gettext("A segment name has at most 64 characters.")
    if row.priority and row.priority not in PRIORITIES:
        errors["priority"] = gettext("Choose a priority from the list.")
    minutes = None
    amount = _whole_number(row.target)
    if not row.target:
        errors["target"] = gettext("Enter the first-reply target, like 90 minutes or 4 hours.")
    elif amount is None:
        errors["target"] = gettext("Enter the target as a whole number, like 90.")
    elif amount == 0:
        errors["target"] = gettext("The target must be more than zero.")
    elif amount * UNITS[row.unit] > MAX_MINUTES:
        errors["target"] = gettext("The target can be at most 90 days.")
    else:
        minutes = amount * UNITS[row.unit]
    reminders: list[int] = []
    for part in filter(None, (piece.strip() for piece in row.reminders.split(","))):
        value = _whole_number(part)
        if value is None or value == 0:
            errors["reminders"] = gettext("Write reminders as minutes before the deadline, separated by commas, "
                                          "like 30, 10.")
            break
        reminders.append(value)
    if "reminders" not in errors and minutes is not None and any(value >= minutes for value in reminders):
        errors["reminders"] = gettext("Each reminder must come before the deadline: use fewer minutes than the "
                                      "target (%(minutes)s).", minutes=minutes)
    if row.mention and not _MENTION.match(row.mention):
        errors["mention"] = gettext("A Slack user group id starts with S, like S0123ABC; leave it empty for no "
                                    "mention.")
    if errors or minutes is None:
        return None
    try:
        return Target(segment=row.segment, priority=row.priority or None, minutes=minutes,
                      business_hours=row.business_hours, notify=row.notify, reminders=reminders,
                      mention=row.mention or None)
    except ValidationError:  # every rule of the model is checked above; this is the last guard
        errors["target"] = gettext("This target cannot be saved; check each field of the row.")
        return None


def check_rows(rows: list[TargetRow]) -> tuple[list[Target], bool]:
    """The targets of the non-blank rows, and whether all of them are right (problems are in each row)."""
    targets: list[Target] = []
    seen: set[tuple[str, str]] = set()
    ok = True
    for row in rows:
        if row.blank():
            row.errors.clear()
            continue
        target = _check(row)
        if target is None:
            ok = False
            continue
        key = (target.segment, target.priority or "")
        if key in seen:
            row.errors["segment"] = gettext("Another row already sets a target for this segment and priority: "
                                            "keep one of them.")
            ok = False
            continue
        seen.add(key)
        targets.append(target)
    return targets, ok
