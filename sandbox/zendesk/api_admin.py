"""Search, SLA policies, incremental exports, triggers and webhooks."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from ..timeutil import parse_iso
from .errors import ApiError, invalid_request
from .pagination import paginate
from .search import sort_results
from .store import public
from .web import actor, api_route, base, json_body, member, state

bp = Blueprint("helpdesk_admin", __name__)
SEARCH_RESULT_LIMIT = 1000
EXPORT_PAGE = 1000


def _created(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = 201
    return response


# -- search -----------------------------------------------------------------------------------------
def _search_view(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    s = state()
    views = {
        "ticket": s.ticket_view,
        "user": s.user_view,
        "organization": s.organization_view,
        "group": s.group_view,
    }
    out = views[kind](record, base())
    out["result_type"] = kind
    return out


@api_route(bp, "/search")
def search() -> Any:
    """Search with Zendesk's query syntax; offset pagination, at most 1,000 results reachable."""
    s = state()
    query = request.args.get("query")
    if not query:
        raise invalid_request("Parameter query is required", "invalid")
    page = int(request.args.get("page", 1))
    per_page = min(100, int(request.args.get("per_page", 100)))
    if page * per_page > SEARCH_RESULT_LIMIT:
        raise ApiError(
            422,
            {
                "error": "invalid",
                "description": "Invalid search: Requested response size was "
                "greater than Search Response Limits",
            },
        )
    with s.lock:
        results = sort_results(s.search(query), request.args.get("sort_by"), request.args.get("sort_order"))
        chunk = results[(page - 1) * per_page : page * per_page]
        more = page * per_page < min(len(results), SEARCH_RESULT_LIMIT)
        args = {k: v for k, v in request.args.items() if k != "page"}
        return jsonify(
            {
                "results": [_search_view(kind, record) for kind, record in chunk],
                "facets": None,
                "next_page": f"{request.base_url}?{urlencode({**args, 'page': page + 1})}" if more else None,
                "previous_page": f"{request.base_url}?{urlencode({**args, 'page': page - 1})}"
                if page > 1
                else None,
                "count": len(results),
            }
        )


@api_route(bp, "/search/count")
def search_count() -> Any:
    """How many records a query matches."""
    query = request.args.get("query")
    if not query:
        raise invalid_request("Parameter query is required", "invalid")
    return jsonify({"count": len(state().search(query))})


# -- SLA policies -----------------------------------------------------------------------------------
@api_route(bp, "/slas/policies")
def list_sla_policies() -> Any:
    """SLA policies in position order."""
    s = state()
    with s.lock:
        policies = sorted(s.sla_policies.values(), key=lambda p: (p["position"], p["id"]))
        return jsonify(
            {
                "sla_policies": [public(p, base(), "slas/policies") for p in policies],
                "next_page": None,
                "previous_page": None,
                "count": len(policies),
            }
        )


@api_route(bp, "/slas/policies", methods=["POST"])
def create_sla_policy() -> Any:
    """Create an SLA policy."""
    s = state()
    policy = s.create_sla_policy(member(json_body(), "sla_policy"))
    with s.lock:
        return _created({"sla_policy": public(policy, base(), "slas/policies")})


@api_route(bp, "/slas/policies/<int:policy_id>")
def show_sla_policy(policy_id: int) -> Any:
    """Show one SLA policy."""
    s = state()
    with s.lock:
        return jsonify({"sla_policy": public(s._get(s.sla_policies, policy_id), base(), "slas/policies")})


@api_route(bp, "/slas/policies/<int:policy_id>", methods=["PUT"])
def update_sla_policy(policy_id: int) -> Any:
    """Update one SLA policy."""
    s = state()
    policy = s.update_sla_policy(policy_id, member(json_body(), "sla_policy"))
    with s.lock:
        return jsonify({"sla_policy": public(policy, base(), "slas/policies")})


@api_route(bp, "/slas/policies/<int:policy_id>", methods=["DELETE"])
def delete_sla_policy(policy_id: int) -> Any:
    """Delete one SLA policy."""
    state().delete_sla_policy(policy_id)
    return Response(status=204)


# -- incremental exports ----------------------------------------------------------------------------
def _start_time() -> int:
    raw = request.args.get("start_time")
    if raw is None or not raw.lstrip("-").isdigit():
        raise invalid_request("start_time is required and must be a Unix timestamp", "InvalidValue")
    return int(raw)


@api_route(bp, "/incremental/tickets/cursor")
def incremental_tickets_cursor() -> Any:
    """Tickets changed since `start_time` (or after `cursor`), deleted ones included."""
    s = state()
    per_page = min(EXPORT_PAGE, int(request.args.get("per_page", EXPORT_PAGE)))
    cursor = request.args.get("cursor")
    if cursor:
        try:
            ts_text, id_text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
            pivot = (float(ts_text), int(id_text))
        except ValueError:
            raise invalid_request("Invalid cursor", "InvalidValue") from None
    else:
        pivot = (float(_start_time()), 0)
    with s.lock:
        ordered = sorted(s.tickets.values(), key=lambda t: (t["_updated_ts"], t["id"]))
        if cursor:
            remaining = [t for t in ordered if (t["_updated_ts"], t["id"]) > pivot]
        else:
            remaining = [t for t in ordered if t["_updated_ts"] >= pivot[0]]
        chunk = remaining[:per_page]
        end = len(remaining) <= per_page
        last = chunk[-1] if chunk else None
        after = (
            base64.urlsafe_b64encode(f"{last['_updated_ts']!r}|{last['id']}".encode()).decode().rstrip("=")
            if last
            else cursor
        )
        return jsonify(
            {
                "tickets": [s.ticket_view(t, base()) for t in chunk],
                "after_cursor": after,
                "after_url": f"{request.base_url}?{urlencode({'cursor': after})}" if after else None,
                "before_cursor": None,
                "before_url": None,
                "end_of_stream": end,
            }
        )


def _time_based_export(key: str, table: dict[int, dict[str, Any]], view: Any) -> Any:
    s = state()
    start = _start_time()
    with s.lock:
        ordered = sorted(
            (r for r in table.values() if r["_updated_ts"] >= start),
            key=lambda r: (r["_updated_ts"], r["id"]),
        )
        chunk = ordered[:EXPORT_PAGE]
        end_time = int(chunk[-1]["_updated_ts"]) if chunk else start
        return jsonify(
            {
                key: [view(r, base()) for r in chunk],
                "count": len(chunk),
                "end_of_stream": len(ordered) <= EXPORT_PAGE,
                "end_time": end_time,
                "next_page": f"{request.base_url}?{urlencode({'start_time': end_time})}",
            }
        )


def _export_child(event: dict[str, Any], channel: str, with_comments: bool) -> dict[str, Any] | None:
    """One audit event as the ticket event export lists it: comments whole with the `comment_events` sideload,
    otherwise only flagged (`comment_present`, `comment_public`), as Zendesk documents."""
    if event.get("type") == "Comment":
        if not with_comments:
            return {"id": event["id"], "via": channel, "via_reference_id": None, "event_type": "Comment",
                    "comment_present": True, "comment_public": event["public"]}
        return {**event, "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
                "via_reference_id": None, "event_type": "Comment"}
    if event.get("type") in ("Create", "Change"):
        child = {key: value for key, value in event.items() if key != "type"}
        return {**child, "via": channel, "via_reference_id": None, "event_type": event["type"]}
    return None


@api_route(bp, "/incremental/ticket_events")
def incremental_ticket_events() -> Any:
    """Every ticket update (audit) since `start_time`, oldest first, with its `child_events`; comments whole with
    `include=comment_events`. Time-based: `end_time` is the next `start_time`; events of the last
    `ticket_events_delay_seconds` (Zendesk: one minute) are left for a later request."""
    s = state()
    start = _start_time()
    with_comments = "comment_events" in (request.args.get("include") or "").split(",")
    with s.lock:
        until = s.clock() - float(s.options["ticket_events_delay_seconds"])
        audits = []
        for ticket_audits in s.audits.values():
            for audit in ticket_audits:
                ts = parse_iso(audit["created_at"])
                if start <= ts <= until:
                    audits.append((ts, audit))
        audits.sort(key=lambda pair: (pair[0], pair[1]["id"]))
        chunk = audits[:EXPORT_PAGE]
        events = []
        for ts, audit in chunk:
            channel = audit["via"]["channel"]
            children = [c for c in (_export_child(e, channel, with_comments) for e in audit["events"]) if c]
            events.append({
                "id": audit["id"], "ticket_id": audit["ticket_id"], "timestamp": int(ts),
                "created_at": audit["created_at"], "updater_id": audit["author_id"], "via": channel,
                "system": audit["metadata"]["system"], "metadata": audit["metadata"], "event_type": "Audit",
                "child_events": children, "merged_ticket_ids": [],
            })
        end_time = int(chunk[-1][0]) if chunk else start
        return jsonify({
            "ticket_events": events,
            "count": len(events),
            "end_of_stream": len(audits) < EXPORT_PAGE,
            "end_time": end_time,
            "next_page": f"{request.base_url}?{urlencode({'start_time': end_time})}",
        })


@api_route(bp, "/incremental/users")
def incremental_users() -> Any:
    """Users changed since `start_time` (time-based export)."""
    return _time_based_export("users", state().users, state().user_view)


@api_route(bp, "/incremental/organizations")
def incremental_organizations() -> Any:
    """Organizations changed since `start_time` (time-based export)."""
    return _time_based_export("organizations", state().organizations, state().organization_view)


# -- triggers ---------------------------------------------------------------------------------------
@api_route(bp, "/triggers")
def list_triggers() -> Any:
    """Triggers in position order; `active=true|false` filters."""
    s = state()
    active = request.args.get("active")
    with s.lock:
        triggers = sorted(s.triggers.values(), key=lambda t: (t["position"], t["id"]))
        if active is not None:
            triggers = [t for t in triggers if t["active"] == (active == "true")]
        return jsonify(paginate(triggers, "triggers", lambda t: public(t, base(), "triggers")))


@api_route(bp, "/triggers", methods=["POST"])
def create_trigger() -> Any:
    """Create a trigger."""
    s = state()
    trigger = s.create_trigger(member(json_body(), "trigger"))
    with s.lock:
        return _created({"trigger": public(trigger, base(), "triggers")})


@api_route(bp, "/triggers/<int:trigger_id>")
def show_trigger(trigger_id: int) -> Any:
    """Show one trigger."""
    s = state()
    with s.lock:
        return jsonify({"trigger": public(s._get(s.triggers, trigger_id), base(), "triggers")})


@api_route(bp, "/triggers/<int:trigger_id>", methods=["PUT"])
def update_trigger(trigger_id: int) -> Any:
    """Update one trigger."""
    s = state()
    trigger = s.update_trigger(trigger_id, member(json_body(), "trigger"))
    with s.lock:
        return jsonify({"trigger": public(trigger, base(), "triggers")})


@api_route(bp, "/triggers/<int:trigger_id>", methods=["DELETE"])
def delete_trigger(trigger_id: int) -> Any:
    """Delete one trigger."""
    state().delete_trigger(trigger_id)
    return Response(status=204)


# -- webhooks ---------------------------------------------------------------------------------------
@api_route(bp, "/webhooks")
def list_webhooks() -> Any:
    """List webhooks (the Webhooks API pages by cursor)."""
    s = state()
    with s.lock:
        hooks = [s.webhook_view(w) for w in s.webhooks.values()]
        return jsonify(
            {
                "webhooks": hooks,
                "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
                "links": {"next": None, "prev": None},
            }
        )


@api_route(bp, "/webhooks", methods=["POST"])
def create_webhook() -> Any:
    """Create a webhook."""
    s = state()
    webhook = s.create_webhook(member(json_body(), "webhook"), created_by=actor())
    with s.lock:
        return _created({"webhook": s.webhook_view(webhook)})


@api_route(bp, "/webhooks/<webhook_id>")
def show_webhook(webhook_id: str) -> Any:
    """Show one webhook."""
    s = state()
    with s.lock:
        return jsonify({"webhook": s.webhook_view(s.get_webhook(webhook_id))})


@api_route(bp, "/webhooks/<webhook_id>", methods=["PUT", "PATCH"])
def update_webhook(webhook_id: str) -> Any:
    """PUT replaces a webhook's settings, PATCH changes some; both answer 204."""
    state().update_webhook(webhook_id, member(json_body(), "webhook"), patch=request.method == "PATCH")
    return Response(status=204)


@api_route(bp, "/webhooks/<webhook_id>", methods=["DELETE"])
def delete_webhook(webhook_id: str) -> Any:
    """Delete one webhook."""
    state().delete_webhook(webhook_id)
    return Response(status=204)


@api_route(bp, "/webhooks/<webhook_id>/signing_secret")
def webhook_signing_secret(webhook_id: str) -> Any:
    """The webhook's signing secret."""
    return jsonify({"signing_secret": {"secret": state().webhook_secret(webhook_id), "algorithm": "SHA256"}})
