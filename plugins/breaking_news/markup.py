"""The small Markdown subset incidents are written in, parsed into blocks, rendered to sanitised HTML.

Supported: paragraphs (blank lines), line breaks, bullet lists (``- `` or ``* ``), ``**bold**``,
``*italic*`` or ``_italic_``, `` `code` ``, ``[label](https://...)`` and bare ``https://`` addresses. Nothing
else is markup: raw HTML is text (escaped), and a link whose address is not plain ``http``/``https`` is shown
as its label.

The same blocks serve two readers: the widget builds DOM nodes from them with text APIs only (it never sees
HTML), and everything that needs HTML (the Atom feed, the admin page, the sidebar) gets ``to_html``, which is
escaped by construction and then cleaned by ``nh3`` as a second, independent line of defence.
"""

from __future__ import annotations

import html
import re
from typing import Any

import nh3

Inline = dict[str, Any]
Block = dict[str, Any]

ALLOWED_TAGS = {"p", "ul", "li", "strong", "em", "code", "a", "br"}
SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\\\x00-\x1f\x7f]+$", re.IGNORECASE)
_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<href>(?:[^()\s]|\([^()\s]*\))+)\)"
    r"|\*\*(?P<strong>[^*\n]+?)\*\*"
    r"|\*(?P<em>[^*\n]+?)\*"
    r"|(?<![\w])_(?P<em2>[^_\n]+?)_(?![\w])"
    r"|(?P<url>https?://[^\s<>\"'`]+)",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
MAX_SOURCE_CHARS = 20_000


def safe_url(value: str) -> str | None:
    """The address if it is a plain http(s) URL without anything that could smuggle script; else None."""
    value = value.strip()
    return value if SAFE_URL.match(value) else None


def _inlines(text: str) -> list[Inline]:
    nodes: list[Inline] = []
    position = 0

    def plain(chunk: str) -> None:
        lines = chunk.split("\n")
        for index, line in enumerate(lines):
            if index:
                nodes.append({"type": "br"})
            if line:
                if nodes and nodes[-1]["type"] == "text":
                    nodes[-1]["text"] += line
                else:
                    nodes.append({"type": "text", "text": line})

    for match in _INLINE.finditer(text):
        plain(text[position:match.start()])
        position = match.end()
        if match["code"] is not None:
            nodes.append({"type": "code", "text": match["code"]})
        elif match["label"] is not None:
            href = safe_url(match["href"])
            if href:
                nodes.append({"type": "link", "text": match["label"], "href": href})
            else:
                plain(match["label"])  # an unsafe or odd address: keep the words, drop the link
        elif match["strong"] is not None:
            nodes.append({"type": "strong", "text": match["strong"]})
        elif match["em"] is not None or match["em2"] is not None:
            nodes.append({"type": "em", "text": match["em"] or match["em2"]})
        else:
            url = match["url"].rstrip(".,;:!?)")
            position = match.start() + len(url)
            href = safe_url(url)
            if href:
                nodes.append({"type": "link", "text": url, "href": href})
            else:
                plain(url)
    plain(text[position:])
    return nodes


def parse(source: str) -> list[Block]:
    """Parse the subset into blocks: ``{"type": "p", "children": [...]}`` or ``{"type": "ul", ...}``."""
    blocks: list[Block] = []
    source = source.replace("\r\n", "\n").replace("\r", "\n")[:MAX_SOURCE_CHARS]
    paragraph: list[str] = []
    items: list[list[Inline]] = []

    def flush() -> None:
        if paragraph:
            blocks.append({"type": "p", "children": _inlines("\n".join(paragraph).strip())})
            paragraph.clear()
        if items:
            blocks.append({"type": "ul", "items": list(items)})
            items.clear()

    for chunk in re.split(r"\n\s*\n", source.strip()):
        for line in (line for line in chunk.split("\n") if line.strip()):
            bullet = _BULLET.match(line)
            if (bullet and paragraph) or (not bullet and items):
                flush()  # a list starts or ends: the other kind of block is complete
            if bullet:
                items.append(_inlines(bullet.group(1).strip()))
            else:
                paragraph.append(line.strip())
        flush()
    return blocks


def _inline_html(nodes: list[Inline]) -> str:
    parts = []
    for node in nodes:
        kind = node["type"]
        if kind == "br":
            parts.append("<br>")
            continue
        text = html.escape(node["text"])
        if kind == "text":
            parts.append(text)
        elif kind == "link":
            parts.append(f'<a href="{html.escape(node["href"], quote=True)}">{text}</a>')
        else:
            parts.append(f"<{kind}>{text}</{kind}>")
    return "".join(parts)


def blocks_html(blocks: list[Block]) -> str:
    """HTML for parsed blocks, escaped by construction and cleaned by nh3."""
    parts = []
    for block in blocks:
        if block["type"] == "p":
            parts.append(f"<p>{_inline_html(block['children'])}</p>")
        else:
            items = "".join(f"<li>{_inline_html(item)}</li>" for item in block["items"])
            parts.append(f"<ul>{items}</ul>")
    return sanitise("".join(parts))


def to_html(source: str) -> str:
    """Render the Markdown subset to sanitised HTML."""
    return blocks_html(parse(source))


def sanitise(markup: str) -> str:
    """Clean HTML with nh3: only the subset's tags, only http(s) links, rel=noopener noreferrer nofollow."""
    return nh3.clean(markup, tags=ALLOWED_TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https"},
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def to_text(source: str) -> str:
    """Plain text (for Slack, feed summaries and the sidebar): labels kept, addresses after their labels."""
    lines = []
    for block in parse(source):
        rows = [block["children"]] if block["type"] == "p" else block["items"]
        for row in rows:
            words = []
            for node in row:
                if node["type"] == "br":
                    words.append("\n")
                elif node["type"] == "link" and node["text"] != node["href"]:
                    words.append(f"{node['text']} ({node['href']})")
                else:
                    words.append(node["text"])
            lines.append(("• " if block["type"] == "ul" else "") + "".join(words))
    return "\n".join(lines)
