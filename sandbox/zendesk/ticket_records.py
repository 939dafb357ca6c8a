"""Builders for the records a ticket change leaves behind: audits, comments, change events, metrics."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..timeutil import iso
from .store import clone


@dataclass
class TicketChange:
    """One change that webhooks subscribe to, e.g. `status_changed` with `{current, previous}`."""

    kind: str
    event: dict[str, Any]


STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}
TYPES = ("problem", "incident", "question", "task")
# Zendesk's built-in custom statuses, one per status category.
CUSTOM_STATUS_IDS = {"new": 1, "open": 2, "pending": 3, "hold": 4, "solved": 5, "closed": 5, "deleted": 5}
IDEMPOTENCY_TTL = 2 * 3600


@dataclass
class Outcome:
    """Everything one create or update did, for the answer, the audit and the webhooks."""

    ticket: dict[str, Any]
    audit: dict[str, Any]
    update_type: str  # "Create" | "Change", as trigger conditions name it
    actor_id: int
    changes: list[TicketChange] = field(default_factory=list)
    previous: dict[str, Any] = field(default_factory=dict)
    comment: dict[str, Any] | None = None


def strip_html(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def request_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def str_or_none(value: Any) -> str | None:
    """Webhook payloads carry ids as strings (null stays null)."""
    return None if value is None else str(value)


def new_audit(
    audit_id: int, ticket: dict[str, Any], actor: int, ts: float, channel: str, metadata: Any
) -> dict[str, Any]:
    """An audit; the update's `metadata` object lands in `metadata.custom`, as in Zendesk."""
    return {
        "id": audit_id,
        "ticket_id": ticket["id"],
        "created_at": iso(ts),
        "author_id": actor,
        "metadata": {
            "system": {
                "client": "Deskmate sandbox",
                "ip_address": "127.0.0.1",
                "location": "Localhost",
                "latitude": 0.0,
                "longitude": 0.0,
            },
            "custom": clone(metadata) if isinstance(metadata, dict) else {},
        },
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "events": [],
    }


def new_comment(
    comment_id: int,
    audit: dict[str, Any],
    author_id: int,
    body: str,
    comment_in: dict[str, Any],
    ts: float,
    channel: str,
) -> dict[str, Any]:
    """A comment record; `html_body` is derived from the plain body when not given."""
    html_body = comment_in.get("html_body") or (
        '<div class="zd-comment"><p>' + html.escape(body).replace("\n", "<br>") + "</p></div>"
    )
    return {
        "id": comment_id,
        "type": "Comment",
        "author_id": author_id,
        "body": body,
        "html_body": html_body,
        "plain_body": body,
        "public": bool(comment_in.get("public", True)),
        "attachments": [],
        "audit_id": audit["id"],
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": iso(ts),
        "metadata": clone(audit["metadata"]),
    }


def comment_event(comment: dict[str, Any]) -> dict[str, Any]:
    """The audit event that records a comment."""
    return {
        "id": comment["id"],
        "type": "Comment",
        "author_id": comment["author_id"],
        "body": comment["body"],
        "html_body": comment["html_body"],
        "plain_body": comment["plain_body"],
        "public": comment["public"],
        "attachments": [],
        "audit_id": comment["audit_id"],
    }


def audit_change_events(
    ticket: dict[str, Any], previous: dict[str, Any], next_id: Callable[[], int]
) -> list[dict[str, Any]]:
    """`Change` audit events for the fields an update changed."""
    events: list[dict[str, Any]] = []
    for key in ("status", "priority", "type", "group_id", "assignee_id", "organization_id", "requester_id"):
        if ticket[key] != previous[key]:
            events.append(
                {
                    "id": next_id(),
                    "type": "Change",
                    "field_name": key,
                    "value": str_or_none(ticket[key]),
                    "previous_value": str_or_none(previous[key]),
                }
            )
    if ticket["tags"] != previous["tags"]:
        # Real audits carry tag lists here, although the OpenAPI document types `value` as string|integer.
        events.append(
            {
                "id": next_id(),
                "type": "Change",
                "field_name": "tags",
                "value": list(ticket["tags"]),
                "previous_value": list(previous["tags"]),
            }
        )
    return events


def field_changes(ticket: dict[str, Any], previous: dict[str, Any], ts: float) -> list[TicketChange]:
    """The webhook events an update causes, in Zendesk's payload shapes; also updates station metrics."""
    changes: list[TicketChange] = []

    def upper(value: Any) -> Any:
        # Event payloads spell enums in capitals ("OPEN", "URGENT") unlike the REST API.
        return value.upper() if isinstance(value, str) else None

    if ticket["status"] != previous["status"]:
        changes.append(
            TicketChange(
                "status_changed", {"current": upper(ticket["status"]), "previous": upper(previous["status"])}
            )
        )
    if ticket["priority"] != previous["priority"]:
        changes.append(
            TicketChange(
                "priority_changed",
                {"current": upper(ticket["priority"]), "previous": upper(previous["priority"])},
            )
        )
    for key, kind in (
        ("group_id", "group_assignment_changed"),
        ("assignee_id", "agent_assignment_changed"),
        ("organization_id", "organization_changed"),
        ("requester_id", "requester_changed"),
    ):
        if ticket[key] != previous[key]:
            changes.append(
                TicketChange(
                    kind, {"current": str_or_none(ticket[key]), "previous": str_or_none(previous[key])}
                )
            )
            if key == "group_id" and ticket[key]:
                ticket["_group_stations"] += 1
            if key == "assignee_id" and ticket[key]:
                ticket["_assignee_stations"] += 1
                ticket["_assigned_ts"] = ts
                ticket["_initially_assigned_ts"] = ticket["_initially_assigned_ts"] or ts
    if ticket["tags"] != previous["tags"]:
        added = [t for t in ticket["tags"] if t not in previous["tags"]]
        removed = [t for t in previous["tags"] if t not in ticket["tags"]]
        if added or removed:
            changes.append(TicketChange("tags_changed", {"tags": {"added": added, "removed": removed}}))
    before = {f["id"]: f["value"] for f in previous["custom_fields"]}
    for item in ticket["custom_fields"]:
        if before.get(item["id"]) != item["value"]:
            changes.append(
                TicketChange(
                    "custom_field_changed",
                    {
                        "current": item["value"],
                        "previous": before.get(item["id"]),
                        "custom_field": {
                            "id": str(item["id"]),
                            "title": f"Field {item['id']}",
                            "type": "text",
                        },
                    },
                )
            )
    return changes


def ticket_metric(ticket: dict[str, Any], base: str) -> dict[str, Any]:
    """Ticket metrics; reply time runs from creation to the first public agent comment."""

    def minutes(start: float | None, end: float | None) -> dict[str, int | None]:
        if start is None or end is None:
            return {"calendar": None, "business": None}
        value = int(max(0.0, end - start) // 60)
        # No business-hours schedule exists in the sandbox: business time equals calendar time.
        return {"calendar": value, "business": value}

    def stamp(ts: float | None) -> str | None:
        return iso(ts) if ts is not None else None

    created = ticket["_created_ts"]
    solved = ticket["_solved_ts"]
    return {
        "id": ticket["_metric_id"],
        "url": f"{base}/api/v2/ticket_metrics/{ticket['_metric_id']}.json",
        "ticket_id": ticket["id"],
        "created_at": ticket["created_at"],
        "updated_at": ticket["updated_at"],
        "group_stations": ticket["_group_stations"],
        "assignee_stations": ticket["_assignee_stations"],
        "reopens": ticket["_reopens"],
        "replies": ticket["_replies"],
        "assignee_updated_at": stamp(ticket["_assignee_updated_ts"]),
        "requester_updated_at": stamp(ticket["_requester_updated_ts"]),
        "status_updated_at": stamp(ticket["_status_updated_ts"]),
        "initially_assigned_at": stamp(ticket["_initially_assigned_ts"]),
        "assigned_at": stamp(ticket["_assigned_ts"]),
        "solved_at": stamp(solved),
        "latest_comment_added_at": stamp(ticket["_latest_comment_ts"]),
        "custom_status_updated_at": stamp(ticket["_status_updated_ts"]),
        "reply_time_in_minutes": minutes(created, ticket["_first_reply_ts"]),
        "first_resolution_time_in_minutes": minutes(created, solved),
        "full_resolution_time_in_minutes": minutes(created, solved),
        "agent_wait_time_in_minutes": minutes(None, None),
        "requester_wait_time_in_minutes": minutes(None, None),
        "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
    }
