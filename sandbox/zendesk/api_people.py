"""Users, organizations and groups API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .errors import invalid_request, record_not_found
from .pagination import id_list, paginate
from .web import actor, api_route, base, json_body, member, state

bp = Blueprint("helpdesk_people", __name__)


def _created(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = 201
    return response


# -- users ------------------------------------------------------------------------------------------
@api_route(bp, "/users")
def list_users() -> Any:
    """List users; `role` or `role[]` filter."""
    s = state()
    roles = request.args.getlist("role[]") or request.args.getlist("role")
    with s.lock:
        users = [u for u in s.users.values() if not roles or u["role"] in roles]
        return jsonify(paginate(users, "users", lambda u: s.user_view(u, base())))


@api_route(bp, "/users", methods=["POST"])
def create_user() -> Any:
    """Create a user."""
    s = state()
    user = s.create_user(member(json_body(), "user"))
    with s.lock:
        return _created({"user": s.user_view(user, base())})


@api_route(bp, "/users/create_or_update", methods=["POST"])
def create_or_update_user() -> Any:
    """Update the user with this email or external_id, or create one."""
    s = state()
    data = member(json_body(), "user")
    with s.lock:
        existing = s.user_by_email(data["email"]) if data.get("email") else None
        if existing is None and data.get("external_id"):
            existing = next(
                (u for u in s.users.values() if u.get("external_id") == data["external_id"]), None
            )
        if existing is not None:
            return jsonify({"user": s.user_view(s.update_user(existing["id"], data), base())})
        return _created({"user": s.user_view(s.create_user(data), base())})


@api_route(bp, "/users/<int:user_id>")
def show_user(user_id: int) -> Any:
    """Show one user."""
    s = state()
    with s.lock:
        return jsonify({"user": s.user_view(s._get(s.users, user_id), base())})


@api_route(bp, "/users/<int:user_id>", methods=["PUT"])
def update_user(user_id: int) -> Any:
    """Update one user."""
    s = state()
    user = s.update_user(user_id, member(json_body(), "user"))
    with s.lock:
        return jsonify({"user": s.user_view(user, base())})


@api_route(bp, "/users/me")
def me() -> Any:
    """The authenticated user."""
    s = state()
    with s.lock:
        user = s.user_view(s.users[actor()], base())
        user["authenticity_token"] = "sandbox-authenticity-token"
        return jsonify({"user": user})


@api_route(bp, "/users/show_many")
def show_many_users() -> Any:
    """Several users by `ids` or `external_ids`."""
    s = state()
    with s.lock:
        if request.args.get("external_ids"):
            wanted = set(request.args["external_ids"].split(","))
            users = [u for u in s.users.values() if u.get("external_id") in wanted]
        else:
            users = [s.users[i] for i in id_list(request.args.get("ids")) if i in s.users]
        return jsonify(
            {
                "users": [s.user_view(u, base()) for u in users],
                "next_page": None,
                "previous_page": None,
                "count": len(users),
            }
        )


@api_route(bp, "/users/search")
def search_users() -> Any:
    """Find users by `query` (email, or part of a name) or `external_id`."""
    s = state()
    query = (request.args.get("query") or "").strip()
    external_id = request.args.get("external_id")
    if not query and not external_id:
        raise invalid_request("query or external_id is required", "InvalidParameter")
    with s.lock:
        if external_id:
            users = [u for u in s.users.values() if u.get("external_id") == external_id]
        else:
            if query.startswith("email:"):
                query = query[6:]
            low = query.lower()
            users = [
                u
                for u in s.users.values()
                if (u.get("email") or "").lower() == low or ("@" not in low and low in u["name"].lower())
            ]
        return jsonify(paginate(users, "users", lambda u: s.user_view(u, base())))


@api_route(bp, "/users/<int:user_id>/tickets/requested")
def requested_tickets(user_id: int) -> Any:
    """Tickets the user requested."""
    return _user_tickets(user_id, "requester_id")


@api_route(bp, "/users/<int:user_id>/tickets/assigned")
def assigned_tickets(user_id: int) -> Any:
    """Tickets assigned to the user."""
    return _user_tickets(user_id, "assignee_id")


def _user_tickets(user_id: int, field: str) -> Any:
    s = state()
    with s.lock:
        s._get(s.users, user_id)
        tickets = [t for t in s.tickets.values() if t[field] == user_id and not t["_deleted"]]
        return jsonify(paginate(tickets, "tickets", lambda t: s.ticket_view(t, base())))


# -- organizations ----------------------------------------------------------------------------------
@api_route(bp, "/organizations")
def list_organizations() -> Any:
    """List organizations."""
    s = state()
    with s.lock:
        return jsonify(
            paginate(
                list(s.organizations.values()), "organizations", lambda o: s.organization_view(o, base())
            )
        )


@api_route(bp, "/organizations", methods=["POST"])
def create_organization() -> Any:
    """Create an organization."""
    s = state()
    org = s.create_organization(member(json_body(), "organization"))
    with s.lock:
        return _created({"organization": s.organization_view(org, base())})


@api_route(bp, "/organizations/<int:org_id>")
def show_organization(org_id: int) -> Any:
    """Show one organization."""
    s = state()
    with s.lock:
        return jsonify({"organization": s.organization_view(s._get(s.organizations, org_id), base())})


@api_route(bp, "/organizations/<int:org_id>", methods=["PUT"])
def update_organization(org_id: int) -> Any:
    """Update one organization."""
    s = state()
    org = s.update_organization(org_id, member(json_body(), "organization"))
    with s.lock:
        return jsonify({"organization": s.organization_view(org, base())})


@api_route(bp, "/organizations/show_many")
def show_many_organizations() -> Any:
    """Several organizations by `ids` or `external_ids`."""
    s = state()
    with s.lock:
        if request.args.get("external_ids"):
            wanted = set(request.args["external_ids"].split(","))
            orgs = [o for o in s.organizations.values() if o.get("external_id") in wanted]
        else:
            orgs = [s.organizations[i] for i in id_list(request.args.get("ids")) if i in s.organizations]
        return jsonify(
            {
                "organizations": [s.organization_view(o, base()) for o in orgs],
                "next_page": None,
                "previous_page": None,
                "count": len(orgs),
            }
        )


@api_route(bp, "/organizations/search")
def search_organizations() -> Any:
    """Find organizations by exact `name` or `external_id`."""
    s = state()
    name, external_id = request.args.get("name"), request.args.get("external_id")
    with s.lock:
        orgs = [
            o
            for o in s.organizations.values()
            if (name and o["name"].lower() == name.lower())
            or (external_id and o["external_id"] == external_id)
        ]
        return jsonify(
            {
                "organizations": [s.organization_view(o, base()) for o in orgs],
                "count": len(orgs),
                "next_page": None,
                "previous_page": None,
            }
        )


@api_route(bp, "/organizations/<int:org_id>/tickets")
def organization_tickets(org_id: int) -> Any:
    """Tickets of an organization."""
    s = state()
    with s.lock:
        s._get(s.organizations, org_id)
        tickets = [t for t in s.tickets.values() if t["organization_id"] == org_id and not t["_deleted"]]
        return jsonify(paginate(tickets, "tickets", lambda t: s.ticket_view(t, base())))


@api_route(bp, "/organizations/<int:org_id>/users")
def organization_users(org_id: int) -> Any:
    """Users of an organization."""
    s = state()
    with s.lock:
        s._get(s.organizations, org_id)
        users = [u for u in s.users.values() if u["organization_id"] == org_id]
        return jsonify(paginate(users, "users", lambda u: s.user_view(u, base())))


# -- groups -----------------------------------------------------------------------------------------
@api_route(bp, "/groups")
def list_groups() -> Any:
    """List groups that are not deleted."""
    s = state()
    with s.lock:
        groups = [g for g in s.groups.values() if not g["deleted"]]
        return jsonify(paginate(groups, "groups", lambda g: s.group_view(g, base())))


@api_route(bp, "/groups", methods=["POST"])
def create_group() -> Any:
    """Create a group."""
    s = state()
    group = s.create_group(member(json_body(), "group"))
    with s.lock:
        return _created({"group": s.group_view(group, base())})


@api_route(bp, "/groups/<int:group_id>")
def show_group(group_id: int) -> Any:
    """Show one group."""
    s = state()
    with s.lock:
        return jsonify({"group": s.group_view(s._get(s.groups, group_id), base())})


@api_route(bp, "/groups/<int:group_id>", methods=["PUT"])
def update_group(group_id: int) -> Any:
    """Update one group."""
    s = state()
    group = s.update_group(group_id, member(json_body(), "group"))
    with s.lock:
        return jsonify({"group": s.group_view(group, base())})


@api_route(bp, "/groups/<int:group_id>", methods=["DELETE"])
def delete_group(group_id: int) -> Any:
    """Mark a group deleted."""
    s = state()
    with s.lock:
        group = s._get(s.groups, group_id)
        if group["deleted"]:
            raise record_not_found()
        group["deleted"] = True
    return Response(status=204)


# -- group memberships ----------------------------------------------------------------------------------
# An agent belongs to its default group, plus any membership created through the API. Memberships are derived
# from the users on every read (the seed never stores them), so the two can never disagree.
def _memberships() -> list[dict[str, Any]]:
    s = state()
    found = []
    for user in s.users.values():
        if user["role"] in ("agent", "admin") and user.get("default_group_id") in s.groups:
            found.append({"id": user["id"] * 1000 + 1, "user_id": user["id"], "group_id": user["default_group_id"],
                          "default": True, "created_at": user["created_at"], "updated_at": user["updated_at"]})
    found.extend(s.extra_memberships)
    return found


def _membership_view(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "url": f"{base()}/api/v2/group_memberships/{item['id']}.json"}


@api_route(bp, "/group_memberships")
def list_group_memberships() -> Any:
    """Memberships, filtered by `user_id` and/or `group_id` query parameters."""
    s = state()
    user_id, group_id = request.args.get("user_id", type=int), request.args.get("group_id", type=int)
    with s.lock:
        found = [item for item in _memberships() if (user_id is None or item["user_id"] == user_id)
                 and (group_id is None or item["group_id"] == group_id)]
        return jsonify(paginate(found, "group_memberships", _membership_view))


@api_route(bp, "/users/<int:user_id>/group_memberships")
def user_group_memberships(user_id: int) -> Any:
    """One agent's memberships."""
    s = state()
    with s.lock:
        s._get(s.users, user_id)
        found = [item for item in _memberships() if item["user_id"] == user_id]
        return jsonify(paginate(found, "group_memberships", _membership_view))


@api_route(bp, "/group_memberships", methods=["POST"])
def create_group_membership() -> Any:
    """Put an agent in a group (`{"group_membership": {"user_id", "group_id"}}`)."""
    s = state()
    data = member(json_body(), "group_membership")
    with s.lock:
        user = s._get(s.users, data.get("user_id"))
        group = s._get(s.groups, data.get("group_id"))
        if user["role"] not in ("agent", "admin"):
            raise invalid_request("only agents can be members of groups")
        if any(item["user_id"] == user["id"] and item["group_id"] == group["id"] for item in _memberships()):
            raise invalid_request("the agent is already a member of this group")
        stamp = user["updated_at"]
        item = {"id": user["id"] * 1000 + 2 + len(s.extra_memberships), "user_id": user["id"], "group_id": group["id"],
                "default": False, "created_at": stamp, "updated_at": stamp}
        s.extra_memberships.append(item)
        return _created({"group_membership": _membership_view(item)})
