"""Agent workspace (ticket list, ticket view hosting the sidebar app) and a help-center page.

Plain HTML and JavaScript, no build step. The ticket view implements the host side of the ZAF postMessage
protocol (see static/zaf_host.js); `/agent/proxy` performs `client.request` calls to other origins the way
Zendesk's proxy does, filling `{{setting.x}}` and `{{jwt.token}}` placeholders.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from .errors import ApiError
from .store import clone
from .web import state

bp = Blueprint(
    "helpdesk_workspace",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/agent/static",
)
JWT_PLACEHOLDER = re.compile(r"\{\{\s*jwt\.token\s*\}\}")
SETTING = re.compile(r"\{\{\s*setting\.(\w+)\s*\}\}")


def _viewer() -> dict[str, Any]:
    """The agent the workspace is used as (`?as=<user id>`, default the admin).

    Deskmate takes the group, priority and tag changes of the user its API token acts as for echoes of its own
    updates. `make run` gives it a user of its own ("Deskmate"), so the admin's moves are handled as a person's;
    where a test lets Deskmate act as the admin, pick an agent (`?as=`, or the switcher) to see a manual move.
    """
    s = state()
    user_id = request.args.get("as", type=int) or s.admin_id
    user = s.users.get(user_id)
    if user is None or user["role"] == "end-user":
        abort(404)
    return user


def zaf_ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    """The ticket as ZAF's `get('ticket')` describes it (camelCase, nested people)."""
    s = state()

    def person(user_id: int | None) -> dict[str, Any] | None:
        user = s.users.get(user_id) if user_id else None
        if not user:
            return None
        return {
            "id": user["id"],
            "name": user["name"],
            "email": user["email"],
            "role": user["role"],
            "locale": user["locale"],
            "tags": list(user["tags"]),
            "externalId": user["external_id"],
            "organizations": [_zaf_org(user["organization_id"])] if user["organization_id"] else [],
        }

    group = s.groups.get(ticket["group_id"] or 0)
    return {
        "id": ticket["id"],
        "subject": ticket["subject"],
        "description": ticket["description"],
        "status": ticket["status"],
        "priority": ticket["priority"],
        "type": ticket["type"],
        "tags": list(ticket["tags"]),
        "externalId": ticket["external_id"],
        "createdAt": ticket["created_at"],
        "updatedAt": ticket["updated_at"],
        "via": {"channel": ticket["via"]["channel"], "source": clone(ticket["via"]["source"])},
        "requester": person(ticket["requester_id"]),
        "organization": _zaf_org(ticket["organization_id"]),
        "assignee": {
            "user": person(ticket["assignee_id"]),
            "group": {"id": group["id"], "name": group["name"]} if group else None,
        },
        "brand": {"id": ticket["brand_id"]},
        "form": {"id": ticket["ticket_form_id"]},
        "customFields": [{"id": f["id"], "value": f["value"]} for f in ticket["custom_fields"]],
    }


def _zaf_org(org_id: int | None) -> dict[str, Any] | None:
    org = state().organizations.get(org_id or 0)
    if not org:
        return None
    return {
        "id": org["id"],
        "name": org["name"],
        "tags": list(org["tags"]),
        "domains": " ".join(org["domain_names"]),
        "organizationFields": dict(org["organization_fields"]),
        "externalId": org["external_id"],
    }


@bp.get("/agent/")
def ticket_list() -> Any:
    """All tickets, newest first; `?status=` filters."""
    s = state()
    viewer = _viewer()
    wanted = request.args.get("status")
    with s.lock:
        tickets = [
            t for t in s.tickets.values() if not t["_deleted"] and (not wanted or t["status"] == wanted)
        ]
        tickets.sort(key=lambda t: t["_updated_ts"], reverse=True)
        rows = [
            {
                "ticket": t,
                "requester": s.users.get(t["requester_id"]),
                "organization": s.organizations.get(t["organization_id"] or 0),
                "group": s.groups.get(t["group_id"] or 0),
                "assignee": s.users.get(t["assignee_id"] or 0),
            }
            for t in tickets[:500]
        ]
        counts: dict[str, int] = {}
        for ticket in s.tickets.values():
            counts[ticket["status"]] = counts.get(ticket["status"], 0) + 1
    return render_template(
        "agent_list.html",
        rows=rows,
        counts=counts,
        wanted=wanted,
        viewer=viewer,
        agents=s.agents(),
        slack_url=s.options.get("slack_url"),
        total=len(tickets),
    )


@bp.get("/agent/tickets/<int:ticket_id>")
def ticket_view(ticket_id: int) -> Any:
    """One ticket with its conversation and the sidebar app iframe (signed-URL POST when configured)."""
    s = state()
    viewer = _viewer()
    origin = request.host_url.rstrip("/")
    with s.lock:
        ticket = s.tickets.get(ticket_id)
        if ticket is None or ticket["_deleted"]:
            abort(404)
        comments = [{"comment": c, "author": s.users.get(c["author_id"])} for c in s.comments[ticket_id]]
        data = {
            "ticket": zaf_ticket(ticket),
            "currentUser": {
                "id": viewer["id"],
                "name": viewer["name"],
                "email": viewer["email"],
                "role": viewer["role"],
                "locale": viewer["locale"],
                "timeZone": viewer["time_zone"],
                "groups": [
                    g
                    for g in (
                        [s.groups[viewer["default_group_id"]]]
                        if viewer["default_group_id"] in s.groups
                        else []
                    )
                ],
            },
            "currentAccount": {"subdomain": s.subdomain, "planName": "enterprise"},
        }
        sidebar = s.sidebar_installation()
        app_view = None
        if sidebar is not None:
            app, installation = sidebar
            app_guid = str(uuid.uuid4())
            url = s.sidebar_url(app, installation)
            src = url + ("&" if "?" in url else "?") + urlencode({"origin": origin, "app_guid": app_guid})
            app_view = {
                "src": src,
                "guid": app_guid,
                "signed": bool(app["signed_urls"]),
                "token": s.sidebar_token(installation, ticket_id, viewer["id"])
                if app["signed_urls"]
                else None,
                "metadata": {
                    "appId": app["id"],
                    "installationId": installation["id"],
                    "name": app["name"],
                    "version": app["version"],
                    "settings": dict(installation["settings"]),
                },
            }
    return render_template(
        "agent_ticket.html",
        ticket=ticket,
        comments=comments,
        viewer=viewer,
        app=app_view,
        zaf_data=data,
        group=s.groups.get(ticket["group_id"] or 0),
        requester=s.users.get(ticket["requester_id"]),
        organization=s.organizations.get(ticket["organization_id"] or 0),
        assignee=s.users.get(ticket["assignee_id"] or 0),
        api_token=sorted(s.oauth_tokens)[0],
        slack_url=s.options.get("slack_url"),
        agents=s.agents(),
        origin=origin,
    )


@bp.post("/agent/tickets/<int:ticket_id>/reply")
def reply(ticket_id: int) -> Any:
    """The workspace's reply box: a public reply or internal note as the viewing agent."""
    s = state()
    viewer = _viewer()
    body = (request.form.get("body") or "").strip()
    changes: dict[str, Any] = {}
    if body:
        changes["comment"] = {
            "body": body,
            "public": request.form.get("public") == "1",
            "author_id": viewer["id"],
        }
    if request.form.get("status"):
        changes["status"] = request.form["status"]
    if changes:
        try:
            s.update_ticket(ticket_id, changes, actor_id=viewer["id"])
        except ApiError as exc:
            return jsonify(exc.body), exc.status
    return redirect(url_for("helpdesk_workspace.ticket_view", ticket_id=ticket_id, **{"as": viewer["id"]}))


@bp.post("/agent/proxy")
def proxy() -> Any:
    """Zendesk's request proxy for `client.request` to other origins: settings and JWT placeholders."""
    s = state()
    body = request.get_json(silent=True) or {}
    options = body.get("options") or {}
    try:
        installation = s.get_installation(body.get("installation_id"))
    except ApiError:
        return jsonify({"status": 0, "responseText": "unknown installation"}), 400
    settings = installation["settings"]

    def fill(text: str) -> str:
        return SETTING.sub(lambda m: str(settings.get(m.group(1), "")), text)

    url = fill(str(options.get("url") or ""))
    headers = {str(k): fill(str(v)) for k, v in (options.get("headers") or {}).items()}
    token = None
    if isinstance(options.get("jwt"), dict):
        spec = options["jwt"]
        now = int(time.time())
        claims = {"iat": now, "exp": now + int(spec.get("expiry", 3600)), **(spec.get("claims") or {})}
        token = jwt.encode(
            claims, fill(str(spec.get("secret_key", ""))), algorithm=spec.get("algorithm", "HS256")
        )
        headers = {k: JWT_PLACEHOLDER.sub(token, v) for k, v in headers.items()}
    data = options.get("data")
    if isinstance(data, dict | list):
        data = json.dumps(data)
    if options.get("contentType"):
        headers.setdefault("Content-Type", str(options["contentType"]))
    try:
        answer = requests.request(
            str(options.get("type") or "GET").upper(),
            url,
            headers=headers,
            data=fill(data) if isinstance(data, str) else data,
            timeout=15,
        )
    except requests.RequestException as exc:
        return jsonify({"status": 0, "responseText": f"{type(exc).__name__}: {exc}"})
    return jsonify(
        {
            "status": answer.status_code,
            "responseText": answer.text,
            "contentType": answer.headers.get("Content-Type", ""),
        }
    )


@bp.get("/hc/")
def help_center() -> Any:
    """A help-center-like page carrying Deskmate's breaking-news script tag and a request form."""
    s = state()
    forms = [f for f in s.ticket_forms.values() if f["end_user_visible"]]
    return render_template(
        "hc.html", widget_url=s.options.get("widget_url"), forms=forms, created=request.args.get("created")
    )


@bp.post("/hc/requests")
def submit_request() -> Any:
    """The help-center request form: creates a web ticket as the (possibly new) end user."""
    s = state()
    email = (request.form.get("email") or "").strip()
    body = (request.form.get("description") or "").strip()
    if not email or not body:
        return redirect(url_for("helpdesk_workspace.help_center", error="missing"))
    user = s.user_by_email(email) or s.create_user({"name": email.split("@")[0], "email": email})
    ticket = s.create_ticket(
        {
            "subject": request.form.get("subject") or None,
            "comment": {"body": body},
            "requester_id": user["id"],
            "ticket_form_id": request.form.get("ticket_form_id"),
        },
        actor_id=user["id"],
        channel="web",
    )
    return redirect(url_for("helpdesk_workspace.help_center", created=ticket["id"]))


@bp.get("/")
def home() -> Any:
    """The workspace."""
    return redirect(url_for("helpdesk_workspace.ticket_list"))
