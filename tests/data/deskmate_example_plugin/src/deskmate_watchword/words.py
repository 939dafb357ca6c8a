"""Other words to watch, added by agents from the sidebar (a ``form`` block) for a number of days.

A word added is pending until the ``words`` timer starts it: the sidebar's list of words is a ``deferred`` block
that asks to be refreshed (``refresh_seconds``) while one is pending, the way a panel shows work the worker has
not done yet. Then new tickets mentioning it are recorded and tagged like the settings' word.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api import PluginContext
from deskmate_watchword.models import Word
from deskmate_watchword.settings import WatchwordSettings

TIMER_SECONDS = 60
MAX_DAYS = 30
REFRESH_SECONDS = 2
WORD = re.compile(r"^\w[\w-]{1,39}$")

# The reply an agent may insert for the requester, in the requester's language (not the agent's).
REPLIES = {
    "en": "Thank you for letting us know. We are now following every report about “{word}” and will update you "
          "as soon as we know more.",
    "it": "Grazie della segnalazione. Stiamo seguendo tutte le segnalazioni su «{word}» e ti aggiorneremo appena "
          "ne sapremo di più.",
    "fr": "Merci pour votre signalement. Nous suivons désormais chaque signalement concernant « {word} » et vous "
          "tiendrons informé dès que nous en saurons plus.",
}


class Refused(Exception):
    """A form value the plugin will not take: ``field`` names the input, ``message`` is a sidebar text."""

    def __init__(self, field: str, message: dict[str, Any]) -> None:
        super().__init__(message["t"])
        self.field = field
        self.message = message


def watched(session: Session, account_id: int, now: datetime) -> list[Word]:
    """The account's added words, pending or still watched, oldest first."""
    return list(session.scalars(
        sa.select(Word).where(Word.account_id == account_id,
                              sa.or_(Word.active_until.is_(None), Word.active_until > now))
        .order_by(Word.id)))


def active_words(session: Session, account_id: int, now: datetime) -> list[str]:
    """The added words watched right now (not the pending ones)."""
    return list(session.scalars(
        sa.select(Word.word).where(Word.account_id == account_id, Word.active_until > now).order_by(Word.id)))


def by_request(session: Session, account_id: int, request_id: str) -> Word | None:
    return session.scalar(sa.select(Word).where(Word.account_id == account_id, Word.request_id == request_id))


def clean(body: dict[str, Any], ctx: PluginContext) -> tuple[str, int]:
    """The form's word (lower-case) and days, or ``Refused`` naming the field."""
    settings = ctx.settings_as(WatchwordSettings)
    word = body.get("word")
    if not isinstance(word, str) or not WORD.match(word.strip()):
        raise Refused("word", {"t": "watchword.word_invalid"})
    word = word.strip().lower()
    taken = {settings.word.lower(), *(row.word for row in watched(ctx.session, ctx.account.id, ctx.now()))}
    if word in taken:
        raise Refused("word", {"t": "watchword.word_taken", "args": {"word": word}})
    days = body.get("days")
    if isinstance(days, float) and days.is_integer():
        days = int(days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise Refused("days", {"t": "watchword.days_invalid", "args": {"max": MAX_DAYS}})
    return word, days


def reply(word: str, locale: str | None) -> str:
    language = (locale or "en").lower().replace("_", "-").split("-")[0]
    return REPLIES.get(language, REPLIES["en"]).format(word=word)


def activate(ctx: PluginContext) -> None:
    """The ``words`` timer: pending words start now, for their number of days."""
    now = ctx.now()
    for row in ctx.session.scalars(sa.select(Word).where(Word.account_id == ctx.account.id,
                                                         Word.active_until.is_(None))):
        row.active_until = now + timedelta(days=row.days)


def listing(ctx: PluginContext) -> dict[str, Any]:
    """The deferred block's answer: the added words, and ``refresh_seconds`` while one is pending."""
    settings = ctx.settings_as(WatchwordSettings)
    rows = watched(ctx.session, ctx.account.id, ctx.now())
    items = [{
        "id": row.id,
        "title": {"t": "watchword.word", "args": {"word": row.word}},
        "badge": ({"text": {"t": "watchword.pending"}, "tone": "yellow"} if row.active_until is None else
                  {"text": {"t": "watchword.until", "args": {"day": {"day": row.active_until.date().isoformat()}}},
                   "tone": "green"}),
    } for row in rows]
    answer: dict[str, Any] = {
        "blocks": [{"type": "list", "name": "watchword-words", "title": {"t": "watchword.words_title"},
                    "items": items}] if items else [],
        "empty": {"t": "watchword.words_empty", "args": {"word": settings.word}},
    }
    if any(row.active_until is None for row in rows):
        answer["refresh_seconds"] = REFRESH_SECONDS
    return answer
