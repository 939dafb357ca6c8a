"""What an event does: a new ticket mentioning a watched word is recorded and tagged (through the core's work
kind)."""

from __future__ import annotations

import re
from typing import cast

from app.api import TICKET_UPDATE, Event, PluginContext, insert_for
from deskmate_watchword.models import Mention
from deskmate_watchword.settings import WatchwordSettings
from deskmate_watchword.words import active_words


def mentions(word: str, text: str) -> bool:
    """True when ``text`` has ``word`` as a whole word, in any case."""
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) is not None


def handle(event: Event, ctx: PluginContext) -> None:
    if event.type != "ticket.created" or event.ticket is None:
        return
    settings = cast(WatchwordSettings, ctx.settings)
    ticket = event.ticket
    text = f"{ticket.subject or ''}\n{ticket.description or ''}"
    # The settings' word first, then the words agents added from the sidebar (watched once the timer started them).
    candidates = [settings.word, *active_words(ctx.session, ctx.account.id, ctx.now())]
    word = next((candidate for candidate in candidates if mentions(candidate, text)), None)
    if word is None:
        return
    # Seeing the event again (a redelivery, a retry) inserts nothing and enqueues nothing new: both are keyed.
    ctx.session.execute(insert_for(ctx.session, Mention).values(
        account_id=ctx.account.id, ticket_id=ticket.id, requester_id=ticket.requester_id, word=word,
        seen_at=ctx.now(), reported_at=None,
    ).on_conflict_do_nothing())
    ctx.enqueue(TICKET_UPDATE, f"watchword:tag:ticket:{ticket.id}",
                {"ticket_id": ticket.id, "ticket": {"additional_tags": [settings.tag]}}, coalesce=True)
