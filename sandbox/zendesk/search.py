"""Zendesk search syntax over the in-memory records (`type:ticket status<solved requester:123`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..timeutil import parse_iso
from .base import StateBase
from .ticket_records import PRIORITY_RANK, STATUS_RANK

TOKEN = re.compile(r'(-?)([\w.]+)(<=|>=|:|<|>)("[^"]*"|\S+)|(-?)("[^"]*"|\S+)')
RELATIVE = re.compile(r"^(\d+)(minutes?|hours?|days?|weeks?|months?|years?|mi|h|d|w|mo|y)$")
UNIT_SECONDS = {
    "mi": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
    "mo": 2592000,
    "month": 2592000,
    "y": 31536000,
    "year": 31536000,
}


@dataclass
class Term:
    """One search term: `key op value`, or free text when `key` is empty."""

    negate: bool
    key: str
    op: str
    value: str


def parse_query(query: str) -> list[Term]:
    """Split a query into terms, honouring quotes and `-` negation."""
    terms = []
    for match in TOKEN.finditer(query):
        if match.group(2):
            terms.append(
                Term(bool(match.group(1)), match.group(2).lower(), match.group(3), match.group(4).strip('"'))
            )
        else:
            terms.append(Term(bool(match.group(5)), "", ":", match.group(6).strip('"')))
    return terms


def _time_value(value: str, now: float) -> float:
    """An absolute date/time, or a relative one such as `4hours` (meaning that long ago)."""
    rel = RELATIVE.match(value)
    if rel:
        return (
            now
            - int(rel.group(1))
            * UNIT_SECONDS[rel.group(2).rstrip("s") if len(rel.group(2)) > 2 else rel.group(2)]
        )
    return parse_iso(value)


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    if actual is None:
        return False
    return {
        ":": actual == wanted,
        "<": actual < wanted,
        ">": actual > wanted,
        "<=": actual <= wanted,
        ">=": actual >= wanted,
    }[op]


def _text(value: str, haystack: str | None) -> bool:
    if haystack is None:
        return False
    pattern = re.escape(value.lower()).replace(r"\*", ".*")
    return re.search(pattern, haystack.lower()) is not None


class SearchMixin(StateBase):
    """`GET /search.json` semantics over tickets, users, organizations and groups."""

    def search(self, query: str) -> list[tuple[str, dict[str, Any]]]:
        """Return (result_type, stored record) pairs matching `query`, in id order."""
        terms = parse_query(query)
        kinds = {t.value.lower() for t in terms if t.key == "type" and not t.negate}
        terms = [t for t in terms if t.key != "type"]
        lag = float(self.options.get("search_lag_seconds", 0))
        now = self.now()
        tables: list[tuple[str, dict[int, dict[str, Any]], Callable[[dict[str, Any], Term], bool]]] = [
            ("ticket", self.tickets, self._ticket_term),
            ("user", self.users, self._user_term),
            ("organization", self.organizations, self._organization_term),
            ("group", self.groups, self._group_term),
        ]
        results: list[tuple[str, dict[str, Any]]] = []
        with self.lock:
            for kind, table, matcher in tables:
                if kinds and kind not in kinds:
                    continue
                for record in table.values():
                    if record.get("_deleted"):
                        continue
                    # Zendesk's index trails writes; `search_lag_seconds` models that delay.
                    if lag and now - record.get("_updated_ts", 0) < lag:
                        continue
                    if all(matcher(record, t) != t.negate for t in terms):
                        results.append((kind, record))
        return results

    def _user_ref(self, value: str) -> int | None:
        if value.isdigit():
            return int(value)
        if value == "me":
            return self.admin_id
        user = self.user_by_email(value) if "@" in value else None
        if user is None:
            user = next((u for u in self.users.values() if u["name"].lower() == value.lower()), None)
        return int(user["id"]) if user else -1

    def _named_ref(self, value: str, table: dict[int, dict[str, Any]]) -> int | None:
        if value.isdigit():
            return int(value)
        found = next((r for r in table.values() if r["name"].lower() == value.lower()), None)
        return int(found["id"]) if found else -1

    def _ticket_term(self, ticket: dict[str, Any], term: Term) -> bool:
        key, op, value = term.key, term.op, term.value
        low = value.lower()
        if key == "":
            return _text(value, ticket["subject"]) or _text(value, ticket["description"])
        if key == "status":
            return _compare(STATUS_RANK.get(ticket["status"]), op, STATUS_RANK.get(low, -1))
        if key == "priority":
            if low == "none":
                return ticket["priority"] is None
            return _compare(PRIORITY_RANK.get(ticket["priority"] or ""), op, PRIORITY_RANK.get(low, -1))
        if key in ("type", "ticket_type"):
            return ticket["type"] == low
        if key in ("tags", "tag"):
            return (not ticket["tags"]) if low == "none" else low in ticket["tags"]
        if key in ("requester", "requester_id", "assignee", "assignee_id", "submitter", "submitter_id"):
            field = key.split("_")[0] + "_id"
            return (ticket[field] is None) if low == "none" else ticket[field] == self._user_ref(value)
        if key in ("organization", "organization_id"):
            if low == "none":
                return ticket["organization_id"] is None
            return ticket["organization_id"] == self._named_ref(value, self.organizations)
        if key in ("group", "group_id"):
            if low == "none":
                return ticket["group_id"] is None
            return ticket["group_id"] == self._named_ref(value, self.groups)
        if key in ("created", "updated", "solved"):
            ts = {
                "created": ticket["_created_ts"],
                "updated": ticket["_updated_ts"],
                "solved": ticket["_solved_ts"],
            }[key]
            wanted = _time_value(value, self.now())
            if op == ":" and len(value) == 10:
                return ts is not None and wanted <= ts < wanted + 86400
            return _compare(ts, op, wanted)
        if key == "subject":
            return _text(value, ticket["subject"])
        if key in ("description", "comment"):
            return any(_text(value, c["body"]) for c in self.comments[ticket["id"]])
        if key == "via":
            return ticket["via"]["channel"] == low
        if key in ("brand", "brand_id"):
            return str(ticket["brand_id"]) == value
        if key in ("form", "ticket_form_id"):
            return str(ticket["ticket_form_id"]) == value
        if key == "external_id":
            return ticket["external_id"] == value
        if key.startswith("custom_field_"):
            field_id = int(key.rsplit("_", 1)[-1])
            return any(
                f["id"] == field_id and str(f["value"]).lower() == low for f in ticket["custom_fields"]
            )
        return False

    def _user_term(self, user: dict[str, Any], term: Term) -> bool:
        key, value = term.key, term.value
        low = value.lower()
        if key == "":
            return _text(value, user["name"]) or _text(value, user.get("email"))
        if key == "email":
            return (user.get("email") or "").lower() == low or (
                "*" in value and _text(value, user.get("email"))
            )
        if key == "name":
            return _text(value, user["name"])
        if key == "role":
            return user["role"].replace("-", "_") == low.replace("-", "_")
        if key in ("tags", "tag"):
            return low in user["tags"]
        if key in ("organization", "organization_id"):
            return user["organization_id"] == self._named_ref(value, self.organizations)
        if key == "external_id":
            return user.get("external_id") == value
        return False

    def _organization_term(self, org: dict[str, Any], term: Term) -> bool:
        key, value = term.key, term.value
        low = value.lower()
        if key == "":
            return _text(value, org["name"])
        if key == "name":
            return org["name"].lower() == low or ("*" in value and _text(value, org["name"]))
        if key in ("tags", "tag"):
            return low in org["tags"]
        if key == "external_id":
            return org.get("external_id") == value
        if key in ("domain", "domain_names"):
            return low in org["domain_names"]
        return False

    def _group_term(self, group: dict[str, Any], term: Term) -> bool:
        if term.key in ("", "name"):
            return _text(term.value, group["name"])
        return False


def sort_results(
    results: list[tuple[str, dict[str, Any]]], sort_by: str | None, sort_order: str | None
) -> list[tuple[str, dict[str, Any]]]:
    """Order results as `sort_by`/`sort_order` ask; without `sort_by`, keep id order."""
    if not sort_by:
        return results
    keys: dict[str, Callable[[dict[str, Any]], Any]] = {
        "created_at": lambda r: r.get("_created_ts", 0) or r.get("created_at", ""),
        "updated_at": lambda r: r.get("_updated_ts", 0),
        "priority": lambda r: PRIORITY_RANK.get(r.get("priority") or "", -1),
        "status": lambda r: STATUS_RANK.get(r.get("status") or "", -1),
        "ticket_type": lambda r: r.get("type") or "",
    }
    key = keys.get(sort_by, lambda r: r["id"])
    return sorted(results, key=lambda kr: key(kr[1]), reverse=(sort_order or "desc") == "desc")
