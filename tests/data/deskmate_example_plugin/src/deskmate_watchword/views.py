"""The plugin's HTTP routes: an admin API listing recorded mentions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from app.api import current_account, db_session, json_error, require_admin
from deskmate_watchword import queries

bp = Blueprint("watchword", __name__, url_prefix="/watchword")


@bp.get("/api/mentions")
@require_admin
def list_mentions() -> Any:
    """The account's latest mentions, newest first. Authenticated: an admin token (``require_admin``)."""
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError:
        return json_error(400, "limit must be a number")
    if not 1 <= limit <= 200:
        return json_error(400, "limit must be between 1 and 200")
    rows = db_session().scalars(queries.recent(current_account().id, limit))
    return {"mentions": [{"ticket_id": row.ticket_id, "requester_id": row.requester_id, "word": row.word,
                          "seen_at": row.seen_at.isoformat(), "reported": row.reported_at is not None}
                         for row in rows]}
