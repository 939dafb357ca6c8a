"""The plugin's HTTP routes: an admin API listing recorded mentions, and the sidebar's routes for added words."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from app.api import (
    cached_sidebar_ticket,
    current_account,
    current_agent,
    db_session,
    insert_for,
    json_body,
    json_error,
    request_context,
    require_admin,
    require_sidebar_session,
)
from deskmate_watchword import queries, words
from deskmate_watchword.models import Word
from deskmate_watchword.settings import WatchwordSettings

bp = Blueprint("watchword", __name__, url_prefix="/watchword")
sidebar_bp = Blueprint("watchword_sidebar", __name__, url_prefix="/sidebar/api/watchword")
MAX_TICKET_ID = 2**62


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


def _refused(refusal: words.Refused) -> Any:
    """422 naming the form's field; the message is a sidebar text, shown beside that field in the agent's language."""
    return jsonify({"error": {"status": 422, "message": refusal.message, "field": refusal.field}}), 422


@sidebar_bp.get("/words")
@require_sidebar_session
def word_list() -> Any:
    """The panel's deferred block: the added words (``refresh_seconds`` while one is pending)."""
    return words.listing(request_context("watchword"))


@sidebar_bp.post("/words/preview")
@require_sidebar_session
def preview_word() -> Any:
    """The form's preview: what adding the word will do, or 422 naming the field. Changes nothing."""
    ctx = request_context("watchword")
    try:
        word, days = words.clean(json_body(), ctx)
    except words.Refused as refusal:
        return _refused(refusal)
    tag = ctx.settings_as(WatchwordSettings).tag
    return {"confirm": {"t": "watchword.confirm_add", "args": {"word": word, "count": days, "tag": tag}}}


@sidebar_bp.post("/words")
@require_sidebar_session
def add_word() -> Any:
    """Adds the word, pending until the ``words`` timer starts it; 202 with a message and a reply to insert.

    ``request_id`` is the sidebar's id for this confirmation: sent again (a double click, a retry after a lost
    answer), it finds the word it added and answers the same, adding nothing.
    """
    ctx = request_context("watchword")
    body = json_body()
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not 8 <= len(request_id) <= 64:
        return json_error(400, "request_id must be a string of 8 to 64 characters")
    ticket_id = body.get("ticket_id")
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id < MAX_TICKET_ID:
        return json_error(400, "ticket_id must be a ticket's id")
    row = words.by_request(ctx.session, ctx.account.id, request_id)
    if row is None:
        try:
            word, days = words.clean(body, ctx)
        except words.Refused as refusal:
            return _refused(refusal)
        ctx.session.execute(insert_for(ctx.session, Word).values(
            account_id=ctx.account.id, word=word, days=days, request_id=request_id,
            added_by=f"agent:{current_agent().id}", added_at=ctx.now(), active_until=None,
        ).on_conflict_do_nothing())
        row = words.by_request(ctx.session, ctx.account.id, request_id)  # ours, or a concurrent twin's
        assert row is not None
    # The reply is for the requester: in their language, from the sidebar's cache of the ticket.
    ticket = cached_sidebar_ticket(ticket_id, request.args.get("locale", "en"))
    requester = (ticket.raw.get("requester") or {}) if ticket is not None else {}
    return {"message": {"t": "watchword.added", "args": {"word": row.word}},
            "reply": words.reply(row.word, requester.get("locale"))}, 202
