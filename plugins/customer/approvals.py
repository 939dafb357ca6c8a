"""Approval by a lead in Slack, for an action above the agent's limits.

The request is a message in ``approvals_channel`` with Approve and Decline buttons (work item
``customer:approval:<id>``). A click reaches Deskmate as a signed ``slack.block_actions`` event (the core's
``POST /slack/interactions`` has verified it); only a Slack user listed in ``approvers`` can answer, and only
the first answer counts (the action row is locked and must still be awaiting approval). The message is then
updated to say who answered and, later, what the billing system did.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from app.api import SLACK_POST, SLACK_UPDATE, Event, PluginContext
from plugins.customer import jobs, permissions
from plugins.customer.models import APPROVED, AWAITING_APPROVAL, DECLINED, DONE, CustomerAction
from plugins.customer.settings import CustomerSettings
from plugins.customer.texts import summary

APPROVE, DECLINE = "customer.approve", "customer.decline"


def possible(ctx: PluginContext, settings: CustomerSettings) -> bool:
    return bool(settings.approvals_channel and settings.approvers and ctx.has_slack)


def _key(action: CustomerAction, stage: str = "") -> str:
    return f"customer:approval:{action.id}" + (f":{stage}" if stage else "")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _message(action: CustomerAction, helpdesk_url: str, status: str | None, buttons: bool) -> dict[str, Any]:
    what = _escape(summary(action, "en"))
    who = _escape(action.agent_name or f"agent {action.agent_id}")
    ticket = f"<{helpdesk_url}/agent/tickets/{action.ticket_id}|ticket #{action.ticket_id}>"
    lines = [f"*{who}* asks to {what} for {_escape(action.customer_email)} on {ticket}."]
    if action.reason:
        lines.append(f"Reason: {_escape(action.reason)}")
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]
    why = _escape(action.approval_reason or "above the agent's limits")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"Needs a lead's approval: {why}" if status is None else f"Needed a lead's approval: {why}")]))
    if status:
        # What became of it, as a line of its own: the channel shows at a glance which requests are answered.
        blocks.append(SectionBlock(text=MarkdownTextObject(text=status)))
    if buttons:
        blocks.append(ActionsBlock(elements=[
            ButtonElement(text="Approve", action_id=APPROVE, value=str(action.id), style="primary"),
            ButtonElement(text="Decline", action_id=DECLINE, value=str(action.id), style="danger")]))
    text = f"Approval needed: {who} asks to {summary(action, 'en')} on ticket #{action.ticket_id}"
    if status:
        text = f"{who} asked to {summary(action, 'en')} on ticket #{action.ticket_id}. {status}"
    return {"text": text[:3000], "blocks": [block.to_dict() for block in blocks]}


def ask(ctx: PluginContext, action: CustomerAction, settings: CustomerSettings) -> None:
    """Post the approval request (once)."""
    ctx.enqueue(SLACK_POST, _key(action), {"channel": settings.approvals_channel,
                                           **_message(action, ctx.account.helpdesk_url, None, True)})


def _update(ctx: PluginContext, action: CustomerAction, stage: str, status: str, after: str) -> None:
    ctx.enqueue(SLACK_UPDATE, _key(action, stage), {
        "message_of": _key(action), **_message(action, ctx.account.helpdesk_url, status, False)}, after=after)


def finished(ctx: PluginContext, action: CustomerAction) -> None:
    """After an approved action was done or refused by the billing system: say so under the approval."""
    if not action.approver_slack_id:
        return
    approved = f"*Approved by <@{action.approver_slack_id}>*"
    if action.state == DONE:
        status = (f":white_check_mark: {approved} and done by the billing system: reference "
                  f"`{_escape(action.billing_reference or '-')}`.")
    else:
        status = f":warning: {approved}, but not done: {_escape(action.refusal or action.state)}"
    _update(ctx, action, "finished", status, after=_key(action, "answered"))


def on_click(event: Event, ctx: PluginContext) -> None:
    """Approve or Decline clicks in a ``slack.block_actions`` payload (other plugins' buttons are ignored)."""
    payload = event.data
    user = payload.get("user") or {}
    user_id = str(user.get("id") or "")
    channel = (payload.get("channel") or {}).get("id") or (payload.get("container") or {}).get("channel_id")
    for click in payload.get("actions") or []:
        if click.get("action_id") not in (APPROVE, DECLINE):
            continue
        value = str(click.get("value") or "")
        if not value.isdigit() or not user_id:
            ctx.log.warning("an approval click without an action id or user: %r", value[:40])
            continue
        answer(ctx, int(value), user_id, str(user.get("name") or user.get("username") or user_id)[:255],
               click["action_id"] == APPROVE, channel, f"{event.id}:{click.get('action_ts') or ''}")


def answer(ctx: PluginContext, action_id: int, user_id: str, user_name: str, approve: bool,
           channel: str | None, click_id: str) -> None:
    settings = jobs.settings_of(ctx)
    action = ctx.session.get(CustomerAction, action_id, with_for_update=True)
    if action is None or action.account_id != ctx.account.id:
        return
    if user_id not in settings.approvers:
        _tell(ctx, channel, user_id, click_id, "Only the approvers configured in Deskmate can answer this "
                                               "request; it is unchanged.")
        return
    if action.state != AWAITING_APPROVAL:
        by = f" by {action.approver_name}" if action.approver_name else ""
        _tell(ctx, channel, user_id, click_id, f"This request was already answered{by}: it is {action.state}.")
        return
    now = ctx.now()
    action.approver_slack_id, action.approver_name = user_id, user_name
    if approve:
        permissions.reserve(ctx.session, action, now)
        action.state, action.approved_at = APPROVED, now
        jobs.enqueue_perform(ctx, action)
        status = f":hourglass_flowing_sand: *Approved by <@{user_id}>*: the billing system is being asked now."
    else:
        action.state, action.finished_at = DECLINED, now
        action.refusal = f"declined by {user_name}"
        jobs.leave_note(ctx, action, settings)
        status = f":x: *Declined by <@{user_id}>*: nothing was done."
    _update(ctx, action, "answered", status, after=_key(action))


def _tell(ctx: PluginContext, channel: str | None, user_id: str, click_id: str, text: str) -> None:
    if channel:
        ctx.enqueue(jobs.EPHEMERAL_KIND, f"customer:ephemeral:{click_id}"[:250],
                    {"channel": channel, "user": user_id, "text": text})

