"""Tickets, comments and audits: the rules Zendesk applies when a ticket is created or updated."""

from __future__ import annotations

from typing import Any

from ..timeutil import iso
from .errors import ApiError, invalid_request, record_invalid, record_not_found
from .store import as_int, clone, normalise_tags, public
from .ticket_create import TicketCreateMixin
from .ticket_records import (
    CUSTOM_STATUS_IDS,
    Outcome,
    TicketChange,
    audit_change_events,
    comment_event,
    field_changes,
    new_audit,
    new_comment,
    strip_html,
)


class TicketsMixin(TicketCreateMixin):
    """Ticket behaviour. Public methods return copies; `_`-methods return stored records."""

    # -- public Python API ---------------------------------------------------------------------------
    def create_ticket(
        self,
        data: dict[str, Any],
        *,
        actor_id: int | None = None,
        channel: str = "api",
        at: float | None = None,
        fire: bool = True,
    ) -> dict[str, Any]:
        """Create a ticket from a Zendesk `ticket` object and fire webhooks; returns its JSON."""
        with self.lock:
            outcome = self._create_ticket(data, actor_id=actor_id, channel=channel, at=at)
            if fire:
                self._emit(outcome)
            return self.ticket_view(outcome.ticket, self.base_url())

    def update_ticket(
        self,
        ticket_id: int,
        data: dict[str, Any],
        *,
        actor_id: int | None = None,
        at: float | None = None,
        fire: bool = True,
    ) -> dict[str, Any]:
        """Update a ticket the way `PUT /tickets/{id}.json` does; returns `{"ticket", "audit"}`."""
        with self.lock:
            outcome = self._update_ticket(ticket_id, data, actor_id=actor_id, at=at)
            if fire:
                self._emit(outcome)
            return {
                "ticket": self.ticket_view(outcome.ticket, self.base_url()),
                "audit": clone(outcome.audit),
            }

    def add_comment(
        self,
        ticket_id: int,
        body: str,
        *,
        author_id: int,
        public: bool = True,
        status: str | None = None,
        at: float | None = None,
        fire: bool = True,
    ) -> dict[str, Any]:
        """Add a comment as `author_id` (agent or requester); returns the comment JSON."""
        changes: dict[str, Any] = {"comment": {"body": body, "public": public, "author_id": author_id}}
        if status:
            changes["status"] = status
        with self.lock:
            outcome = self._update_ticket(ticket_id, changes, actor_id=author_id, at=at)
            if fire:
                self._emit(outcome)
            assert outcome.comment is not None
            return clone(outcome.comment)

    def get_ticket(self, ticket_id: int) -> dict[str, Any]:
        """The JSON of one ticket (RecordNotFound for unknown or deleted ones)."""
        with self.lock:
            return self.ticket_view(self._live_ticket(ticket_id), self.base_url())

    def ticket_comments(self, ticket_id: int) -> list[dict[str, Any]]:
        """Copies of a ticket's comments, oldest first."""
        with self.lock:
            self._live_ticket(ticket_id)
            return clone(self.comments[int(ticket_id)])

    def ticket_audits(self, ticket_id: int) -> list[dict[str, Any]]:
        """Copies of a ticket's audits, oldest first."""
        with self.lock:
            self._live_ticket(ticket_id)
            return clone(self.audits[int(ticket_id)])

    def ticket_view(self, ticket: dict[str, Any], base: str) -> dict[str, Any]:
        """The public JSON of a ticket."""
        out = public(ticket, base, "tickets")
        out["fields"] = clone(out["custom_fields"])
        return out

    # -- updates -------------------------------------------------------------------------------------
    def _live_ticket(self, ticket_id: Any) -> dict[str, Any]:
        ticket = self._get(self.tickets, ticket_id)
        if ticket["_deleted"]:
            raise record_not_found()
        return ticket

    def _update_ticket(
        self, ticket_id: Any, data: dict[str, Any], *, actor_id: int | None, at: float | None = None
    ) -> Outcome:
        if not isinstance(data, dict):
            raise invalid_request("Ticket must be an object")
        ticket = self._live_ticket(ticket_id)
        data = dict(data)  # the comment rules below add a status; never write into the caller's dict
        ts = self.now() if at is None else at
        actor = actor_id if actor_id is not None else self.admin_id
        if ticket["status"] == "closed":
            raise record_invalid("status", "Status: closed prevents ticket update", "ClosedPreventsUpdate")
        if data.get("safe_update") and data.get("updated_stamp") != ticket["updated_at"]:
            raise ApiError(
                409,
                {
                    "error": "UpdateConflict",
                    "description": "Safe Update prevented the update due to outdated ticket data. "
                    "Please fetch the latest ticket data and try again.",
                },
            )
        if data.get("assignee_email"):
            assignee = self.user_by_email(data["assignee_email"])
            data = {**data, "assignee_id": assignee["id"] if assignee else -1}
        if isinstance(data.get("requester"), dict) and "requester_id" not in data:
            data = {**data, "requester_id": self._resolve_requester(data, actor, ts)}
        if data.get("requester_id") is not None and as_int(data["requester_id"]) not in self.users:
            raise record_invalid("requester_id", "Requester: is invalid")
        self._validate_refs(data)
        previous = {
            k: clone(ticket[k])
            for k in (
                "status",
                "priority",
                "type",
                "group_id",
                "assignee_id",
                "organization_id",
                "requester_id",
                "tags",
                "custom_fields",
            )
        }
        audit = new_audit(self.ids.next("events"), ticket, actor, ts, "api", data.get("metadata"))
        changes: list[TicketChange] = []
        comment = None
        comment_in = data.get("comment")
        if isinstance(comment_in, str):
            comment_in = {"body": comment_in}
        if comment_in:
            body = comment_in.get("body") or strip_html(comment_in.get("html_body") or "")
            if not body:
                raise record_invalid("comment", "Comment: cannot be blank", "BlankValue")
            author_id = as_int(comment_in.get("author_id")) or actor
            if author_id not in self.users:
                raise record_invalid("author_id", "Author: is invalid")
            comment = new_comment(self.ids.next("events"), audit, author_id, body, comment_in, ts, "api")
            self.comments[ticket["id"]].append(comment)
            audit["events"].append(comment_event(comment))
            self._after_comment(ticket, comment, data, ts)
            author = self.users[author_id]
            changes.append(
                TicketChange(
                    "comment_added",
                    {
                        "comment": {
                            "id": str(comment["id"]),
                            "body": comment["body"],
                            "is_public": comment["public"],
                            "author": {
                                "id": str(author_id),
                                "is_staff": author["role"] != "end-user",
                                "name": author["name"],
                            },
                        }
                    },
                )
            )
        self._apply_fields(ticket, data, ts)
        audit["events"].extend(audit_change_events(ticket, previous, lambda: self.ids.next("events")))
        changes = field_changes(ticket, previous, ts) + changes
        ticket["_updated_ts"] = ts
        ticket["updated_at"] = iso(ts)
        ticket["generated_timestamp"] = int(ts)
        if self.is_staff(actor):
            ticket["_assignee_updated_ts"] = ts
        elif actor == ticket["requester_id"]:
            ticket["_requester_updated_ts"] = ts
        self.audits[ticket["id"]].append(audit)
        return Outcome(ticket, audit, "Change", actor, changes, previous, comment)

    def _apply_fields(self, ticket: dict[str, Any], data: dict[str, Any], ts: float) -> None:
        old_status = ticket["status"]
        for key in ("subject", "priority", "type", "external_id", "due_at"):
            if key in data:
                ticket[key] = data[key]
        if "subject" in data:
            ticket["raw_subject"] = data["subject"]
        for key in ("group_id", "assignee_id", "organization_id", "requester_id", "problem_id"):
            if key in data:
                ticket[key] = as_int(data[key])
        if data.get("status"):
            ticket["status"] = data["status"]
        elif ticket["status"] == "new" and ticket["assignee_id"]:
            ticket["status"] = "open"  # an assigned ticket is no longer new
        if "tags" in data:
            ticket["tags"] = normalise_tags(data["tags"])
        for tag in normalise_tags(data.get("additional_tags")):
            if tag not in ticket["tags"]:
                ticket["tags"].append(tag)
        removed = set(normalise_tags(data.get("remove_tags")))
        if removed:
            ticket["tags"] = [t for t in ticket["tags"] if t not in removed]
        for item in data.get("custom_fields") or []:
            field_id = int(item["id"])
            for existing in ticket["custom_fields"]:
                if existing["id"] == field_id:
                    existing["value"] = item.get("value")
                    break
            else:
                ticket["custom_fields"].append({"id": field_id, "value": item.get("value")})
        if ticket["status"] != old_status:
            ticket["_status_updated_ts"] = ts
            ticket["custom_status_id"] = CUSTOM_STATUS_IDS[ticket["status"]]
            if ticket["status"] in ("solved", "closed"):
                ticket["_solved_ts"] = ts
            if old_status in ("solved",) and ticket["status"] not in ("solved", "closed"):
                ticket["_reopens"] += 1

    def _after_comment(
        self, ticket: dict[str, Any], comment: dict[str, Any], data: dict[str, Any], ts: float
    ) -> None:
        """Status and metric side effects of a comment, as Zendesk applies them."""
        ticket["_latest_comment_ts"] = ts
        author_id = comment["author_id"]
        if self.is_staff(author_id) and comment["public"]:
            ticket["_replies"] += 1
            if ticket["_first_reply_ts"] is None:
                ticket["_first_reply_ts"] = ts
            if not data.get("status") and ticket["status"] == "new":
                data["status"] = "open"
        elif (
            author_id == ticket["requester_id"]
            and not data.get("status")
            and ticket["status"] in ("pending", "solved")
        ):
            data["status"] = "open"  # a requester's reply reopens the ticket

    def delete_ticket(self, ticket_id: Any) -> None:
        """Soft-delete: the ticket leaves the API, but incremental exports report it as `deleted`."""
        with self.lock:
            ticket = self._live_ticket(ticket_id)
            ts = self.now()
            ticket.update(
                _deleted=True,
                status="deleted",
                _updated_ts=ts,
                updated_at=iso(ts),
                generated_timestamp=int(ts),
            )
