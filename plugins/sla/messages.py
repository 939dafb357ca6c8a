"""The Slack messages, built with slack-sdk's Block Kit classes (they check Slack's limits), sent as dicts.

Deadlines use Slack's date formatting, so each reader sees them in their own time zone; the fallback text
(for clients that cannot format dates) is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    LinkButtonElement,
    MarkdownTextObject,
    SectionBlock,
)

from plugins.sla.models import ANSWERED, BREACHED, CLOSED, SlaClock

TAKE_ACTION = "sla_take"
OPEN_ACTION = "sla_open"


def escape(text: str) -> str:
    """Escape what Slack's mrkdwn treats as markup in text that came from a customer."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(moment: datetime) -> str:
    """``<!date^...>``: shown in the reader's own time zone; the fallback is UTC."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def minutes_text(minutes: float) -> str:
    whole = max(0, round(minutes))
    if whole < 120:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def segment_name(segment: str | None) -> str:
    return (segment or "new").replace("_", " ")


def ticket_url(helpdesk_url: str, ticket_id: int) -> str:
    """The ticket in the agent workspace of the account's helpdesk (``ctx.account.helpdesk_url``)."""
    return f"{helpdesk_url}/agent/tickets/{ticket_id}"


def _requester(clock: SlaClock) -> str:
    if clock.requester_name and clock.requester_email:
        return f"{escape(clock.requester_name)} ({escape(clock.requester_email)})"
    if clock.requester_name or clock.requester_email:
        return escape(clock.requester_name or clock.requester_email or "")
    return f"user {clock.requester_id}" if clock.requester_id else "unknown"


def _organization(clock: SlaClock) -> str:
    if clock.organization_name:
        return escape(clock.organization_name)
    return f"organization {clock.organization_id}" if clock.organization_id else "none"


def _target(clock: SlaClock) -> str:
    measure = " business" if clock.business_hours else ""
    return f"{clock.target_minutes}{measure} min" if clock.target_minutes else "none"


def _status_line(clock: SlaClock) -> str | None:
    if clock.state == ANSWERED and clock.reply_minutes is not None:
        if clock.breached_at is not None:
            return (f":warning: Answered in {minutes_text(clock.reply_minutes)}, "
                    f"after the {_target(clock)} target had passed")
        return f":white_check_mark: Answered in {minutes_text(clock.reply_minutes)} (target {_target(clock)})"
    if clock.state == BREACHED:
        return f":red_circle: Target missed: no public reply within {_target(clock)}"
    if clock.state == CLOSED:
        return ":heavy_minus_sign: Solved or closed without a public reply"
    return None


def arrival(clock: SlaClock, helpdesk_url: str) -> dict[str, Any]:
    """The arrival message, rendered for the clock's current state (used for the post and every update)."""
    title = f"New {segment_name(clock.segment)} ticket #{clock.ticket_id}"
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        SectionBlock(
            text=MarkdownTextObject(text=f"*<{ticket_url(helpdesk_url, clock.ticket_id)}|"
                                         f"{escape((clock.subject or '(no subject)')[:500])}>*"),
            fields=[
                MarkdownTextObject(text=f"*Requester*\n{_requester(clock)}"),
                MarkdownTextObject(text=f"*Organization*\n{_organization(clock)}"),
                MarkdownTextObject(text=f"*Priority*\n{(clock.priority or 'none').capitalize()}"),
                MarkdownTextObject(text=f"*First reply due*\n{slack_date(clock.due_at)} ({_target(clock)})"
                                   if clock.due_at else f"*First reply due*\nno target ({_target(clock)})"),
            ],
        ),
    ]
    context = [line for line in (
        _status_line(clock),
        f":raising_hand: Taken by <@{clock.taken_by}>" if clock.taken_by else None,
    ) if line]
    if context:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line) for line in context]))
    url = ticket_url(helpdesk_url, clock.ticket_id)
    buttons: list[Any] = [LinkButtonElement(text="Open in helpdesk", url=url, action_id=OPEN_ACTION)]
    if clock.state not in (ANSWERED, CLOSED) and not clock.taken_by:
        buttons.append(ButtonElement(text="Take it", action_id=TAKE_ACTION, value=str(clock.ticket_id),
                                     style="primary"))
    blocks.append(ActionsBlock(elements=buttons))
    status = _status_line(clock)
    text = f"{title}: {clock.subject or '(no subject)'}" + (f" ({status})" if status else "")
    return {"text": text[:3000], "blocks": [block.to_dict() for block in blocks]}


def _mention(clock: SlaClock) -> str:
    return f" <!subteam^{clock.mention}>" if clock.mention else ""


def reminder(clock: SlaClock, remaining_minutes: float) -> dict[str, Any]:
    """A thread reply: the deadline is getting close (says the time actually left, however late it runs)."""
    assert clock.due_at is not None
    text = (f":alarm_clock: {minutes_text(remaining_minutes)} left to reply to #{clock.ticket_id} "
            f"(due {slack_date(clock.due_at)}).{_mention(clock)}")
    return {"text": text, "blocks": [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]}


def breach(clock: SlaClock) -> dict[str, Any]:
    """A thread reply: the first-reply target has passed without a public reply."""
    assert clock.due_at is not None
    text = (f":red_circle: First-reply target missed on #{clock.ticket_id}: "
            f"no public reply within {_target(clock)} (due {slack_date(clock.due_at)}).{_mention(clock)}")
    return {"text": text, "blocks": [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]}
