"""Tickets API: tickets, comments, audits, metrics, bulk jobs and job statuses."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .errors import ApiError, invalid_request, record_not_found, too_many_values
from .jobs import MAX_QUEUED_JOBS, job_view
from .pagination import id_list, paginate
from .ticket_records import ticket_metric
from .web import actor, api_route, base, json_body, member, state

bp = Blueprint("helpdesk_tickets", __name__)


def _created(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = 201
    response.headers.update(headers or {})
    return response


def _live_tickets() -> list[dict[str, Any]]:
    return [t for t in state().tickets.values() if not t["_deleted"]]


@api_route(bp, "/tickets")
def list_tickets() -> Any:
    """List tickets in id order, offset or cursor paginated; `external_id` filters."""
    s = state()
    with s.lock:
        records = _live_tickets()
        if request.args.get("external_id"):
            records = [t for t in records if t["external_id"] == request.args["external_id"]]
        return jsonify(paginate(records, "tickets", lambda t: s.ticket_view(t, base())))


@api_route(bp, "/tickets/count")
def count_tickets() -> Any:
    """Approximate ticket count, as Zendesk answers it."""
    s = state()
    with s.lock:
        return jsonify({"count": {"value": len(_live_tickets()), "refreshed_at": s.now_iso()}})


@api_route(bp, "/tickets", methods=["POST"])
def create_ticket() -> Any:
    """Create a ticket; an `Idempotency-Key` makes a repeated request return the same ticket."""
    s = state()
    data = member(json_body(), "ticket")
    key = request.headers.get("Idempotency-Key")
    outcome, hit = s.create_ticket_idempotent(key, data, actor_id=actor())
    headers = {"x-idempotency-lookup": "hit" if hit else "miss"} if key else {}
    with s.lock:
        return _created({"ticket": s.ticket_view(outcome.ticket, base()), "audit": outcome.audit}, headers)


@api_route(bp, "/tickets/<int:ticket_id>")
def show_ticket(ticket_id: int) -> Any:
    """Show one ticket; `include=users,organizations` sideloads its people and organization, as in Zendesk."""
    s = state()
    with s.lock:
        ticket = s._live_ticket(ticket_id)
        body: dict[str, Any] = {"ticket": s.ticket_view(ticket, base())}
        include = {part.strip() for part in request.args.get("include", "").split(",")}
        if "users" in include:
            people = {ticket.get(key) for key in ("requester_id", "submitter_id", "assignee_id")}
            body["users"] = [
                s.user_view(s.users[i], base()) for i in sorted(p for p in people if p) if i in s.users
            ]
        if "organizations" in include:
            org_id = ticket.get("organization_id")
            body["organizations"] = (
                [s.organization_view(s.organizations[org_id], base())] if org_id in s.organizations else []
            )
        return jsonify(body)


@api_route(bp, "/tickets/<int:ticket_id>", methods=["PUT"])
def update_ticket(ticket_id: int) -> Any:
    """Update one ticket (fields, tags, comment, `metadata` for the audit)."""
    s = state()
    data = member(json_body(), "ticket")
    with s.lock:
        outcome = s._update_ticket(ticket_id, data, actor_id=actor())
        s._emit(outcome)
        return jsonify({"ticket": s.ticket_view(outcome.ticket, base()), "audit": outcome.audit})


@api_route(bp, "/tickets/<int:ticket_id>", methods=["DELETE"])
def delete_ticket(ticket_id: int) -> Any:
    """Soft-delete a ticket."""
    state().delete_ticket(ticket_id)
    return Response(status=204)


@api_route(bp, "/tickets/show_many")
def show_many_tickets() -> Any:
    """Show up to 100 tickets by id; unknown ids are left out, as in Zendesk."""
    s = state()
    ids = id_list(request.args.get("ids"))
    with s.lock:
        found = [s.tickets[i] for i in ids if i in s.tickets and not s.tickets[i]["_deleted"]]
        return jsonify(
            {
                "tickets": [s.ticket_view(t, base()) for t in found],
                "next_page": None,
                "previous_page": None,
                "count": len(found),
            }
        )


@api_route(bp, "/tickets/create_many", methods=["POST"])
def create_many_tickets() -> Any:
    """Create up to 100 tickets in a background job."""
    s = state()
    items = json_body().get("tickets")
    if not isinstance(items, list):
        raise invalid_request("Parameter tickets is required and must be an array", "InvalidParameter")
    if len(items) > 100:
        raise too_many_values(len(items))
    _check_job_room()
    user_id = actor()

    def run(index: int, data: Any) -> dict[str, Any]:
        try:
            created = s.create_ticket(data if isinstance(data, dict) else {}, actor_id=user_id)
        except ApiError as exc:
            return {
                "index": index,
                "error": exc.body.get("error", "Error"),
                "success": False,
                "details": str(exc.body.get("details") or exc.body.get("description")),
            }
        return {"index": index, "id": created["id"], "status": "Created", "success": True}

    job = s.jobs.create("bulk_create", items, run)
    with s.lock:
        return jsonify({"job_status": job_view(job, base())})


@api_route(bp, "/tickets/update_many", methods=["PUT"])
def update_many_tickets() -> Any:
    """Bulk update: `?ids=` with one `ticket` object, or `tickets` with per-ticket values (max 100)."""
    s = state()
    body = json_body()
    items: list[tuple[Any, dict[str, Any]]]
    if request.args.get("ids"):
        ids = id_list(request.args.get("ids"))
        changes = member(body, "ticket")
        items = [(i, changes) for i in ids]
    elif isinstance(body.get("tickets"), list):
        if len(body["tickets"]) > 100:
            raise too_many_values(len(body["tickets"]))
        items = [
            (t.get("id"), {k: v for k, v in t.items() if k != "id"})
            for t in body["tickets"]
            if isinstance(t, dict)
        ]
    else:
        raise invalid_request("Pass ?ids= with a ticket object, or a tickets array", "InvalidParameter")
    _check_job_room()
    user_id = actor()

    def run(index: int, item: tuple[Any, dict[str, Any]]) -> dict[str, Any]:
        ticket_id, changes = item
        try:
            s.update_ticket(int(ticket_id), changes, actor_id=user_id)
        except (ApiError, TypeError, ValueError) as exc:
            body = (
                exc.body
                if isinstance(exc, ApiError)
                else {"error": "RecordNotFound", "description": "Not found"}
            )
            details = body.get("details")
            text = (
                "; ".join(d["description"] for v in details.values() for d in v)
                if isinstance(details, dict)
                else str(body.get("description"))
            )
            return {
                "action": "update",
                "id": ticket_id,
                "success": False,
                "error": body.get("error"),
                "details": text,
            }
        return {"action": "update", "id": int(ticket_id), "status": "Updated", "success": True}

    job = s.jobs.create("bulk_update", items, run)
    with s.lock:
        return jsonify({"job_status": job_view(job, base())})


def _check_job_room() -> None:
    if state().jobs.active_count() >= MAX_QUEUED_JOBS:
        raise ApiError(
            429,
            {
                "error": "TooManyJobs",
                "description": f"There are already {MAX_QUEUED_JOBS} background jobs queued",
            },
            {"Retry-After": "10"},
        )


@api_route(bp, "/tickets/<int:ticket_id>/comments")
def list_comments(ticket_id: int) -> Any:
    """A ticket's comments, oldest first (`sort_order=desc` reverses)."""
    s = state()
    with s.lock:
        s._live_ticket(ticket_id)
        comments = list(s.comments[ticket_id])
        if request.args.get("sort_order") == "desc":
            comments.reverse()
        body: dict[str, Any] = {
            "comments": comments,
            "next_page": None,
            "previous_page": None,
            "count": len(comments),
        }
        if "users" in request.args.get("include", ""):
            authors = {c["author_id"] for c in comments}
            body["users"] = [s.user_view(s.users[a], base()) for a in sorted(authors) if a in s.users]
        return jsonify(body)


@api_route(bp, "/tickets/<int:ticket_id>/audits")
def list_audits(ticket_id: int) -> Any:
    """A ticket's audits, with `metadata.custom` as each update set it."""
    s = state()
    with s.lock:
        s._live_ticket(ticket_id)
        audits = list(s.audits[ticket_id])
        return jsonify({"audits": audits, "next_page": None, "previous_page": None, "count": len(audits)})


@api_route(bp, "/tickets/<int:ticket_id>/metrics")
def ticket_metrics_for_ticket(ticket_id: int) -> Any:
    """Metrics of one ticket."""
    s = state()
    with s.lock:
        return jsonify({"ticket_metric": ticket_metric(s._live_ticket(ticket_id), base())})


@api_route(bp, "/ticket_metrics")
def list_ticket_metrics() -> Any:
    """Metrics of every ticket."""
    s = state()
    with s.lock:
        return jsonify(paginate(_live_tickets(), "ticket_metrics", lambda t: ticket_metric(t, base())))


@api_route(bp, "/ticket_metrics/<int:metric_id>")
def show_ticket_metric(metric_id: int) -> Any:
    """One ticket metric, by metric id (a ticket id is accepted too, as Zendesk does)."""
    s = state()
    with s.lock:
        ticket_id = s.metric_ids.get(metric_id, metric_id)
        return jsonify({"ticket_metric": ticket_metric(s._live_ticket(ticket_id), base())})


@api_route(bp, "/job_statuses")
def list_job_statuses() -> Any:
    """Recent job statuses."""
    s = state()
    with s.lock:
        jobs = sorted(s.job_statuses.values(), key=lambda j: j["_created_ts"])
        return jsonify({"job_statuses": [job_view(j, base()) for j in jobs]})


@api_route(bp, "/job_statuses/<job_id>")
def show_job_status(job_id: str) -> Any:
    """One job status."""
    s = state()
    with s.lock:
        job = s.job_statuses.get(job_id)
        if job is None:
            raise record_not_found()
        return jsonify({"job_status": job_view(job, base())})


@api_route(bp, "/job_statuses/show_many")
def show_many_job_statuses() -> Any:
    """Several job statuses by id."""
    s = state()
    raw = request.args.get("ids") or ""
    with s.lock:
        jobs = [s.job_statuses[i] for i in raw.split(",") if i in s.job_statuses]
        return jsonify({"job_statuses": [job_view(j, base()) for j in jobs]})


@api_route(bp, "/ticket_forms")
def list_ticket_forms() -> Any:
    """The account's ticket forms."""
    s = state()
    with s.lock:
        forms = [
            {**f, "url": f"{base()}/api/v2/ticket_forms/{f['id']}.json"} for f in s.ticket_forms.values()
        ]
        return jsonify({"ticket_forms": forms, "next_page": None, "previous_page": None, "count": len(forms)})
