"""The customer plugin's sidebar routes: the billing panel, and actions on it (preview, request, state).

Every route needs a sidebar session (``require_sidebar_session``). The ticket, its requester's e-mail and
status come from the sidebar's cache of the ticket (``cached_sidebar_ticket``: filled when the page opened it),
and the agent from the session, never from the request: a session can only act on customers of tickets of its
own account, as itself. What the page sends (a purchase id, an amount) is checked here against the billing
system's record, and again by the worker just before the write.
"""

from __future__ import annotations

import re
import time
from typing import Any, cast

import sqlalchemy as sa
from flask import Blueprint, request

from app.api import (
    SidebarTicket,
    cached_sidebar_ticket,
    context_for,
    current_account,
    current_agent,
    current_time,
    db_session,
    insert_for,
    json_body,
    json_error,
    request_context,
    require_sidebar_session,
)
from plugins.customer import checks
from plugins.customer.models import OPEN_STATES, REQUESTED, CustomerAction
from plugins.customer.panel import blocks
from plugins.customer.settings import CustomerSettings

bp = Blueprint("customer", __name__, url_prefix="/sidebar/api/customer")
MAX_TICKET_ID = 2**62
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def source_url(ticket_id: int) -> str:
    return f"{bp.url_prefix}/tickets/{ticket_id}"


def _settings() -> CustomerSettings:
    return request_context("customer").settings_as(CustomerSettings)


@bp.get("/tickets/<int:ticket_id>")
@require_sidebar_session
def billing_panel(ticket_id: int) -> Any:
    """Sidebar session: ``{"blocks", "empty", "data"}`` from the billing system for the ticket's requester,
    with the actions the agent may ask for and this ticket's actions so far (``refresh_seconds`` while one is
    still open)."""
    from plugins.customer.billing import cache, from_billing
    from plugins.customer.offers import action_blocks, history

    if not 0 < ticket_id < MAX_TICKET_ID:
        return json_error(404, "no such ticket")
    ticket = cached_sidebar_ticket(ticket_id, request.args.get("locale", "en"))
    if ticket is None:
        return json_error(404, "the sidebar has not opened this ticket")
    settings = _settings()
    if settings.source != "billing":
        return json_error(404, "the customer panel does not read a billing system")
    actions = _ticket_actions(ticket_id)
    _release()
    if ticket.requester_email and _changed_lately(actions, settings):
        # The worker that made the change cleared its own process's cache, not this one's.
        cache.forget(current_account().id, ticket.requester_email)
    data = from_billing(current_account().id, ticket.requester_email, settings)
    shown = blocks(data)
    shown["blocks"] = [*shown.get("blocks", []), *action_blocks(data, ticket, settings),
                       *history(actions)]
    answer: dict[str, Any] = {**shown, "data": data}
    if any(action.state in OPEN_STATES for action in actions):
        answer["refresh_seconds"] = 2
    return answer


def _ticket_actions(ticket_id: int) -> list[CustomerAction]:
    return list(db_session().scalars(sa.select(CustomerAction).where(
        CustomerAction.account_id == current_account().id, CustomerAction.ticket_id == ticket_id
    ).order_by(CustomerAction.id.desc()).limit(10)))


def _changed_lately(actions: list[CustomerAction], settings: CustomerSettings) -> bool:
    """Whether an action of this ticket is open or ended since a cached billing answer may have been kept."""
    if not actions:
        return False
    now = current_time()
    return any(action.state in OPEN_STATES or (action.finished_at is not None and (
        now - action.finished_at).total_seconds() <= settings.billing_cache_seconds) for action in actions)


def _release() -> None:
    """End the request's transaction before a call over HTTP or a wait: on SQLite an open transaction holds
    the database's write lock, which the worker needs meanwhile. (Objects read stay loaded.)"""
    db_session().commit()


class _Refused(Exception):
    def __init__(self, response: Any) -> None:
        self.response = response


def _ticket_and_plan(body: dict[str, Any]) -> tuple[SidebarTicket, checks.Planned, CustomerSettings]:
    """The cached ticket and the action as the panel's billing data allows it, or a ready error answer."""
    from plugins.customer.billing import from_billing
    from plugins.customer.billing_api import BillingUnavailable, campaigns_cached

    ticket_id = body.get("ticket_id")
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id < MAX_TICKET_ID:
        raise _Refused(json_error(422, "ticket_id must be the open ticket's id", field="ticket_id"))
    settings = _settings()
    if settings.source != "billing":
        raise _Refused(json_error(404, "the customer panel does not read a billing system"))
    ticket = cached_sidebar_ticket(ticket_id, str(body.get("locale") or "en")[:16])
    if ticket is None:
        raise _Refused(json_error(404, "the sidebar has not opened this ticket", field="ticket_id"))
    if ticket.status == "closed" and settings.refuse_closed_tickets:
        raise _Refused(json_error(403, "this ticket is closed: this account does not allow billing actions on "
                                       "closed tickets", field="ticket_id"))
    if not ticket.requester_email:
        raise _Refused(json_error(409, "the ticket's requester has no e-mail to find them in billing by"))
    _release()
    data = from_billing(current_account().id, ticket.requester_email, settings)
    if data.get("state") == "error":
        raise _Refused(json_error(503, "the billing system is not answering right now; try again in a moment"))
    customer = None if data.get("state") in ("not_found", "no_requester") else data
    try:
        campaigns = campaigns_cached(current_account().id, settings) if body.get("kind") == "promo_code" else []
    except BillingUnavailable:
        raise _Refused(json_error(503, "the billing system is not answering right now; try again in a moment")) \
            from None
    try:
        planned = checks.check(body, customer, settings, campaigns, ticket.locale)
    except checks.Invalid as invalid:
        raise _Refused(json_error(invalid.status, invalid.message, field=invalid.field)) from None
    return ticket, planned, settings


@bp.post("/actions/preview")
@require_sidebar_session
def preview() -> Any:
    """Sidebar session: what exactly an action will do, for the agent to confirm (nothing is done yet)."""
    from plugins.customer.offers import confirmation

    try:
        ticket, planned, settings = _ticket_and_plan(json_body())
    except _Refused as refused:
        return refused.response
    return {"confirm": confirmation(planned, ticket, settings)}


@bp.post("/actions")
@require_sidebar_session
def create_action() -> Any:
    """Sidebar session: ask for an action. ``request_id`` (made by the page once per confirmation) makes a
    double click or a retried POST the same request. Answers with the outcome when the worker finishes within
    ``answer_wait_seconds``, else 202 with the action in progress."""
    body = json_body()
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        return json_error(422, "request_id must be 8 to 64 letters, digits, '-' or '_'", field="request_id")
    account, agent = current_account(), current_agent()
    earlier = db_session().scalar(sa.select(CustomerAction).where(
        CustomerAction.account_id == account.id, CustomerAction.request_id == request_id))
    if earlier is not None:
        # A double click or a retry after a lost answer: the same request, answered with what became of it
        # (checking it again against the billing system would now find the purchase refunded by it).
        if (earlier.agent_id, earlier.ticket_id, earlier.kind) != (agent.id, body.get("ticket_id"), body.get("kind")):
            return json_error(409, "this request_id was already used for another action", field="request_id")
        settings = _settings()
        _release()
        return _outcome(_wait(earlier.id, settings.answer_wait_seconds), settings)
    try:
        ticket, planned, settings = _ticket_and_plan(body)
    except _Refused as refused:
        return refused.response
    requester = (ticket.raw.get("requester") or {}) if isinstance(ticket.raw, dict) else {}
    values = {"kind": planned.kind, "ticket_id": ticket.id, "customer_email": str(ticket.requester_email),
              "agent_id": agent.id, "purchase_id": planned.purchase_id, "purchase_title": planned.purchase_title,
              "amount": planned.amount, "currency": planned.currency, "reason": planned.reason,
              "option": planned.option}
    session = db_session()
    ctx = context_for("customer", account, session)
    inserted = cast(sa.CursorResult[Any], session.execute(insert_for(session, CustomerAction).values(
        account_id=account.id, request_id=request_id, state=REQUESTED, agent_groups=[], result={},
        reserved=False, requested_at=ctx.now(),
        requester_locale=str(requester.get("locale") or "")[:16] or None, **values,
    ).on_conflict_do_nothing())).rowcount
    action = session.scalars(sa.select(CustomerAction).where(
        CustomerAction.account_id == account.id, CustomerAction.request_id == request_id)).one()
    if inserted:
        from plugins.customer.jobs import enqueue_decide

        enqueue_decide(ctx, action)
    elif any(getattr(action, name) != value for name, value in values.items()):
        return json_error(409, "this request_id was already used for another action", field="request_id")
    _release()
    return _outcome(_wait(action.id, settings.answer_wait_seconds), settings)


def _wait(action_id: int, seconds: float) -> CustomerAction:
    """The action once the worker has decided (and, if allowed, done) it, or as it is after ``seconds``.

    Each look is a short transaction of its own, so the worker can write in between."""
    deadline = time.monotonic() + seconds
    session = db_session()
    while True:
        action = session.get_one(CustomerAction, action_id, populate_existing=True)
        session.commit()
        if action.state not in (REQUESTED, "approved") or time.monotonic() >= deadline:
            return action
        time.sleep(0.1)


def _outcome(action: CustomerAction, settings: CustomerSettings) -> Any:
    from plugins.customer.offers import action_view, done_message
    from plugins.customer.texts import reply

    view = action_view(action)
    if action.state == "done":
        return {"message": done_message(action), "reply": reply(action), "action": view}
    if action.state == "awaiting_approval":
        from plugins.customer.offers import approval_text

        return {"message": {"t": "customer.awaiting_approval",
                            "args": {"why": approval_text(action) or "", "channel": settings.approvals_channel}},
                "action": view}, 202
    if action.state in ("refused", "declined", "failed"):
        return json_error(403 if action.state != "failed" else 502,
                          f"not done: {action.refusal or action.state}", action=view)
    return {"message": {"t": "customer.in_progress"}, "action": view}, 202


@bp.get("/actions/<int:action_id>")
@require_sidebar_session
def show_action(action_id: int) -> Any:
    """Sidebar session: one action of this account (its state, reference or refusal)."""
    from plugins.customer.offers import action_view

    if not 0 < action_id < MAX_TICKET_ID:
        return json_error(404, "no such action")
    action = db_session().scalar(sa.select(CustomerAction).where(
        CustomerAction.account_id == current_account().id, CustomerAction.id == action_id))
    if action is None:
        return json_error(404, "no such action")
    return {"action": action_view(action)}
