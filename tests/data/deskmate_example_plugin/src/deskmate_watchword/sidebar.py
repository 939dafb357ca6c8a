"""The sidebar panel: whether the open ticket mentions the watch word, the other tickets that did, the words
agents added (a ``deferred`` block) and a ``form`` to add one.

Data only, in the block shape of ``docs/plugins.md`` (*sidebar_panels*); the core renders it. It reads the
plugin's own table (one indexed query or two) and the ticket the core hands over, never the helpdesk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.api import PluginContext, SidebarTicket, load_sidebar_messages
from deskmate_watchword import queries
from deskmate_watchword.models import Mention
from deskmate_watchword.settings import WatchwordSettings
from deskmate_watchword.words import MAX_DAYS

LISTED = 5
LIST_TITLES = {"requester": "watchword.requester_mentions", "account": "watchword.account_mentions"}
MESSAGES = Path(__file__).resolve().parent / "sidebar_ui" / "i18n"
SIDEBAR_API = "/sidebar/api/watchword"


def messages() -> dict[str, dict[str, Any]]:
    """``{language: {key: text}}`` from ``sidebar_ui/i18n/<language>.json`` (keys under ``watchword.``)."""
    return load_sidebar_messages(MESSAGES)


def add_word_form(ticket: SidebarTicket, settings: WatchwordSettings) -> dict[str, Any]:
    """The ``form`` block adding a word: previewed and posted to the plugin's sidebar routes (``views.py``)."""
    return {
        "type": "form", "name": "watchword-add",
        "open": {"t": "watchword.add_open"},
        "fields": [
            {"name": "word", "label": {"t": "watchword.word_label"}, "kind": "text", "required": True,
             "help": {"t": "watchword.word_help", "args": {"word": settings.word}}},
            {"name": "days", "label": {"t": "watchword.days_label"}, "kind": "number", "value": 7, "min": 1,
             "max": MAX_DAYS, "required": True},
        ],
        "body": {"ticket_id": ticket.id},
        "preview": f"{SIDEBAR_API}/words/preview",
        "post": f"{SIDEBAR_API}/words",
        "submit": {"t": "watchword.add_submit"},
        "tone": "primary",
    }


def panel(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any]:
    settings = ctx.settings_as(WatchwordSettings)
    account_id = ctx.account.id
    own = ctx.session.scalar(queries.mentions_for_ticket(account_id, ticket.id))
    word = own.word if own is not None else settings.word
    scope = "requester"
    others: list[Mention] = []
    if ticket.requester_id is not None:
        others = list(ctx.session.scalars(queries.requester_mentions(
            account_id, ticket.requester_id, exclude_ticket=ticket.id, limit=LISTED)))
    if not others:
        scope = "account"
        others = list(ctx.session.scalars(queries.recent(account_id, LISTED, exclude_ticket=ticket.id)))
    blocks: list[dict[str, Any]] = []
    if own is not None or others:
        badge = ({"text": {"t": "watchword.mentioned", "args": {"word": word}}, "tone": "yellow"}
                 if own is not None else {"text": {"t": "watchword.not_mentioned", "args": {"word": word}}})
        blocks.append({"type": "badges", "name": "watchword-ticket", "items": [badge]})
    else:  # with neither, the empty text says it all; a block, since the added words and the form follow it
        blocks.append({"type": "text", "text": {"t": "watchword.empty", "args": {"word": word}}, "empty": True})
    if others:
        blocks.append({
            "type": "list", "name": f"watchword-{scope}",
            "title": {"t": LIST_TITLES[scope], "args": {"count": len(others)}},
            "items": [{"id": mention.ticket_id, "title": {"t": "watchword.ticket", "args": {"id": mention.ticket_id}},
                       "href": f"{ctx.account.helpdesk_url}/agent/tickets/{mention.ticket_id}",
                       "aside": {"date": mention.seen_at.isoformat()}} for mention in others],
        })
    blocks.append({"type": "deferred", "source": f"{SIDEBAR_API}/words"})
    blocks.append(add_word_form(ticket, settings))
    return {
        "title": {"t": "watchword.title"},
        "blocks": blocks,
        "empty": {"t": "watchword.empty", "args": {"word": word}},
        "data": {"word": word, "mentioned": own is not None, "scope": scope if others else None,
                 "tickets": [mention.ticket_id for mention in others]},
    }
