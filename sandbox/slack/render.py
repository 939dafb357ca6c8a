"""Readable HTML for recorded Slack messages: mrkdwn, Block Kit blocks, threads, edits and files."""

from __future__ import annotations

import re
import time
from typing import Any

from markupsafe import Markup, escape

from .state import SlackState


def mrkdwn(text: str, state: SlackState | None = None) -> Markup:
    """Render Slack mrkdwn (bold, italics, strike, code, links, mentions, line breaks) as HTML."""
    html = str(escape(text))

    def mention(match: re.Match[str]) -> str:
        user = state.users.get(match.group(1)) if state else None
        return f'<span class="mention">@{escape(user["name"]) if user else match.group(1)}</span>'

    def channel(match: re.Match[str]) -> str:
        found = state.channels.get(match.group(1)) if state else None
        label = match.group(2)[1:] if match.group(2) else (found["name"] if found else match.group(1))
        return f'<span class="mention">#{escape(label)}</span>'

    html = re.sub(r"```(.+?)```", r"<pre>\1</pre>", html, flags=re.S)
    html = re.sub(r"&lt;(https?://[^|&\s]+)\|([^&]+?)&gt;", r'<a href="\1" target="_blank">\2</a>', html)
    html = re.sub(r"&lt;(https?://[^&\s]+)&gt;", r'<a href="\1" target="_blank">\1</a>', html)
    html = re.sub(r"&lt;@(U\w+)(?:\|[^&]*)?&gt;", mention, html)
    html = re.sub(r"&lt;#(C\w+)(\|[^&]*)?&gt;", channel, html)
    html = re.sub(r"&lt;!(here|channel|everyone)&gt;", r'<span class="mention">@\1</span>', html)
    html = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", html)
    html = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", html)
    html = re.sub(r"(?<![\w~])~([^~\n]+)~(?![\w~])", r"<s>\1</s>", html)
    html = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", html)
    return Markup(html.replace("\n", "<br>"))


def _text(obj: dict[str, Any] | None, state: SlackState) -> Markup:
    if not obj:
        return Markup("")
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), state)
    return Markup(escape(str(obj.get("text", ""))))


def _element(element: dict[str, Any], state: SlackState) -> Markup:
    kind = element.get("type")
    if kind == "button":
        style = f" btn-{escape(element['style'])}" if element.get("style") else ""
        link = f' data-url="{escape(element["url"])}"' if element.get("url") else ""
        return Markup(
            f'<button class="btn{style}" data-action-id="{escape(element.get("action_id", ""))}"'
            f' data-value="{escape(element.get("value", ""))}"{link}>'
            f"{_text(element.get('text'), state)}</button>"
        )
    if kind == "image":
        return Markup(
            f'<img class="ctx-img" src="{escape(element.get("image_url", ""))}" '
            f'alt="{escape(element.get("alt_text", ""))}">'
        )
    if kind in ("static_select", "overflow", "users_select", "datepicker"):
        placeholder = _text(element.get("placeholder"), state) or kind
        return Markup(f'<span class="select">{placeholder} ▾</span>')
    if kind in ("mrkdwn", "plain_text"):
        return _text(element, state)
    return Markup(f'<span class="unknown">[{escape(str(kind))}]</span>')


def render_block(block: dict[str, Any], state: SlackState) -> Markup:
    """One Block Kit block as HTML."""
    kind = block.get("type")
    if kind == "section":
        parts = [f'<div class="section-text">{_text(block.get("text"), state)}</div>']
        if block.get("fields"):
            fields = "".join(f'<div class="field">{_text(f, state)}</div>' for f in block["fields"])
            parts.append(f'<div class="fields">{fields}</div>')
        if block.get("accessory"):
            parts.append(f'<div class="accessory">{_element(block["accessory"], state)}</div>')
        return Markup(f'<div class="block section">{"".join(parts)}</div>')
    if kind == "header":
        return Markup(f'<div class="block header">{_text(block.get("text"), state)}</div>')
    if kind == "divider":
        return Markup('<hr class="block divider">')
    if kind == "context":
        items = " ".join(str(_element(e, state)) for e in block.get("elements") or [])
        return Markup(f'<div class="block context">{items}</div>')
    if kind == "actions":
        items = " ".join(str(_element(e, state)) for e in block.get("elements") or [])
        return Markup(f'<div class="block actions">{items}</div>')
    if kind == "image":
        title = _text(block.get("title"), state)
        return Markup(
            f'<div class="block image"><div>{title}</div><img src="{escape(block.get("image_url", ""))}"'
            f' alt="{escape(block.get("alt_text", ""))}"></div>'
        )
    if kind == "rich_text":
        words = []
        for section in block.get("elements") or []:
            for item in section.get("elements") or []:
                words.append(str(item.get("text") or item.get("url") or ""))
        return Markup(f'<div class="block rich">{mrkdwn("".join(words), state)}</div>')
    return Markup(f'<div class="block unknown">[{escape(str(kind))} block]</div>')


def when(ts: str) -> str:
    """Local-time label for a message ts."""
    return time.strftime("%H:%M:%S", time.localtime(float(ts)))


def thread_view(state: SlackState, channel_id: str) -> list[dict[str, Any]]:
    """Top-level messages of a channel, each with its replies, oldest first."""
    messages = state.all_messages(channel_id)
    replies: dict[str, list[dict[str, Any]]] = {}
    top = []
    for message in messages:
        if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
            replies.setdefault(message["thread_ts"], []).append(message)
            if message.get("subtype") != "thread_broadcast":
                continue
        top.append(message)
    return [{"message": m, "replies": replies.get(m["ts"], [])} for m in top]
