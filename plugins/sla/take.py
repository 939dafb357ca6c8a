""""Take it": assign the ticket to the agent whose helpdesk email matches the Slack user who clicked.

The click arrives as a ``slack.block_actions`` event (stored by the core's ``POST /slack/interactions``, which
has already answered Slack); the work happens in ``sla.take_ticket``: Slack user -> email -> helpdesk agent ->
assignment -> the arrival message shows who took it. When it cannot, the clicker gets an ephemeral reply
saying why.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from slack_sdk.errors import SlackApiError

from app.api import ClaimedItem, Event, HelpdeskError, PermanentFailure, PluginContext
from plugins.sla import notify
from plugins.sla.messages import TAKE_ACTION
from plugins.sla.models import SlaClock

TAKE_KIND = "sla.take_ticket"
STAFF_ROLES = frozenset({"agent", "admin"})
# users.info errors that no retry changes: the clicking user is not one this workspace's token can see.
UNKNOWN_USER = frozenset({"user_not_found", "user_not_visible", "account_inactive"})
# chat.postEphemeral errors that mean the reply cannot reach that user in that channel, now or later.
UNREACHABLE = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel", "user_not_found",
                         "is_archived"})


def on_click(event: Event, ctx: PluginContext) -> None:
    """Turn each "Take it" click in the payload into a take work item (other plugins' buttons are ignored)."""
    payload = event.data
    user = (payload.get("user") or {}).get("id")
    channel = (payload.get("channel") or {}).get("id") or (payload.get("container") or {}).get("channel_id")
    for action in payload.get("actions") or []:
        if action.get("action_id") != TAKE_ACTION:
            continue
        value = str(action.get("value") or "")
        if not value.isdigit() or not user:
            ctx.log.warning("a Take it click without a ticket id or user: %r", value)
            continue
        stamp = action.get("action_ts") or event.id
        ctx.enqueue(TAKE_KIND, f"sla:take:{value}:{user}:{stamp}", {
            "ticket_id": int(value), "slack_user": user, "channel": channel,
            "response_url": payload.get("response_url"),
        })


def perform_take(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Assign the ticket to the clicking agent, or tell them why not (ephemeral)."""
    ticket_id, slack_user = int(item.payload["ticket_id"]), str(item.payload["slack_user"])
    try:
        email = _slack_email(ctx, slack_user)
    except SlackApiError as error:
        code = error.response.get("error")
        if code not in UNKNOWN_USER:
            raise
        # Asking again will not make the user exist (someone of another workspace in a shared channel, or
        # deactivated since the click): answer now, and finish the item even if the answer cannot reach them.
        return _refuse(ctx, item, f"Slack does not tell me who you are ({code}), so I cannot find your helpdesk "
                                  "account", finish_if_unreachable=True)
    if not email:
        return _refuse(ctx, item, "your Slack profile shows no email address to find you in the helpdesk by")
    agent = _agent_by_email(ctx, email)
    if agent is None:
        return _refuse(ctx, item, f"no helpdesk agent has the email {email}")
    ticket = _helpdesk(ctx, "GET", f"/tickets/{ticket_id}.json", None, "ticket")["ticket"]
    if ticket.get("status") in ("solved", "closed"):
        return _refuse(ctx, item, f"ticket #{ticket_id} is already {ticket['status']}")
    assignee = ticket.get("assignee_id")
    if assignee and int(assignee) != int(agent["id"]):
        owner = _user_name(ctx, int(assignee))
        return _refuse(ctx, item, f"ticket #{ticket_id} is already assigned to {owner}")
    if assignee is None:
        try:
            _helpdesk(ctx, "PUT", f"/tickets/{ticket_id}.json", {"ticket": {"assignee_id": agent["id"]}},
                      "assign")
        except HelpdeskError as error:
            if error.status == 422:  # e.g. the agent is not a member of the ticket's group
                body = error.body
                detail = (body.get("details") or body.get("description")) if isinstance(body, dict) else body
                return _refuse(ctx, item, f"the helpdesk refused the assignment: {detail}")
            raise
    # Helpdesk done; now the clock (locked only after every HTTP call) and the arrival message.
    clock = ctx.session.scalars(
        sa.select(SlaClock).where(SlaClock.account_id == ctx.account.id, SlaClock.ticket_id == ticket_id)
        .with_for_update()
    ).one_or_none()
    if clock is not None and clock.taken_by is None:
        clock.taken_by, clock.assignee_id = slack_user, int(agent["id"])
        notify.update_arrival(ctx, clock, "taken")
    return {"ticket_id": ticket_id, "assignee_id": int(agent["id"]), "email": email}


def _helpdesk(ctx: PluginContext, method: str, path: str, body: Any, what: str) -> Any:
    try:
        return ctx.zendesk.call(method, path, json=body, what=what)
    except HelpdeskError as error:
        if error.status == 404:
            raise PermanentFailure(f"{what}: not found in the helpdesk") from error
        raise


def _slack_email(ctx: PluginContext, slack_user: str) -> str | None:
    answer = ctx.slack.users_info(user=slack_user)
    profile = (answer.get("user") or {}).get("profile") or {}
    email = profile.get("email")
    return str(email).lower() if email else None


def _agent_by_email(ctx: PluginContext, email: str) -> dict[str, Any] | None:
    found = ctx.zendesk.call("GET", "/users/search.json", params={"query": f"email:{email}"},
                             what="find agent")
    for user in found.get("users") or []:
        if (str(user.get("email") or "").lower() == email and user.get("role") in STAFF_ROLES
                and user.get("active", True) and not user.get("suspended", False)):
            return dict(user)
    return None


def _user_name(ctx: PluginContext, user_id: int) -> str:
    try:
        user = ctx.zendesk.call("GET", f"/users/{user_id}.json", what="assignee")["user"]
        return str(user.get("name") or f"agent {user_id}")
    except Exception:  # a name is a courtesy; the refusal is what matters
        return f"agent {user_id}"


def _refuse(ctx: PluginContext, item: ClaimedItem, reason: str, *,
            finish_if_unreachable: bool = False) -> dict[str, Any]:
    """Tell only the clicker why the ticket is not theirs (an ephemeral message in the channel).

    When the reply cannot reach them, the item fails for good (an admin sees it), unless
    ``finish_if_unreachable``: for a clicker Slack does not know, that is expected, and the item is done.
    """
    text = f"I could not assign ticket #{item.payload['ticket_id']} to you: {reason}."
    channel = item.payload.get("channel")
    result: dict[str, Any] = {"ticket_id": item.payload["ticket_id"], "refused": reason}
    if channel:
        try:
            ctx.slack.chat_postEphemeral(channel=channel, user=item.payload["slack_user"], text=text)
        except SlackApiError as error:
            code = error.response.get("error")
            if code not in UNREACHABLE:
                raise
            if not finish_if_unreachable:
                raise PermanentFailure(f"ephemeral reply impossible: {code}") from error
            ctx.log.info("take refused for %s, who cannot be told: %s", item.payload["slack_user"], code)
            result["told"] = False
    return result
