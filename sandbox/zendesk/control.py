"""`/__sandbox/...`: unmetered control endpoints for tests, benchmarks and `make run`.

None of these count against the API rate limit or appear in the API stats. Ticket and comment creation here
models *end users* (web form, e-mail) and agents working in the UI, so it does fire webhooks.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from .errors import invalid_request, record_invalid
from .state import HelpdeskState
from .store import as_int
from .web import json_body, state

bp = Blueprint("helpdesk_control", __name__, url_prefix="/__sandbox")
CONFIGURABLE = (
    "rate_limit",
    "job_delay",
    "search_lag_seconds",
    "widget_url",
    "slack_url",
    "delivery_retries",
    "delivery_backoff",
    "delivery_timeout",
)


def _user_from(data: dict[str, Any], id_key: str, email_key: str) -> int | None:
    s = state()
    if data.get(id_key) is not None:
        user_id = as_int(data[id_key])
        if user_id not in s.users:
            raise record_invalid(id_key, f"{id_key}: is invalid")
        return user_id
    if data.get(email_key):
        user = s.user_by_email(data[email_key])
        if user is None:
            user = s.create_user(
                {"name": data.get("name") or data[email_key].split("@")[0], "email": data[email_key]}
            )
        return int(user["id"])
    return None


@bp.post("/tickets")
def end_user_ticket() -> Any:
    """Create a ticket as its requester would (web form or e-mail); fires webhooks, costs no API quota."""
    s = state()
    data = json_body()
    requester_id = _user_from(data, "requester_id", "requester_email")
    if requester_id is None:
        raise invalid_request("requester_id or requester_email is required")
    channel = data.get("via", "web")
    if channel not in ("web", "email", "api"):
        raise invalid_request("via must be web, email or api")
    ticket = {
        k: v
        for k, v in data.items()
        if k
        in (
            "subject",
            "tags",
            "custom_fields",
            "ticket_form_id",
            "brand_id",
            "priority",
            "type",
            "external_id",
        )
    }
    body = data.get("body") or data.get("comment")
    ticket["comment"] = {"body": body, "public": True, "author_id": requester_id}
    ticket["requester_id"] = requester_id
    created = s.create_ticket(ticket, actor_id=requester_id, channel=channel)
    response = jsonify({"ticket": created})
    response.status_code = 201
    return response


@bp.post("/tickets/<int:ticket_id>/comments")
def ui_comment(ticket_id: int) -> Any:
    """Add a comment as an agent (public reply or internal note) or as the requester."""
    s = state()
    data = json_body()
    author_id = _user_from(data, "author_id", "author_email")
    if author_id is None:
        raise invalid_request("author_id or author_email is required")
    if not data.get("body"):
        raise invalid_request("body is required")
    comment = s.add_comment(
        ticket_id,
        data["body"],
        author_id=author_id,
        public=bool(data.get("public", True)),
        status=data.get("status"),
    )
    response = jsonify({"comment": comment, "ticket": s.get_ticket(ticket_id)})
    response.status_code = 201
    return response


@bp.get("/state")
def summary() -> Any:
    """Counts of everything in the account."""
    return jsonify(state().summary())


@bp.post("/reset")
def reset() -> Any:
    """Empty the account (settings stay); `{"seed": true}` seeds it again."""
    s = state()
    s.reset()
    if json_body().get("seed"):
        from ..seed import seed_helpdesk

        seed_helpdesk(s)
    return jsonify(s.summary())


@bp.post("/seed")
def seed() -> Any:
    """Load the sample account (organizations, users, agents, groups, ~300 tickets)."""
    from ..seed import seed_helpdesk

    facts = seed_helpdesk(state())
    return jsonify(facts)


@bp.get("/facts")
def facts() -> Any:
    """Organizations (with tags, domains, tier), groups, agents and counts of the account."""
    from ..seed import seed_facts  # imported here: sandbox.seed imports this package

    return jsonify(seed_facts(state()))


@bp.get("/stats")
def stats() -> Any:
    """API call counts per endpoint, 429s served, injected faults, calls per ticket."""
    return jsonify(state().stats.snapshot())


@bp.post("/stats/reset")
def stats_reset() -> Any:
    """Zero the API counters."""
    state().stats.reset()
    return jsonify(state().stats.snapshot())


@bp.get("/deliveries")
def deliveries() -> Any:
    """Recorded webhook delivery attempts; filter with `webhook_id`, `ticket_id`, `event_type`."""
    s = state()
    if request.args.get("breakers_only"):  # the breakers alone, without every recorded attempt
        return jsonify({"pending": s.dispatcher.pending, "breakers": s.dispatcher.breakers()})
    records = s.deliveries()
    for key in ("webhook_id", "event_type", "invocation_id"):
        if request.args.get(key):
            records = [r for r in records if r[key] == request.args[key]]
    if request.args.get("ticket_id"):
        records = [r for r in records if str(r["ticket_id"]) == request.args["ticket_id"]]
    return jsonify({"deliveries": records, "count": len(records), "pending": s.dispatcher.pending,
                    "breakers": s.dispatcher.breakers()})


@bp.delete("/deliveries")
def clear_deliveries() -> Any:
    """Forget recorded delivery attempts."""
    state().dispatcher.clear()
    return jsonify({"count": 0})


@bp.post("/deliveries/flush")
def flush_deliveries() -> Any:
    """Block until queued deliveries (with retries) finish, up to `timeout` seconds (default 10)."""
    s = state()
    timeout = float(request.args.get("timeout") or json_body().get("timeout") or 10)
    flushed = s.wait_for_deliveries(timeout)
    return jsonify({"flushed": flushed, "pending": s.dispatcher.pending}), (200 if flushed else 504)


@bp.post("/jobs/wait")
def wait_jobs() -> Any:
    """Block until every bulk job has completed, up to `timeout` seconds."""
    done = state().wait_for_jobs(float(request.args.get("timeout") or 10))
    return jsonify({"idle": done}), (200 if done else 504)


@bp.get("/faults")
def get_faults() -> Any:
    """Current fault settings."""
    return jsonify(state().faults.snapshot())


@bp.post("/faults")
def set_faults() -> Any:
    """Inject faults: latency_ms, latency_paths, storm_seconds, error_seconds, error_status, drop_share,
    duplicate_webhooks."""
    try:
        return jsonify(state().faults.set_from_json(json_body()))
    except (TypeError, ValueError) as exc:
        raise invalid_request(str(exc), "InvalidFault") from None


@bp.delete("/faults")
def clear_faults() -> Any:
    """Remove every fault."""
    state().faults.clear()
    return jsonify(state().faults.snapshot())


@bp.get("/config")
def get_config() -> Any:
    """Settings that can change at run time."""
    s = state()
    return jsonify({k: s.options[k] for k in CONFIGURABLE})


@bp.post("/config")
def set_config() -> Any:
    """Change run-time settings, e.g. `{"rate_limit": 50, "job_delay": 0}`."""
    s = state()
    data = json_body()
    unknown = set(data) - set(CONFIGURABLE)
    if unknown:
        raise invalid_request(f"unknown settings {sorted(unknown)}; allowed: {list(CONFIGURABLE)}")
    apply_config(s, data)
    return jsonify({k: s.options[k] for k in CONFIGURABLE})


def apply_config(s: HelpdeskState, data: dict[str, Any]) -> None:
    """Apply run-time settings to a state."""
    if "rate_limit" in data:
        limit = data["rate_limit"]
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise invalid_request("rate_limit must be a whole number of requests a minute, at least 1")
        s.set_rate_limit(limit)
    for key in ("search_lag_seconds", "widget_url", "slack_url"):
        if key in data:
            s.options[key] = data[key]
    if "job_delay" in data:
        s.options["job_delay"] = s.jobs.delay = float(data["job_delay"])
    for key, attr in (
        ("delivery_retries", "retries"),
        ("delivery_backoff", "backoff"),
        ("delivery_timeout", "timeout"),
    ):
        if key in data:
            s.options[key] = data[key]
            setattr(s.dispatcher, attr, type(getattr(s.dispatcher, attr))(data[key]))


@bp.post("/apps")
def configure_app() -> Any:
    """Point the workspace's ticket sidebar at an app URL: `{"sidebar_url", "signed_urls", "settings"}`."""
    s = state()
    data = json_body()
    if not data.get("sidebar_url"):
        raise invalid_request("sidebar_url is required")
    installation = s.configure_sidebar_app(
        data["sidebar_url"],
        signed_urls=bool(data.get("signed_urls", True)),
        name=data.get("name", "Deskmate"),
        settings=data.get("settings"),
    )
    return jsonify({"installation": installation, "app": s.apps[installation["app_id"]]})


@bp.get("/tickets")
def ticket_dump() -> Any:
    """Every ticket with what benchmarks check (unmetered): group, tags, comments and who changed what.

    `since_id` skips older tickets. Each ticket lists its `changes` (field, value, author, time, audit custom
    metadata) and its `comments` (author, public, first 200 characters, metadata key), so that a benchmark
    can count how often Deskmate routed a ticket or told a requester without spending API quota.
    """
    s = state()
    since = as_int(request.args.get("since_id", 0)) or 0
    with s.lock:
        dump = []
        for ticket_id in sorted(t for t in s.tickets if t > since):
            ticket = s.tickets[ticket_id]
            changes, comments = [], []
            for audit in s.audits.get(ticket_id, []):
                key = (audit["metadata"].get("custom") or {}).get("deskmate_key")
                for event in audit["events"]:
                    if event.get("type") == "Change":
                        changes.append({"field": event["field_name"], "value": event["value"],
                                        "author_id": audit["author_id"], "at": audit["created_at"]})
                    elif event.get("type") == "Comment":
                        comments.append({"author_id": event.get("author_id", audit["author_id"]),
                                         "public": event.get("public"), "body": str(event.get("body", ""))[:200],
                                         "deskmate_key": key, "at": audit["created_at"]})
            dump.append({
                "id": ticket_id, "status": ticket["status"], "group_id": ticket["group_id"],
                "priority": ticket["priority"], "tags": list(ticket["tags"]), "requester_id": ticket["requester_id"],
                "organization_id": ticket["organization_id"], "created_at": ticket["created_at"],
                "followup_of": ((ticket.get("via") or {}).get("source") or {}).get("from", {}).get("ticket_id"),
                "changes": changes, "comments": comments,
            })
    return jsonify({"tickets": dump})
