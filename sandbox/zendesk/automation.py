"""Admin objects of the account: triggers, webhooks and SLA policies."""

from __future__ import annotations

import base64
import os
import random
from typing import Any
from urllib.parse import urlparse

from ..timeutil import iso
from .base import StateBase
from .errors import ApiError, record_invalid, record_not_found, webhook_error
from .store import clone

WEBHOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WEBHOOK_FORMATS = ("json", "xml", "form_encoded")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _webhook_id() -> str:
    # Real webhook ids are ULIDs such as 01GVH5MCQ6QJ6J0A6D2P0S1W8C.
    return "01" + "".join(random.choice(CROCKFORD) for _ in range(24))


def _normalise_filter(spec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """SLA filter values come back as strings (or lists), however a client sent them."""

    def one(cond: dict[str, Any]) -> dict[str, Any]:
        value = cond.get("value")
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, int | float):
            value = str(value)
        return {**clone(cond), "value": value}

    return {"all": [one(c) for c in spec.get("all") or []], "any": [one(c) for c in spec.get("any") or []]}


def _base_invalid(description: str) -> ApiError:
    return ApiError(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {"base": [{"description": description, "error": "InvalidValue"}]},
        },
    )


class AutomationMixin(StateBase):
    """CRUD for triggers, webhooks and SLA policies, with Zendesk's validation."""

    # -- triggers -------------------------------------------------------------------------------------
    def create_trigger(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a ticket trigger; returns the stored record."""
        self._check_trigger(data, partial=False)
        with self.lock:
            trigger_id = self.ids.next("triggers")
            stamp = self.now_iso()
            position = data.get("position") or (
                max((t["position"] for t in self.triggers.values()), default=0) + 1
            )
            trigger = {
                "id": trigger_id,
                "title": data["title"],
                "raw_title": data["title"],
                "description": data.get("description"),
                "active": bool(data.get("active", True)),
                "position": int(position),
                "default": False,
                "category_id": str(data.get("category_id") or "10026"),
                "conditions": {
                    "all": clone(data["conditions"].get("all") or []),
                    "any": clone(data["conditions"].get("any") or []),
                },
                "actions": clone(data["actions"]),
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.triggers[trigger_id] = trigger
            return trigger

    def update_trigger(self, trigger_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the given members of a trigger."""
        self._check_trigger(data, partial=True)
        with self.lock:
            trigger = self._get(self.triggers, trigger_id)
            for key in ("title", "description", "active", "position", "category_id"):
                if key in data:
                    trigger[key] = data[key]
            if "title" in data:
                trigger["raw_title"] = data["title"]
            if "conditions" in data:
                trigger["conditions"] = {
                    "all": clone(data["conditions"].get("all") or []),
                    "any": clone(data["conditions"].get("any") or []),
                }
            if "actions" in data:
                trigger["actions"] = clone(data["actions"])
            trigger["updated_at"] = self.now_iso()
            return trigger

    def delete_trigger(self, trigger_id: Any) -> None:
        """Remove a trigger."""
        with self.lock:
            self._get(self.triggers, trigger_id)
            del self.triggers[int(trigger_id)]

    def _check_trigger(self, data: dict[str, Any], *, partial: bool) -> None:
        if not isinstance(data, dict):
            raise _base_invalid("Trigger must be an object")
        if (not partial or "title" in data) and not (data.get("title") or "").strip():
            raise record_invalid("title", "Title: cannot be blank", "BlankValue")
        if not partial or "actions" in data:
            actions = data.get("actions")
            if not isinstance(actions, list) or not actions:
                raise _base_invalid("Invalid action: a trigger needs at least one action")
            for action in actions:
                if not isinstance(action, dict) or "field" not in action:
                    raise _base_invalid("Invalid action: each action needs a field and a value")
        if not partial or "conditions" in data:
            conditions = data.get("conditions")
            if not isinstance(conditions, dict) or not (conditions.get("all") or conditions.get("any")):
                raise _base_invalid("Invalid conditions: a trigger needs at least one condition")

    # -- webhooks -------------------------------------------------------------------------------------
    def create_webhook(self, data: dict[str, Any], *, created_by: int | None = None) -> dict[str, Any]:
        """Create a webhook; `signing_secret.secret` may be given, otherwise one is generated."""
        self._check_webhook(data, partial=False)
        with self.lock:
            stamp = self.now_iso()
            secret = (data.get("signing_secret") or {}).get("secret") or base64.b64encode(
                os.urandom(32)
            ).decode()
            webhook = {
                "id": _webhook_id(),
                "name": data["name"],
                "description": data.get("description"),
                "status": data.get("status", "active"),
                "endpoint": data["endpoint"],
                "http_method": data.get("http_method", "POST").upper(),
                "request_format": data.get("request_format", "json"),
                "subscriptions": list(data["subscriptions"]),
                "authentication": clone(data.get("authentication")),
                "custom_headers": clone(data.get("custom_headers") or {}),
                "created_at": stamp,
                "created_by": str(created_by or self.admin_id),
                "updated_at": stamp,
                "updated_by": str(created_by or self.admin_id),
                "_secret": secret,
            }
            self.webhooks[webhook["id"]] = webhook
            return webhook

    def update_webhook(self, webhook_id: str, data: dict[str, Any], *, patch: bool = False) -> dict[str, Any]:
        """PUT replaces the webhook's settings; PATCH changes only what is given."""
        self._check_webhook(data, partial=patch)
        with self.lock:
            webhook = self.get_webhook(webhook_id)
            for key in (
                "name",
                "description",
                "status",
                "endpoint",
                "request_format",
                "subscriptions",
                "authentication",
                "custom_headers",
            ):
                if key in data:
                    webhook[key] = clone(data[key])
            if "http_method" in data:
                webhook["http_method"] = data["http_method"].upper()
            webhook["updated_at"] = self.now_iso()
            return webhook

    def delete_webhook(self, webhook_id: str) -> None:
        """Remove a webhook."""
        with self.lock:
            self.get_webhook(webhook_id)
            del self.webhooks[webhook_id]

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        """The stored webhook, or the Webhooks API's 404."""
        webhook = self.webhooks.get(str(webhook_id))
        if webhook is None:
            raise webhook_error(
                404, "WebhookNotFound", "Webhook not found", f"Webhook {webhook_id} not found"
            )
        return webhook

    def webhook_secret(self, webhook_id: str) -> str:
        """The signing secret of a webhook."""
        with self.lock:
            return str(self.get_webhook(webhook_id)["_secret"])

    def webhook_view(self, webhook: dict[str, Any]) -> dict[str, Any]:
        """Public JSON of a webhook; credentials in `authentication.data` are never echoed."""
        out = {k: clone(v) for k, v in webhook.items() if not k.startswith("_")}
        if out.get("authentication"):
            out["authentication"] = {k: v for k, v in out["authentication"].items() if k != "data"}
        return out

    def _check_webhook(self, data: dict[str, Any], *, partial: bool) -> None:
        def bad(field: str, detail: str) -> ApiError:
            return webhook_error(400, "InvalidValue", "Invalid value", detail, f"/webhook/{field}")

        if not isinstance(data, dict):
            raise bad("", "webhook must be an object")
        if (not partial or "name" in data) and not (data.get("name") or "").strip():
            raise bad("name", "name is required")
        if not partial or "endpoint" in data:
            parsed = urlparse(str(data.get("endpoint") or ""))
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise bad("endpoint", "endpoint must be an absolute http(s) URL")
        if "http_method" in data and str(data["http_method"]).upper() not in WEBHOOK_METHODS:
            raise bad("http_method", f"http_method must be one of {', '.join(WEBHOOK_METHODS)}")
        if "request_format" in data and data["request_format"] not in WEBHOOK_FORMATS:
            raise bad("request_format", f"request_format must be one of {', '.join(WEBHOOK_FORMATS)}")
        if "status" in data and data["status"] not in ("active", "inactive"):
            raise bad("status", "status must be active or inactive")
        if not partial or "subscriptions" in data:
            subs = data.get("subscriptions")
            if not isinstance(subs, list) or not subs:
                raise bad("subscriptions", "subscriptions must be a non-empty list")
            for sub in subs:
                if sub != "conditional_ticket_events" and not str(sub).startswith("zen:event-type:"):
                    raise bad("subscriptions", f"unknown subscription {sub}")

    # -- SLA policies ---------------------------------------------------------------------------------
    def create_sla_policy(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create an SLA policy (`title` and `filter` required); returns the stored record."""
        if not isinstance(data, dict) or not (data.get("title") or "").strip():
            raise record_invalid("title", "Title: cannot be blank", "BlankValue")
        if not isinstance(data.get("filter"), dict):
            raise record_invalid("filter", "Filter: cannot be blank", "BlankValue")
        with self.lock:
            policy_id = self.ids.next("sla_policies")
            stamp = self.now_iso()
            policy = {
                "id": policy_id,
                "title": data["title"],
                "description": data.get("description") or "",
                "position": int(data.get("position") or len(self.sla_policies) + 1),
                "filter": _normalise_filter(data["filter"]),
                "policy_metrics": clone(data.get("policy_metrics") or []),
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.sla_policies[policy_id] = policy
            return policy

    def update_sla_policy(self, policy_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the given members of an SLA policy."""
        with self.lock:
            policy = self._get(self.sla_policies, policy_id)
            for key in ("title", "description", "position", "policy_metrics"):
                if key in data:
                    policy[key] = clone(data[key])
            if isinstance(data.get("filter"), dict):
                policy["filter"] = _normalise_filter(data["filter"])
            policy["updated_at"] = iso(self.now())
            return policy

    def delete_sla_policy(self, policy_id: Any) -> None:
        """Remove an SLA policy."""
        with self.lock:
            if int(policy_id) not in self.sla_policies:
                raise record_not_found()
            del self.sla_policies[int(policy_id)]
