"""Storage primitives for the helpdesk state: id counters, copies, public views of records."""

from __future__ import annotations

import itertools
from typing import Any

# Distinct id ranges per record kind, so an id passed in the wrong place is never silently accepted.
ID_BASES: dict[str, int] = {
    "tickets": 1,
    "users": 1_000_001,
    "organizations": 2_000_001,
    "groups": 3_000_001,
    "triggers": 4_000_001,
    "events": 5_000_000_001,  # comments and audits share one counter, as in Zendesk
    "sla_policies": 6_000_001,
    "ticket_forms": 7_000_001,
    "brands": 8_000_001,
    "ticket_metrics": 9_000_001,
    "apps": 900_001,
    "installations": 910_001,
    "uploads": 920_001,
}


class IdCounters:
    """Deterministic id allocation per record kind (seeding twice yields the same ids)."""

    def __init__(self) -> None:
        self._counters = {kind: itertools.count(base) for kind, base in ID_BASES.items()}

    def next(self, kind: str) -> int:
        """Allocate the next id of `kind`."""
        return next(self._counters[kind])


def clone(value: Any) -> Any:
    """Copy a JSON-like value (dicts, lists, scalars); much faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def public(record: dict[str, Any], base: str, path: str) -> dict[str, Any]:
    """Return a copy without internal `_` members, with the record's API `url`."""
    out = {k: clone(v) for k, v in record.items() if not k.startswith("_")}
    out["url"] = f"{base}/api/v2/{path}/{record['id']}.json"
    return out


def normalise_tags(tags: Any) -> list[str]:
    """Zendesk stores tags lower-cased, split on whitespace, de-duplicated, in first-seen order."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split()
    seen: dict[str, None] = {}
    for tag in tags:
        for part in str(tag).lower().split():
            seen.setdefault(part, None)
    return list(seen)


def as_int(value: Any) -> int | None:
    """Read an id that may arrive as int or numeric string; None when absent or blank."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("boolean is not an id")
    return int(value)
