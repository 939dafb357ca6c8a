"""The worker's side of an action: decide (who may), perform (the billing write, once), tell (note, Slack).

``customer.decide_action`` reads the helpdesk's record of the agent and the billing system's record of the
customer (both over HTTP, before any lock), then decides in one transaction: approved (amount counted in the
totals), sent for approval, or refused. ``customer.perform_action`` makes the billing write with the action's
own Idempotency-Key, then records the answer, the internal note and the Slack update in one transaction: a
worker killed between the write and the commit retries with the same key, and the billing system answers with
the first result instead of refunding again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.api import (
    TICKET_COMMENT,
    BatchHandler,
    ClaimedItem,
    Done,
    Outcome,
    PermanentFailure,
    PluginContext,
    Retry,
)
from plugins.customer import billing_api, checks, permissions
from plugins.customer.billing import cache
from plugins.customer.billing_api import BillingRefused, BillingUnavailable
from plugins.customer.models import (
    APPROVED,
    AWAITING_APPROVAL,
    DONE,
    FAILED,
    REFUSED,
    REQUESTED,
    CustomerAction,
)
from plugins.customer.settings import CustomerSettings

DECIDE_KIND = "customer.decide_action"
PERFORM_KIND = "customer.perform_action"
EPHEMERAL_KIND = "customer.tell_clicker"


def settings_of(ctx: PluginContext) -> CustomerSettings:
    return ctx.settings_as(CustomerSettings)


def idempotency_key(action: CustomerAction) -> str:
    """The billing write's key: the action's own, the same on every retry of it."""
    return f"deskmate-{action.account_id}-action-{action.id}"


def _load(ctx: PluginContext, action_id: int, *, lock: bool) -> CustomerAction | None:
    statement = sa.select(CustomerAction).where(CustomerAction.account_id == ctx.account.id,
                                                CustomerAction.id == action_id)
    if lock:
        return ctx.session.scalars(statement.with_for_update()).one_or_none()
    found = ctx.read(statement)
    return found[0] if found else None


def quietly_retried(handler: Callable[[ClaimedItem, PluginContext], dict[str, Any]]) -> BatchHandler:
    """``handler`` one item at a time, a billing system that did not answer being an ordinary retry.

    A timeout or a 5xx is expected now and then (the write is retried with the same key, with backoff, up to
    the item's attempts): it is the item's last error, not a traceback in the error log. It is raised before
    the handler writes anything, so nothing is left half done.
    """

    def run(items: list[ClaimedItem], ctx: PluginContext) -> Mapping[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        for item in items:
            try:
                outcomes[item.id] = Done(handler(item, ctx))
            except BillingUnavailable as error:
                outcomes[item.id] = Retry(f"billing: {error}")
        return outcomes

    return BatchHandler(run, max_batch=1)


def enqueue_decide(ctx: PluginContext, action: CustomerAction) -> None:
    ctx.enqueue(DECIDE_KIND, f"customer:decide:{action.id}", {"action_id": action.id})


def enqueue_perform(ctx: PluginContext, action: CustomerAction) -> None:
    ctx.enqueue(PERFORM_KIND, f"customer:perform:{action.id}", {"action_id": action.id}, max_attempts=10)


def _refuse(ctx: PluginContext, action: CustomerAction, why: str) -> None:
    permissions.release(ctx.session, action, ctx.now())
    action.state, action.refusal, action.finished_at = REFUSED, why[:2000], ctx.now()


def perform_decide(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Decide one requested action (helpdesk and billing first, then one short transaction)."""
    settings = settings_of(ctx)
    action = _load(ctx, int(item.payload["action_id"]), lock=False)
    if action is None or action.state != REQUESTED:
        return {"skipped": action.state if action else "gone"}
    now = ctx.now()
    agent = permissions.cached_agent(ctx, action.agent_id, now, settings)
    fetched = agent is None
    if agent is None:
        agent = permissions.fetch_agent(ctx, action.agent_id)
    problem: str | None = None
    try:
        customer = billing_api.read_customer(action.customer_email, settings)
        campaigns = billing_api.list_campaigns(settings) if action.kind == "promo_code" else []
    except BillingRefused as refused:
        customer, campaigns, problem = None, [], f"the billing system refused to read the customer: {refused}"
    body = {"kind": action.kind, "purchase_id": action.purchase_id, "amount": action.amount,
            "reason": action.reason, "when": action.option, "campaign": action.option}
    # HTTP done; now the decision, with the action and the totals locked.
    locked = _load(ctx, action.id, lock=True)
    if locked is None or locked.state != REQUESTED:
        return {"skipped": locked.state if locked else "gone"}
    action = locked
    if fetched:
        permissions.remember_agent(ctx.session, ctx.account.id, agent, now)
    action.agent_name, action.agent_role = agent.name, agent.role
    action.agent_groups, action.agent_locale = list(agent.groups), agent.locale
    action.decided_at = now
    if problem is not None:
        _refuse(ctx, action, problem)
        return {"state": action.state}
    try:
        planned = checks.check(body, customer, settings, campaigns, agent.locale)
    except checks.Invalid as invalid:
        _refuse(ctx, action, invalid.message)
        return {"state": action.state}
    action.amount, action.currency = planned.amount, planned.currency
    assert customer is not None
    decision = permissions.decide(ctx.session, action, agent, settings, customer, now)
    action.rule = decision.rule
    if decision.outcome == "refuse":
        _refuse(ctx, action, decision.reason or "not allowed")
    elif decision.outcome == "approval":
        from plugins.customer import approvals

        if not approvals.possible(ctx, settings):
            _refuse(ctx, action, f"{decision.reason}, and no lead can approve it here (this account has no "
                                 "approval channel and approvers set)")
        else:
            action.state, action.approval_reason = AWAITING_APPROVAL, decision.reason
            action.result = {"approval": decision.detail or {}}
            approvals.ask(ctx, action, settings)
    else:
        action.state, action.approved_at = APPROVED, now
        enqueue_perform(ctx, action)
    return {"state": action.state, "rule": action.rule}


def _write(action: CustomerAction, settings: CustomerSettings) -> dict[str, Any]:
    key = idempotency_key(action)
    metadata = {"deskmate_action": str(action.id), "ticket_id": str(action.ticket_id),
                "agent_id": str(action.agent_id)}
    if action.kind in ("refund", "reverse_duplicate"):
        answer = billing_api.write("/refunds", action.customer_email, {
            "purchase_id": action.purchase_id, "amount": action.amount, "reason": action.reason or "",
            "metadata": metadata}, key, settings)
        refund = answer.get("refund") or {}
        return {"reference": refund.get("id"), "status": refund.get("status")}
    if action.kind == "cancel_subscription":
        answer = billing_api.write("/subscription/cancel", action.customer_email, {"at": action.option or "now"},
                                   key, settings)
        subscription = answer.get("subscription") or {}
        ends = subscription.get("current_period_end") if action.option == "period_end" else None
        return {"reference": subscription.get("id"), "status": subscription.get("status"), "ends_on": ends}
    answer = billing_api.write("/promo_codes", action.customer_email,
                               {"campaign": action.option, "metadata": metadata}, key, settings)
    code = answer.get("promo_code") or {}
    return {"reference": code.get("code"), "code": code.get("code"), "discount": code.get("discount"),
            "expires_at": code.get("expires_at")}


def perform_action(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Make the billing write of an approved action, once, and record what came of it."""
    settings = settings_of(ctx)
    action = _load(ctx, int(item.payload["action_id"]), lock=False)
    if action is None or action.state != APPROVED:
        return {"skipped": action.state if action else "gone"}
    try:
        result = _write(action, settings)  # BillingUnavailable propagates: retried with the same key
    except BillingRefused as refused:
        result = None
        refusal = f"the billing system refused: {refused.message}"
    locked = _load(ctx, action.id, lock=True)
    if locked is None or locked.state != APPROVED:
        return {"skipped": locked.state if locked else "gone"}
    action, now = locked, ctx.now()
    cache.forget(ctx.account.id, action.customer_email)
    if result is None:
        _refuse(ctx, action, refusal)
        return {"state": action.state}
    action.state, action.finished_at = DONE, now
    action.billing_reference = str(result.get("reference") or "")[:128] or None
    action.result = {key: value for key, value in result.items() if value is not None}
    leave_note(ctx, action, settings)
    from plugins.customer import approvals

    approvals.finished(ctx, action)
    return {"state": action.state, "reference": action.billing_reference}


def leave_note(ctx: PluginContext, action: CustomerAction, settings: CustomerSettings) -> None:
    """The internal note on the ticket saying what was done (or declined), by whom, with the reference."""
    from plugins.customer.texts import note

    ctx.enqueue(TICKET_COMMENT, f"customer:note:{action.id}", {
        "ticket_id": action.ticket_id, "public": False, "body": note(action, settings.note_locale)})


def perform_tell_clicker(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Tell only the Slack user who clicked why their click changed nothing (an ephemeral message)."""
    from slack_sdk.errors import SlackApiError

    try:
        ctx.slack.chat_postEphemeral(channel=item.payload["channel"], user=item.payload["user"],
                                     text=item.payload["text"])
    except SlackApiError as error:
        code = error.response.get("error")
        if code in ("channel_not_found", "not_in_channel", "user_not_in_channel", "user_not_found"):
            raise PermanentFailure(f"ephemeral reply impossible: {code}") from error
        raise
    return {"told": item.payload["user"]}


def mark_failed(ctx: PluginContext) -> None:
    """Timer: an action whose decision or billing write gave up for good is ``failed``, its amount released.

    Failures are rare, so this reads few rows (``failed_work``) however many actions there are.
    """
    now = ctx.now()
    for kind, stage, state in ((DECIDE_KIND, "decide", REQUESTED), (PERFORM_KIND, "perform", APPROVED)):
        failures = ctx.failed_work(kind, now - timedelta(days=2))
        ids = [int(key.rsplit(":", 1)[1]) for key in failures if key.rsplit(":", 1)[1].isdigit()]
        if not ids:
            continue
        for action in ctx.session.scalars(sa.select(CustomerAction).where(
                CustomerAction.account_id == ctx.account.id, CustomerAction.id.in_(ids),
                CustomerAction.state == state).with_for_update()):
            error = failures[f"customer:{stage}:{action.id}"].last_error or "kept failing"
            permissions.release(ctx.session, action, now)
            action.state, action.finished_at, action.refusal = FAILED, now, error[:2000]

