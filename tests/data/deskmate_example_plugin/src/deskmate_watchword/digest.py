"""The timed pass: mentions not reported yet become one Slack message; a second run (or worker) adds nothing."""

from __future__ import annotations

from typing import cast

from app.api import SLACK_POST, PluginContext
from deskmate_watchword import queries
from deskmate_watchword.settings import WatchwordSettings

EVERY_SECONDS = 300
MAX_PER_DIGEST = 50


def run(ctx: PluginContext) -> None:
    settings = cast(WatchwordSettings, ctx.settings)
    if not settings.digest_channel:
        return
    due = list(ctx.session.scalars(queries.unreported(ctx.account.id, MAX_PER_DIGEST)))
    if not due:
        return
    tickets = ", ".join(f"#{mention.ticket_id}" for mention in due)
    words = " or ".join(f"“{word}”" for word in dict.fromkeys(mention.word for mention in due))
    # The key names exactly these rows: two workers running this pass at once enqueue one message.
    ctx.enqueue(SLACK_POST, f"watchword:digest:{due[0].id}-{due[-1].id}", {
        "channel": settings.digest_channel,
        "text": f"{len(due)} new ticket{'s' if len(due) != 1 else ''} mention {words}: {tickets}",
    })
    for mention in due:
        mention.reported_at = ctx.now()
