"""Readable HTML for recorded Slack messages: mrkdwn, Block Kit blocks, threads, edits and files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from .mrkdwn import emoji, message_time, mrkdwn
from .state import SlackState

__all__ = ["mrkdwn", "render_block", "thread_view", "when"]


def _text(obj: dict[str, Any] | None, state: SlackState) -> Markup:
    if not obj:
        return Markup("")
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), state)
    text = escape(str(obj.get("text", "")))
    # plain_text shows :shortcodes: as emoji unless the object says "emoji": false, as in Slack.
    return Markup(emoji(str(text))) if obj.get("emoji", True) else text  # noqa: S704


def _element(element: dict[str, Any], state: SlackState) -> Markup:
    kind = element.get("type")
    if kind == "button":
        style = f" btn-{element['style']}" if element.get("style") else ""
        return Markup(
            '<button class="btn{}" data-action-id="{}" data-value="{}" data-url="{}">{}</button>'
        ).format(
            style,
            element.get("action_id", ""),
            element.get("value", ""),
            element.get("url", ""),
            _text(element.get("text"), state),
        )
    if kind == "image":
        return Markup('<img class="ctx-img" src="{}" alt="{}">').format(
            element.get("image_url", ""), element.get("alt_text", "")
        )
    if kind in ("static_select", "overflow", "users_select", "datepicker"):
        return Markup('<span class="select">{} ▾</span>').format(
            _text(element.get("placeholder"), state) or kind
        )
    if kind in ("mrkdwn", "plain_text"):
        return _text(element, state)
    return Markup('<span class="unknown">[{}]</span>').format(kind)


def _join(items: list[Markup]) -> Markup:
    return Markup(" ").join(items)


def render_block(block: dict[str, Any], state: SlackState) -> Markup:
    """One Block Kit block as HTML."""
    kind = block.get("type")
    if kind == "section":
        parts = [Markup('<div class="section-text">{}</div>').format(_text(block.get("text"), state))]
        if block.get("fields"):
            fields = _join(
                [Markup('<div class="field">{}</div>').format(_text(f, state)) for f in block["fields"]]
            )
            parts.append(Markup('<div class="fields">{}</div>').format(fields))
        if block.get("accessory"):
            parts.append(
                Markup('<div class="accessory">{}</div>').format(_element(block["accessory"], state))
            )
        return Markup('<div class="block section">{}</div>').format(_join(parts))
    if kind == "header":
        return Markup('<div class="block header">{}</div>').format(_text(block.get("text"), state))
    if kind == "divider":
        return Markup('<hr class="block divider">')
    if kind in ("context", "actions"):
        items = _join([_element(e, state) for e in block.get("elements") or []])
        return Markup('<div class="block {}">{}</div>').format(kind, items)
    if kind == "image":
        return Markup('<div class="block image"><div>{}</div><img src="{}" alt="{}"></div>').format(
            _text(block.get("title"), state), block.get("image_url", ""), block.get("alt_text", "")
        )
    if kind == "rich_text":
        words = []
        for section in block.get("elements") or []:
            for item in section.get("elements") or []:
                words.append(str(item.get("text") or item.get("url") or ""))
        return Markup('<div class="block rich">{}</div>').format(mrkdwn("".join(words), state))
    return Markup('<div class="block unknown">[{} block]</div>').format(kind)


def when(ts: str) -> str:
    """A message's time as Slack writes it beside the author ("9:41 PM"), in this machine's time zone."""
    return message_time(datetime.fromtimestamp(float(ts)).astimezone())


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
