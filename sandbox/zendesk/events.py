"""What a ticket change sends out: event envelopes for subscribed webhooks and trigger-built bodies."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any

from ..timeutil import iso_micro, parse_iso
from .base import StateBase
from .delivery import Delivery
from .ticket_records import PRIORITY_RANK, STATUS_RANK, Outcome

EVENT_VERSION = "2022-11-06"
PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
VIA_DISPLAY = {"web": "Web Form", "email": "Mail", "api": "Web Service", "closed_ticket": "Closed Ticket"}


def _sid(value: Any) -> str | None:
    return None if value is None else str(value)


def event_detail(ticket: dict[str, Any], actor_id: int) -> dict[str, Any]:
    """The `detail` object of ticket events: ids as strings, enums in capitals, as Zendesk sends them."""

    def upper(value: Any) -> str | None:
        return value.upper() if isinstance(value, str) else None

    channel = ticket["via"]["channel"]
    return {
        "actor_id": str(actor_id),
        "assignee_id": _sid(ticket["assignee_id"]),
        "brand_id": _sid(ticket["brand_id"]),
        "created_at": ticket["created_at"],
        "custom_status": _sid(ticket["custom_status_id"]),
        "description": ticket["description"],
        "external_id": _sid(ticket["external_id"]),
        "form_id": _sid(ticket["ticket_form_id"]),
        "group_id": _sid(ticket["group_id"]),
        "id": str(ticket["id"]),
        "is_public": ticket["is_public"],
        "organization_id": _sid(ticket["organization_id"]),
        "priority": upper(ticket["priority"]),
        "requester_id": _sid(ticket["requester_id"]),
        "status": upper(ticket["status"]),
        "subject": ticket["subject"],
        "submitter_id": _sid(ticket["submitter_id"]),
        "tags": list(ticket["tags"]),
        "type": upper(ticket["type"]),
        "updated_at": ticket["updated_at"],
        # Events name the API channel "web_service", where the REST API says "api".
        "via": {"channel": "web_service" if channel == "api" else channel},
    }


class EventsMixin(StateBase):
    """Turns ticket outcomes into webhook deliveries."""

    def _emit(self, outcome: Outcome) -> None:
        """Queue every delivery an outcome causes. Called with the lock held; never blocks on HTTP."""
        active = [w for w in self.webhooks.values() if w["status"] == "active"]
        if not active:
            return
        ticket = outcome.ticket
        deliveries: list[Delivery] = []
        detail: dict[str, Any] | None = None
        for change in outcome.changes:
            event_type = f"zen:event-type:ticket.{change.kind}"
            subscribed = [w for w in active if event_type in w["subscriptions"]]
            if not subscribed:
                continue
            detail = detail or event_detail(ticket, outcome.actor_id)
            event_id = str(uuid.uuid4())
            envelope = {
                "type": event_type,
                "account_id": self.account_id,
                "id": event_id,
                "time": iso_micro(self.now()),
                "zendesk_event_version": EVENT_VERSION,
                "subject": f"zen:ticket:{ticket['id']}",
                "detail": detail,
                "event": change.event,
            }
            body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
            for webhook in subscribed:
                deliveries.append(self._delivery(webhook, body, event_type, event_id, ticket["id"], None))
        conditional = {w["id"]: w for w in active if "conditional_ticket_events" in w["subscriptions"]}
        if conditional:
            deliveries.extend(self._trigger_deliveries(outcome, conditional))
        for delivery in deliveries:
            self.dispatcher.submit(delivery)

    def _delivery(
        self,
        webhook: dict[str, Any],
        body: bytes,
        event_type: str,
        event_id: str | None,
        ticket_id: int,
        trigger_id: int | None,
    ) -> Delivery:
        return Delivery(
            webhook_id=webhook["id"],
            endpoint=webhook["endpoint"],
            method=webhook["http_method"],
            body=body,
            secret=webhook["_secret"],
            event_type=event_type,
            event_id=event_id,
            ticket_id=ticket_id,
            trigger_id=trigger_id,
            extra_headers=_auth_headers(webhook),
        )

    # -- triggers -------------------------------------------------------------------------------------
    def _trigger_deliveries(self, outcome: Outcome, webhooks: dict[str, dict[str, Any]]) -> list[Delivery]:
        out: list[Delivery] = []
        triggers = sorted(
            (t for t in self.triggers.values() if t["active"]), key=lambda t: (t["position"], t["id"])
        )
        for trigger in triggers:
            if not self.trigger_matches(trigger["conditions"], outcome):
                continue
            for action in trigger["actions"]:
                if action.get("field") != "notification_webhook":
                    continue
                value = action.get("value") or []
                webhook = webhooks.get(str(value[0])) if value else None
                if webhook is None:
                    continue
                template = value[1] if len(value) > 1 else ""
                if not isinstance(template, str):
                    template = json.dumps(template)
                body = self.render_placeholders(template, outcome).encode("utf-8")
                out.append(
                    self._delivery(
                        webhook, body, "conditional_ticket_events", None, outcome.ticket["id"], trigger["id"]
                    )
                )
        return out

    def trigger_matches(self, conditions: dict[str, Any], outcome: Outcome) -> bool:
        """True when every `all` condition and, if any are given, one `any` condition hold."""
        all_ok = all(self._condition(c, outcome) for c in conditions.get("all") or [])
        anys = conditions.get("any") or []
        return all_ok and (not anys or any(self._condition(c, outcome) for c in anys))

    def _condition(self, cond: dict[str, Any], outcome: Outcome) -> bool:
        name, op, value = cond.get("field"), cond.get("operator", "is"), cond.get("value")
        ticket, previous = outcome.ticket, outcome.previous
        if name == "update_type":
            return (outcome.update_type == value) == (op == "is")
        if name == "current_tags":
            wanted_tags = set(str(value or "").split())
            present = bool(wanted_tags & set(ticket["tags"]))
            return present if op == "includes" else not present
        if name == "comment_is_public":
            comment = outcome.comment
            if value in ("not_relevant", None):
                return True
            public = bool(comment and comment["public"] and outcome.update_type == "Change")
            return public == (str(value).lower() == "true")
        if name == "role":
            user = self.users.get(outcome.actor_id)
            role = "end_user" if not user or user["role"] == "end-user" else "agent"
            return (role == value) == (op == "is")
        fields = {
            "status": "status",
            "priority": "priority",
            "type": "type",
            "ticket_type_id": "type",
            "group_id": "group_id",
            "assignee_id": "assignee_id",
            "organization_id": "organization_id",
            "requester_id": "requester_id",
            "brand_id": "brand_id",
            "ticket_form_id": "ticket_form_id",
        }
        key = fields.get(str(name))
        if key is None:
            return False  # unsupported conditions never match, so a trigger cannot fire by accident
        current = "" if ticket.get(key) is None else str(ticket[key])
        before = "" if previous.get(key) is None else str(previous.get(key))
        changed = outcome.update_type == "Change" and key in previous and current != before
        wanted = "" if value is None else str(value)
        rank = STATUS_RANK if key == "status" else PRIORITY_RANK
        checks = {
            "is": lambda: current == wanted,
            "is_not": lambda: current != wanted,
            "less_than": lambda: current in rank and wanted in rank and rank[current] < rank[wanted],
            "greater_than": lambda: current in rank and wanted in rank and rank[current] > rank[wanted],
            "changed": lambda: changed,
            "not_changed": lambda: not changed,
            "value": lambda: changed and current == wanted,
            "value_previous": lambda: changed and before == wanted,
            "not_value": lambda: not (changed and current == wanted),
            "not_value_previous": lambda: not (changed and before == wanted),
        }
        check = checks.get(str(op))
        return bool(check and check())

    # -- placeholders ---------------------------------------------------------------------------------
    def render_placeholders(self, template: str, outcome: Outcome) -> str:
        """Substitute `{{ticket.*}}` placeholders, JSON-escaping each value; unknown ones render empty."""

        def sub(match: re.Match[str]) -> str:
            value = self.placeholder(match.group(1), outcome)
            return json.dumps("" if value is None else str(value), ensure_ascii=False)[1:-1]

        return PLACEHOLDER.sub(sub, template)

    def placeholder(self, name: str, outcome: Outcome) -> Any:
        """The value of one placeholder for the ticket in `outcome`."""
        ticket = outcome.ticket
        parts = name.split(".")
        people = {
            "requester": ticket["requester_id"],
            "assignee": ticket["assignee_id"],
            "submitter": ticket["submitter_id"],
        }
        if parts[0] == "current_user" and len(parts) == 2:
            return (self.users.get(outcome.actor_id) or {}).get(parts[1])
        if parts[0] != "ticket" or len(parts) < 2:
            return None
        key = parts[1]
        if len(parts) == 3 and key in people:
            user = self.users.get(people[key]) if people[key] else None
            if user and parts[2] == "first_name":
                return user["name"].split()[0]
            return (user or {}).get(parts[2] if parts[2] != "language" else "locale")
        related = {
            "organization": self.organizations.get(ticket["organization_id"] or 0),
            "group": self.groups.get(ticket["group_id"] or 0),
            "brand": self.brands.get(ticket["brand_id"] or 0),
        }
        if len(parts) == 3 and key in related:
            return (related[key] or {}).get(parts[2])
        simple = {
            "id": ticket["id"],
            "title": ticket["subject"],
            "subject": ticket["subject"],
            "description": ticket["description"],
            "external_id": ticket["external_id"],
            "status": (ticket["status"] or "").capitalize(),
            "priority": (ticket["priority"] or "").capitalize(),
            "ticket_type": (ticket["type"] or "").capitalize(),
            "tags": " ".join(ticket["tags"]),
            "via": VIA_DISPLAY.get(ticket["via"]["channel"], ticket["via"]["channel"]),
            "ticket_form_id": ticket["ticket_form_id"],
            "due_date": ticket["due_at"],
            "created_at_with_timestamp": ticket["created_at"],
            "updated_at_with_timestamp": ticket["updated_at"],
            "created_at": _display_date(ticket["_created_ts"]),
            "updated_at": _display_date(ticket["_updated_ts"]),
            "url": f"{self.subdomain}.zendesk.com/agent/tickets/{ticket['id']}",
            "link": f"https://{self.subdomain}.zendesk.com/agent/tickets/{ticket['id']}",
            "account": self.subdomain,
        }
        if key in simple:
            return simple[key]
        if key in ("latest_public_comment", "latest_comment", "latest_public_comment_html"):
            comments = [c for c in self.comments[ticket["id"]] if c["public"] or key == "latest_comment"]
            if not comments:
                return ""
            last = comments[-1]
            if key.endswith("_html"):
                return last["html_body"]
            author = (self.users.get(last["author_id"]) or {}).get("name", "")
            when = time.strftime("%b %d, %Y, %H:%M", time.gmtime(parse_iso(last["created_at"])))
            return f"----------------------------------------------\n\n{author}, {when}\n\n{last['body']}"
        match = re.fullmatch(r"ticket_field_(?:option_title_)?(\d+)", key)
        if match:
            for item in ticket["custom_fields"]:
                if item["id"] == int(match.group(1)):
                    return item["value"]
        return None


def _display_date(ts: float) -> str:
    return time.strftime("%B %d, %Y", time.gmtime(ts))


def _auth_headers(webhook: dict[str, Any]) -> dict[str, str]:
    """Headers for the authentication a webhook is configured with."""
    auth = webhook.get("authentication") or {}
    data = auth.get("data") or {}
    kind = auth.get("type")
    if kind == "bearer_token" and data.get("token"):
        return {"Authorization": f"Bearer {data['token']}"}
    if kind == "basic_auth" and data.get("username"):
        raw = f"{data['username']}:{data.get('password', '')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    if kind == "api_key" and data.get("name"):
        return {str(data["name"]): str(data.get("value", ""))}
    return {}
