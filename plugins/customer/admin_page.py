"""The admin page ``/admin/customer/actions``: every billing action agents took or asked for (the audit).

Filters by state, kind, agent and period; ``?format=csv`` exports what the filters select (every matching
row, streamed, not only the page shown). An admin session (``require_admin_page``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, render_template, request, stream_with_context

from app.api import (
    admin_page,
    current_account,
    get_locale,
    gettext,
    lazy_gettext,
    request_context,
    require_admin_page,
    transaction,
)
from plugins.customer.models import ACTION_STATES, CustomerAction
from plugins.customer.settings import ACTION_KINDS
from plugins.customer.texts import money, summary

bp = Blueprint("customer_admin_page", __name__, template_folder="templates")
STATE_LABELS = {
    "requested": lazy_gettext("requested"), "awaiting_approval": lazy_gettext("awaiting approval"),
    "approved": lazy_gettext("approved"), "done": lazy_gettext("done"), "refused": lazy_gettext("refused"),
    "declined": lazy_gettext("declined"), "failed": lazy_gettext("failed"),
}
KIND_LABELS = {
    "refund": lazy_gettext("refund"), "reverse_duplicate": lazy_gettext("duplicate charge reversal"),
    "cancel_subscription": lazy_gettext("subscription cancellation"), "promo_code": lazy_gettext("promo code"),
}
FILTER_LABELS = {"since": lazy_gettext("From"), "until": lazy_gettext("To")}
PAGE_SIZE = 100
CSV_COLUMNS = ("id", "requested_at", "ticket_id", "kind", "state", "agent", "agent_id", "customer_email",
               "purchase_id", "amount_minor", "currency", "reason", "option", "rule", "approval_reason",
               "approver", "billing_reference", "refusal", "finished_at")


class FilterError(ValueError):
    """A filter value that cannot be used; the message says which and why."""


def _day(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(gettext("“%(field)s” must be a date, such as 2026-12-07.",
                                  field=FILTER_LABELS[name])) from None


def _filters() -> tuple[list[Any], dict[str, Any]]:
    """The WHERE clauses the query string asks for, and the values to show back in the form."""
    account = current_account()
    state, kind = request.args.get("state", ""), request.args.get("kind", "")
    agent = request.args.get("agent", "").strip()
    shown = {"state": state, "kind": kind, "agent": agent, "since": request.args.get("since", ""),
             "until": request.args.get("until", "")}
    clauses: list[Any] = [CustomerAction.account_id == account.id]
    if state:
        if state not in ACTION_STATES:
            raise FilterError(gettext("Choose a state from the list."))
        clauses.append(CustomerAction.state == state)
    if kind:
        if kind not in ACTION_KINDS:
            raise FilterError(gettext("Choose an action from the list."))
        clauses.append(CustomerAction.kind == kind)
    if agent:
        if len(agent) > 255:
            raise FilterError(gettext("The agent's name is too long: type part of it."))
        clauses.append(CustomerAction.agent_name.ilike(
            "%" + agent.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", escape="\\"))
    since, until = _day("since"), _day("until")
    if since and until and until < since:
        raise FilterError(gettext("“To” must not be before “From”."))
    if since:
        clauses.append(CustomerAction.requested_at >= datetime.combine(since, time(), UTC))
    if until:
        clauses.append(CustomerAction.requested_at < datetime.combine(until + timedelta(days=1), time(), UTC))
    return clauses, shown


@bp.get("/admin/customer/actions")
@require_admin_page
@admin_page(lazy_gettext("Billing actions"))
def actions_page() -> Any:
    """The audit of billing actions, filtered; ``format=csv`` downloads it."""
    try:
        clauses, shown = _filters()
    except FilterError as error:
        return render_template("customer/actions.html", actions=[], totals=[], filters=request.args,
                               error=str(error), count=0, tickets={}, **_labels()), 422
    if request.args.get("format") == "csv":
        return _csv(clauses)
    with transaction() as session:
        actions = list(session.scalars(sa.select(CustomerAction).where(*clauses)
                                       .order_by(CustomerAction.id.desc()).limit(PAGE_SIZE)))
        count = session.scalar(sa.select(sa.func.count()).select_from(CustomerAction).where(*clauses)) or 0
        totals = session.execute(
            sa.select(CustomerAction.currency, sa.func.sum(CustomerAction.amount), sa.func.count())
            .where(*clauses, CustomerAction.state == "done", CustomerAction.amount.is_not(None))
            .group_by(CustomerAction.currency)).all()
    mirror = request_context("customer").mirror
    tickets = mirror.tickets({action.ticket_id for action in actions})
    return render_template("customer/actions.html", actions=actions, totals=totals, filters=shown, error=None,
                           count=count, tickets=tickets, helpdesk_url=current_account().helpdesk_url, **_labels())


def _labels() -> dict[str, Any]:
    """The page's words for states and kinds, and the functions that describe an action in the reader's language."""
    language = str(get_locale() or "en")
    return {"states": {state: str(STATE_LABELS[state]) for state in ACTION_STATES},
            "kinds": {kind: str(KIND_LABELS.get(kind, kind)) for kind in ACTION_KINDS},
            "describe": lambda action: summary(action, language),
            "money": lambda amount, currency: money(amount, currency, language)}


def _csv(clauses: list[Any]) -> Response:
    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        last_id = None
        while True:  # keyset pages: a long export never holds one huge result in memory
            with transaction() as session:
                page_clauses = [*clauses, *([CustomerAction.id < last_id] if last_id else [])]
                page = list(session.scalars(sa.select(CustomerAction).where(*page_clauses)
                                            .order_by(CustomerAction.id.desc()).limit(500)))
            for action in page:
                writer.writerow(_row(action))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if len(page) < 500:
                return
            last_id = page[-1].id

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="billing-actions-{stamp}.csv"'})


def _row(action: CustomerAction) -> list[Any]:
    def cell(value: Any) -> Any:
        # A spreadsheet runs a cell starting with = + - @ as a formula: keep such text as text.
        text = "" if value is None else str(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

    return [cell(value) for value in (
        action.id, action.requested_at.isoformat(), action.ticket_id, action.kind, action.state,
        action.agent_name, action.agent_id, action.customer_email, action.purchase_id, action.amount,
        action.currency, action.reason, action.option, action.rule, action.approval_reason,
        action.approver_name, action.billing_reference, action.refusal,
        action.finished_at.isoformat() if action.finished_at else None)]
