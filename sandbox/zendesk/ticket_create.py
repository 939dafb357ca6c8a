"""Ticket creation: requester resolution, validation, follow-ups and Idempotency-Key handling."""

from __future__ import annotations

from typing import Any

from ..timeutil import iso
from .base import StateBase
from .errors import invalid_request, record_invalid
from .store import as_int, normalise_tags
from .ticket_records import (
    CUSTOM_STATUS_IDS,
    IDEMPOTENCY_TTL,
    PRIORITIES,
    STATUSES,
    TYPES,
    Outcome,
    TicketChange,
    comment_event,
    new_audit,
    new_comment,
    request_hash,
    strip_html,
)


class TicketCreateMixin(StateBase):
    """How a ticket comes to exist."""

    # -- creation ------------------------------------------------------------------------------------
    def create_ticket_idempotent(
        self, key: str | None, data: dict[str, Any], *, actor_id: int | None = None, channel: str = "api"
    ) -> tuple[Outcome, bool]:
        """Create once per Idempotency-Key; returns (outcome, hit). Same key, other body: 400."""
        with self.lock:
            now = self.now()
            if key:
                for stale in [k for k, v in self.idempotency.items() if now - v["ts"] > IDEMPOTENCY_TTL]:
                    del self.idempotency[stale]
                digest = request_hash(data)
                seen = self.idempotency.get(key)
                if seen is not None:
                    if seen["hash"] != digest:
                        raise invalid_request(
                            "Idempotency key was already used with a different request body",
                            "IdempotencyKeyReused",
                        )
                    ticket = self.tickets[seen["ticket_id"]]
                    return Outcome(ticket, seen["audit"], "Create", seen["actor_id"]), True
            outcome = self._create_ticket(data, actor_id=actor_id, channel=channel)
            self._emit(outcome)
            if key:
                self.idempotency[key] = {
                    "hash": digest,
                    "ticket_id": outcome.ticket["id"],
                    "ts": now,
                    "audit": outcome.audit,
                    "actor_id": outcome.actor_id,
                }
            return outcome, False

    def _resolve_requester(self, data: dict[str, Any], actor_id: int, ts: float) -> int:
        if data.get("requester_id") is not None:
            requester_id = as_int(data["requester_id"])
            if requester_id not in self.users:
                raise record_invalid("requester_id", "Requester: is invalid")
            return int(requester_id)
        requester = data.get("requester")
        if isinstance(requester, dict) and requester.get("email"):
            found = self.user_by_email(requester["email"])
            if found:
                return int(found["id"])
            name = requester.get("name") or requester["email"].split("@")[0]
            user = self.create_user(
                {"name": name, "email": requester["email"], "locale": requester.get("locale")}, at=ts
            )
            return int(user["id"])
        return actor_id

    def _initial_tags(self, data: dict[str, Any], requester: dict[str, Any], org_id: int | None) -> list[str]:
        """A new ticket gets its requester's and organization's tags too (Zendesk's user/org tags setting)."""
        tags = normalise_tags(data.get("tags"))
        if self.options.get("inherit_tags", True):
            inherited = list(requester.get("tags") or [])
            if org_id is not None and org_id in self.organizations:
                inherited += self.organizations[org_id]["tags"]
            tags += [t for t in normalise_tags(inherited) if t not in tags]
        return tags

    def _validate_enum(self, data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> None:
        value = data.get(key)
        if value is not None and value not in allowed:
            raise record_invalid(key, f"{key.capitalize()}: {value} is not valid")

    def _validate_refs(self, data: dict[str, Any]) -> None:
        self._validate_enum(data, "status", STATUSES)
        self._validate_enum(data, "priority", PRIORITIES)
        self._validate_enum(data, "type", TYPES)
        for key, table, label in (
            ("group_id", self.groups, "Group"),
            ("organization_id", self.organizations, "Organization"),
            ("brand_id", self.brands, "Brand"),
            ("ticket_form_id", self.ticket_forms, "Ticket form"),
        ):
            if data.get(key) is not None and as_int(data[key]) not in table:
                raise record_invalid(key, f"{label}: is invalid")
        if data.get("assignee_id") is not None and not self.is_staff(as_int(data["assignee_id"])):
            raise record_invalid("assignee_id", "Assignee: is not an agent")

    def _create_ticket(
        self, data: dict[str, Any], *, actor_id: int | None, channel: str, at: float | None = None
    ) -> Outcome:
        if not isinstance(data, dict):
            raise invalid_request("Ticket must be an object")
        ts = self.now() if at is None else at
        actor = actor_id if actor_id is not None else self.admin_id
        comment_in = data.get("comment") or {}
        if isinstance(comment_in, str):
            comment_in = {"body": comment_in}
        body = comment_in.get("body") or (
            strip_html(comment_in["html_body"]) if comment_in.get("html_body") else data.get("description")
        )
        if not body:
            raise record_invalid("description", "Description: cannot be blank", "BlankValue")
        if data.get("assignee_email"):
            assignee = self.user_by_email(data["assignee_email"])
            data = {**data, "assignee_id": assignee["id"] if assignee else -1}
        self._validate_refs(data)
        source: dict[str, Any] = {"from": {}, "to": {}, "rel": None}
        followup_of = as_int(data.get("via_followup_source_id"))
        if followup_of is not None:
            original = self.tickets.get(followup_of)
            if original is None or original["status"] != "closed":
                raise record_invalid("via_followup_source_id", "Via followup source: must be a closed ticket")
            source = {
                "from": {"ticket_id": followup_of, "subject": original["subject"]},
                "to": {},
                "rel": "follow_up",
            }
            data = {"requester_id": original["requester_id"], "subject": original["subject"], **data}
        requester_id = self._resolve_requester(data, actor, ts)
        requester = self.users[requester_id]
        org_id = as_int(data.get("organization_id")) or requester.get("organization_id")
        group_id = as_int(data.get("group_id"))
        if group_id is None and org_id is not None:
            group_id = self.organizations[org_id].get("group_id")
        assignee_id = as_int(data.get("assignee_id"))
        status = data.get("status") or ("open" if assignee_id else "new")
        ticket_id = self.ids.next("tickets")
        stamp = iso(ts)
        custom_fields = [
            {"id": int(f["id"]), "value": f.get("value")} for f in data.get("custom_fields") or []
        ]
        ticket: dict[str, Any] = {
            "id": ticket_id,
            "external_id": data.get("external_id"),
            "via": {"channel": channel, "source": source},
            "created_at": stamp,
            "updated_at": stamp,
            "generated_timestamp": int(ts),
            "type": data.get("type"),
            "subject": data.get("subject") or body.strip().splitlines()[0][:80],
            "raw_subject": data.get("subject") or body.strip().splitlines()[0][:80],
            "description": body,
            "priority": data.get("priority"),
            "status": status,
            "custom_status_id": CUSTOM_STATUS_IDS[status],
            "recipient": data.get("recipient"),
            "requester_id": requester_id,
            "submitter_id": as_int(data.get("submitter_id")) or (requester_id if channel != "api" else actor),
            "assignee_id": assignee_id,
            "organization_id": org_id,
            "group_id": group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": as_int(data.get("problem_id")),
            "has_incidents": False,
            "is_public": bool(comment_in.get("public", True)),
            "due_at": data.get("due_at"),
            "tags": self._initial_tags(data, requester, org_id),
            "custom_fields": custom_fields,
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "ticket_form_id": as_int(data.get("ticket_form_id")) or self.default_form_id,
            "brand_id": as_int(data.get("brand_id")) or self.default_brand_id,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
            "_created_ts": ts,
            "_updated_ts": ts,
            "_status_updated_ts": ts,
            "_metric_id": self.ids.next("ticket_metrics"),
            "_first_reply_ts": None,
            "_solved_ts": ts if status in ("solved", "closed") else None,
            "_replies": 0,
            "_reopens": 0,
            "_assigned_ts": ts if assignee_id else None,
            "_initially_assigned_ts": ts if assignee_id else None,
            "_group_stations": 1 if group_id else 0,
            "_assignee_stations": 1 if assignee_id else 0,
            "_latest_comment_ts": ts,
            "_requester_updated_ts": ts,
            "_assignee_updated_ts": None,
            "_deleted": False,
        }
        self.tickets[ticket_id] = ticket
        self.metric_ids[ticket["_metric_id"]] = ticket_id
        self.comments[ticket_id] = []
        self.audits[ticket_id] = []
        if followup_of is not None:
            self.tickets[followup_of]["followup_ids"].append(ticket_id)
        audit = new_audit(self.ids.next("events"), ticket, actor, ts, channel, data.get("metadata"))
        author_id = as_int(comment_in.get("author_id")) or (requester_id if channel != "api" else actor)
        comment = new_comment(self.ids.next("events"), audit, author_id, body, comment_in, ts, channel)
        self.comments[ticket_id].append(comment)
        audit["events"].append(comment_event(comment))
        for key in (
            "subject",
            "status",
            "priority",
            "type",
            "requester_id",
            "group_id",
            "assignee_id",
            "organization_id",
        ):
            if ticket[key] is not None:
                audit["events"].append(
                    {
                        "id": self.ids.next("events"),
                        "type": "Create",
                        "field_name": key,
                        "value": str(ticket[key]),
                    }
                )
        if ticket["tags"]:
            audit["events"].append(
                {
                    "id": self.ids.next("events"),
                    "type": "Create",
                    "field_name": "tags",
                    "value": list(ticket["tags"]),
                }
            )
        self.audits[ticket_id].append(audit)
        stats = getattr(self, "stats", None)
        if stats is not None:
            stats.ticket_created()
        return Outcome(ticket, audit, "Create", actor, [TicketChange("created", {})], {}, comment)
