"""Slack's mrkdwn as Slack shows it: dates in the reader's time, emoji, emphasis, links, mentions.

What Slack documents in "Formatting text for app surfaces": ``<!date^ts^format^link|fallback>`` with the
tokens ``{date_num}``, ``{date_slash}``, ``{date}``, ``{date_short}``, ``{date_long}``, the ``_pretty``
variants (today, yesterday, tomorrow), ``{time}``, ``{time_secs}`` and ``{ago}``; ``:shortcode:`` emoji;
``*bold*``, ``_italic_``, ``~strike~``, ``code`` and fenced blocks; ``<url|label>``, ``<@U…>``, ``<#C…>``,
``<!here>`` and ``<!subteam^S…>``. Text arrives escaped the way Slack asks (``&amp;``, ``&lt;``, ``&gt;``), so
those three are read back before the HTML is written.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from typing import Any

from markupsafe import Markup, escape

# The shortcodes Deskmate's messages use, and common ones people add; an unknown code stays as typed.
EMOJI = {
    "alarm_clock": "⏰", "bell": "🔔", "bulb": "💡", "calendar": "📅", "clock1": "🕐", "construction": "🚧",
    "credit_card": "💳", "eyes": "👀", "exclamation": "❗", "fire": "🔥", "heart": "❤️",
    "heavy_check_mark": "✔️", "heavy_minus_sign": "\u2796", "heavy_plus_sign": "\u2795", "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳", "information_source": "\u2139\ufe0f", "large_green_circle": "🟢",
    "large_orange_circle": "🟠", "large_yellow_circle": "🟡", "link": "🔗", "lock": "🔒", "mag": "🔍",
    "memo": "📝", "money_with_wings": "💸", "no_entry": "⛔", "ok_hand": "👌", "pushpin": "📌",
    "question": "❓", "raising_hand": "🙋", "red_circle": "🔴", "repeat": "🔁", "rocket": "🚀",
    "rotating_light": "🚨", "sparkles": "✨", "speech_balloon": "💬", "star": "⭐", "stopwatch": "⏱️",
    "tada": "🎉", "thumbsdown": "👎", "-1": "👎", "thumbsup": "👍", "+1": "👍", "ticket": "🎫",
    "warning": "⚠️", "wave": "👋", "white_check_mark": "✅", "wrench": "🔧", "x": "❌",
}

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_LINK_SCHEMES = ("http://", "https://", "mailto:")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def message_time(moment: datetime, seconds: bool = False) -> str:
    """Slack's 12-hour clock: "9:41 PM", with ``seconds`` "9:41:07 PM"."""
    hour = moment.hour % 12 or 12
    clock = f"{hour}:{moment.minute:02d}" + (f":{moment.second:02d}" if seconds else "")
    return f"{clock} {'AM' if moment.hour < 12 else 'PM'}"


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((now - moment).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for size, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400, "day"), (3600, "hour"),
                       (60, "minute")):
        if seconds >= size:
            count = seconds // size
            words = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"in {words}" if future else f"{words} ago"
    return "in a few seconds" if future else "just now"


def format_date(timestamp: int, template: str, *, now: datetime, tz: tzinfo | None) -> str:
    """A ``<!date>`` template's tokens filled for ``timestamp`` (seconds) in the reader's time zone ``tz``.

    Raises:
        ValueError, OverflowError, OSError: the timestamp is not a date (the caller shows the fallback).
    """
    moment = datetime.fromtimestamp(timestamp, tz).astimezone(tz)
    today = now.astimezone(tz).date()
    plain = {
        "date_num": moment.strftime("%Y-%m-%d"),
        "date_slash": moment.strftime("%m/%d/%Y"),
        "date": f"{_MONTHS[moment.month - 1]} {_ordinal(moment.day)}, {moment.year}",
        "date_short": f"{_MONTHS[moment.month - 1][:3]} {moment.day}, {moment.year}",
        "date_long": f"{_DAYS[moment.weekday()]}, {_MONTHS[moment.month - 1]} {_ordinal(moment.day)}, "
                     f"{moment.year}",
        "time": message_time(moment),
        "time_secs": message_time(moment, seconds=True),
        "ago": _ago(moment, now),
    }
    relative = {today: "today", today - timedelta(days=1): "yesterday",
                today + timedelta(days=1): "tomorrow"}.get(moment.date())
    for kind in ("date", "date_short", "date_long"):
        plain[f"{kind}_pretty"] = relative or plain[kind]

    def token(match: re.Match[str]) -> str:
        value = plain.get(match.group(1))
        if value is None:
            return match.group(0)
        # Slack capitalises a relative day that opens the text ("Today at 9:30 AM").
        return value[:1].upper() + value[1:] if match.start() == 0 and value == relative else value

    return re.sub(r"\{(\w+)\}", token, template)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emoji(text: str) -> str:
    """``:shortcode:`` replaced by its emoji where known (``text`` is HTML or plain; codes hold no markup)."""
    return re.sub(r":([a-z0-9_+-]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), text)


class _Renderer:
    def __init__(self, state: Any, now: datetime, tz: tzinfo | None) -> None:
        self.state, self.now, self.tz = state, now, tz
        self.kept: list[str] = []

    def keep(self, html: Markup | str) -> str:
        """Set finished HTML aside behind a marker, so later passes (emphasis, emoji) leave it alone."""
        self.kept.append(str(html))
        return f"\x00{len(self.kept) - 1}\x00"

    def restore(self, html: str) -> str:
        while "\x00" in html:
            html = re.sub(r"\x00(\d+)\x00", lambda m: self.kept[int(m.group(1))], html)
        return html

    def token(self, body: str) -> Markup:
        """One ``<…>`` of Slack's: a mention, a channel, a special mention, a date or a link."""
        inner, _, label = body.partition("|")
        if inner.startswith("@"):
            user = self.state.users.get(inner[1:]) if self.state else None
            name = user.get("real_name") or user.get("name") if user else (label or inner[1:])
            return Markup('<span class="mention">@{}</span>').format(name)
        if inner.startswith("#"):
            found = self.state.channels.get(inner[1:]) if self.state else None
            return Markup('<span class="mention">#{}</span>').format(found["name"] if found else label or inner[1:])
        if inner.startswith("!date^"):
            return self.date(inner, label)
        if inner.startswith("!subteam^"):
            return Markup('<span class="mention">{}</span>').format(label or "@" + inner.split("^", 1)[1])
        if inner in ("!here", "!channel", "!everyone"):
            return Markup('<span class="mention">@{}</span>').format(inner[1:])
        if inner.startswith("!"):
            return escape(_unescape(label or inner))
        url = _unescape(inner)
        text = self.inline(label) if label else escape(url)
        if url.startswith(_LINK_SCHEMES):
            return Markup('<a href="{}" target="_blank" rel="noopener">{}</a>').format(url, text)
        return text

    def date(self, inner: str, fallback: str) -> Markup:
        parts = inner.split("^", 3)  # !date, timestamp, template, optional link
        try:
            text = format_date(int(parts[1]), _unescape(parts[2]), now=self.now, tz=self.tz)
        except (IndexError, ValueError, OverflowError, OSError):
            return escape(_unescape(fallback))
        shown = Markup('<time title="{}">{}</time>').format(_unescape(fallback), text)
        link = _unescape(parts[3]) if len(parts) > 3 else ""
        if link.startswith(_LINK_SCHEMES):
            return Markup('<a href="{}" target="_blank" rel="noopener">{}</a>').format(link, shown)
        return shown

    def inline(self, text: str) -> Markup:
        """Text without fenced blocks: tokens and code spans set aside, then emphasis and emoji."""
        text = re.sub(r"<([^<>\n]+)>", lambda m: self.keep(self.token(m.group(1))), text)
        html = str(escape(_unescape(text)))
        # A code span's text is already escaped: kept as it is, so neither emphasis nor emoji touch it.
        html = re.sub(r"`([^`\n]+)`", lambda m: self.keep(f"<code>{m.group(1)}</code>"), html)
        html = re.sub(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])", r"<b>\1</b>", html)
        html = re.sub(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])", r"<i>\1</i>", html)
        html = re.sub(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])", r"<s>\1</s>", html)
        # Everything in `html` was escaped before the tags above were added; markers hold finished HTML.
        return Markup(emoji(html))  # noqa: S704

    def render(self, text: str) -> Markup:
        pieces = re.split(r"```(.+?)```", text, flags=re.S)
        html = "".join(
            self.keep(Markup("<pre>{}</pre>").format(_unescape(piece.strip("\n")))) if odd else str(self.inline(piece))
            for odd, piece in ((n % 2 == 1, piece) for n, piece in enumerate(pieces))
        )
        return Markup(self.restore(html.replace("\n", "<br>")))  # noqa: S704


def mrkdwn(text: str, state: Any = None, *, now: datetime | None = None, tz: tzinfo | None = None) -> Markup:
    """Render Slack mrkdwn as HTML the way Slack shows it.

    Args:
        state: the Slack workspace (``SlackState``) whose users and channels mentions name; None shows ids.
        now: the reader's present, for today/yesterday and ``{ago}`` (default: the current time).
        tz: the reader's time zone (default: this machine's, which is the reader's under ``make run``).
    """
    return _Renderer(state, now or datetime.now().astimezone(), tz).render(text)
