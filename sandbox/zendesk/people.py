"""Users, organizations and groups of the emulated helpdesk account."""

from __future__ import annotations

from typing import Any

from ..timeutil import iso as _iso
from .base import StateBase
from .errors import record_invalid
from .store import as_int, normalise_tags, public

USER_ROLES = ("end-user", "agent", "admin")


class PeopleMixin(StateBase):
    """Create, read and update users, organizations and groups."""

    # -- users -------------------------------------------------------------------------------------
    def create_user(self, data: dict[str, Any], *, at: float | None = None) -> dict[str, Any]:
        """Create a user from a Zendesk `user` object; returns the stored record (not a copy)."""
        name = (data.get("name") or "").strip()
        if not name:
            raise record_invalid("name", "Name: cannot be blank", "BlankValue")
        role = data.get("role") or "end-user"
        if role not in USER_ROLES:
            raise record_invalid("role", f"Role: {role} is not valid")
        email = (data.get("email") or "").strip() or None
        ts = self.now() if at is None else at
        with self.lock:
            if email and self.user_by_email(email):
                raise record_invalid(
                    "email", f"Email: {email} is already being used by another user", "DuplicateValue"
                )
            org_id = as_int(data.get("organization_id"))
            if org_id is not None:
                self._get(self.organizations, org_id)
            elif email:
                org_id = self._organization_for_domain(email.rsplit("@", 1)[-1])
            user_id = self.ids.next("users")
            stamp = _iso(ts)
            user: dict[str, Any] = {
                "id": user_id,
                "name": name,
                "email": email,
                "created_at": stamp,
                "updated_at": stamp,
                "time_zone": data.get("time_zone") or "Europe/Rome",
                "iana_time_zone": data.get("iana_time_zone") or data.get("time_zone") or "Europe/Rome",
                "phone": data.get("phone"),
                "shared_phone_number": None,
                "photo": None,
                "locale_id": 1,
                "locale": data.get("locale") or "en-US",
                "organization_id": org_id,
                "role": role,
                "verified": bool(data.get("verified", True)),
                "external_id": data.get("external_id"),
                "tags": normalise_tags(data.get("tags")),
                "alias": data.get("alias") or "",
                "active": True,
                "shared": False,
                "shared_agent": False,
                "last_login_at": None,
                "two_factor_auth_enabled": None,
                "signature": data.get("signature") or "",
                "details": data.get("details") or "",
                "notes": data.get("notes") or "",
                "role_type": None,
                "custom_role_id": None,
                "moderator": role != "end-user",
                "ticket_restriction": None if role != "end-user" else "requested",
                "only_private_comments": False,
                "restricted_agent": False,
                "suspended": False,
                "default_group_id": as_int(data.get("default_group_id")),
                "report_csv": role != "end-user",
                "user_fields": dict(data.get("user_fields") or {}),
                "_updated_ts": ts,
            }
            self.users[user_id] = user
            return user

    def update_user(self, user_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        """Apply a partial update; `user_fields` merge, `tags` replace."""
        with self.lock:
            user = self._get(self.users, user_id)
            if "role" in data and data["role"] not in USER_ROLES:
                raise record_invalid("role", f"Role: {data['role']} is not valid")
            if data.get("email"):
                other = self.user_by_email(data["email"])
                if other and other["id"] != user["id"]:
                    raise record_invalid(
                        "email",
                        f"Email: {data['email']} is already being used by another user",
                        "DuplicateValue",
                    )
            if "organization_id" in data and data["organization_id"] is not None:
                self._get(self.organizations, data["organization_id"])
            for key in (
                "name",
                "email",
                "role",
                "locale",
                "time_zone",
                "phone",
                "external_id",
                "alias",
                "signature",
                "details",
                "notes",
                "verified",
                "suspended",
            ):
                if key in data:
                    user[key] = data[key]
            if "organization_id" in data:
                user["organization_id"] = as_int(data["organization_id"])
            if "default_group_id" in data:
                user["default_group_id"] = as_int(data["default_group_id"])
            if "tags" in data:
                user["tags"] = normalise_tags(data["tags"])
            if "user_fields" in data:
                user["user_fields"].update(data["user_fields"] or {})
            self._touch(user)
            return user

    def agents(self) -> list[dict[str, Any]]:
        """Every agent and admin, by id."""
        with self.lock:
            return [u for u in self.users.values() if u["role"] in ("agent", "admin")]

    # -- organizations -------------------------------------------------------------------------------
    def create_organization(self, data: dict[str, Any], *, at: float | None = None) -> dict[str, Any]:
        """Create an organization (`name` unique); returns the stored record."""
        name = (data.get("name") or "").strip()
        if not name:
            raise record_invalid("name", "Name: cannot be blank", "BlankValue")
        ts = self.now() if at is None else at
        with self.lock:
            if any(o["name"].lower() == name.lower() for o in self.organizations.values()):
                raise record_invalid("name", "Name: has already been taken", "DuplicateValue")
            group_id = as_int(data.get("group_id"))
            if group_id is not None:
                self._get(self.groups, group_id)
            org_id = self.ids.next("organizations")
            stamp = _iso(ts)
            org: dict[str, Any] = {
                "id": org_id,
                "name": name,
                "shared_tickets": bool(data.get("shared_tickets", False)),
                "shared_comments": bool(data.get("shared_comments", False)),
                "external_id": data.get("external_id"),
                "created_at": stamp,
                "updated_at": stamp,
                "domain_names": [str(d).lower() for d in data.get("domain_names") or []],
                "details": data.get("details") or "",
                "notes": data.get("notes") or "",
                "group_id": group_id,
                "tags": normalise_tags(data.get("tags")),
                "organization_fields": dict(data.get("organization_fields") or {}),
                "_updated_ts": ts,
            }
            self.organizations[org_id] = org
            return org

    def update_organization(self, org_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        """Apply a partial update; `organization_fields` merge, `tags` and `domain_names` replace."""
        with self.lock:
            org = self._get(self.organizations, org_id)
            if "name" in data:
                name = (data["name"] or "").strip()
                if not name:
                    raise record_invalid("name", "Name: cannot be blank", "BlankValue")
                if any(
                    o["name"].lower() == name.lower() and o["id"] != org["id"]
                    for o in self.organizations.values()
                ):
                    raise record_invalid("name", "Name: has already been taken", "DuplicateValue")
                org["name"] = name
            if "group_id" in data:
                if data["group_id"] is not None:
                    self._get(self.groups, data["group_id"])
                org["group_id"] = as_int(data["group_id"])
            for key in ("shared_tickets", "shared_comments", "external_id", "details", "notes"):
                if key in data:
                    org[key] = data[key]
            if "domain_names" in data:
                org["domain_names"] = [str(d).lower() for d in data["domain_names"] or []]
            if "tags" in data:
                org["tags"] = normalise_tags(data["tags"])
            if "organization_fields" in data:
                org["organization_fields"].update(data["organization_fields"] or {})
            self._touch(org)
            return org

    def _organization_for_domain(self, domain: str) -> int | None:
        """Zendesk maps a new user to the organization that lists their e-mail domain."""
        domain = domain.lower()
        for org in self.organizations.values():
            if domain in org["domain_names"]:
                return int(org["id"])
        return None

    # -- groups --------------------------------------------------------------------------------------
    def create_group(self, data: dict[str, Any], *, at: float | None = None) -> dict[str, Any]:
        """Create a group; returns the stored record."""
        name = (data.get("name") or "").strip()
        if not name:
            raise record_invalid("name", "Name: cannot be blank", "BlankValue")
        ts = self.now() if at is None else at
        with self.lock:
            group_id = self.ids.next("groups")
            stamp = _iso(ts)
            group: dict[str, Any] = {
                "id": group_id,
                "name": name,
                "description": data.get("description") or "",
                "default": not self.groups,
                "deleted": False,
                "is_public": bool(data.get("is_public", True)),
                "created_at": stamp,
                "updated_at": stamp,
                "_updated_ts": ts,
            }
            self.groups[group_id] = group
            return group

    def update_group(self, group_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        """Rename or describe a group."""
        with self.lock:
            group = self._get(self.groups, group_id)
            if "name" in data:
                if not (data["name"] or "").strip():
                    raise record_invalid("name", "Name: cannot be blank", "BlankValue")
                group["name"] = data["name"].strip()
            for key in ("description", "is_public"):
                if key in data:
                    group[key] = data[key]
            self._touch(group)
            return group

    def group_by_name(self, name: str) -> dict[str, Any] | None:
        """Find a group by its exact name (case-insensitive)."""
        with self.lock:
            for group in self.groups.values():
                if group["name"].lower() == name.lower():
                    return group
        return None

    def _touch(self, record: dict[str, Any]) -> None:
        ts = self.now()
        record["_updated_ts"] = ts
        record["updated_at"] = _iso(ts)

    # -- views ---------------------------------------------------------------------------------------
    def user_view(self, user: dict[str, Any], base: str) -> dict[str, Any]:
        """The public JSON of a user."""
        return public(user, base, "users")

    def organization_view(self, org: dict[str, Any], base: str) -> dict[str, Any]:
        """The public JSON of an organization."""
        return public(org, base, "organizations")

    def group_view(self, group: dict[str, Any], base: str) -> dict[str, Any]:
        """The public JSON of a group."""
        return public(group, base, "groups")
