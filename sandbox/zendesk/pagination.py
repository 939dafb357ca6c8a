"""Zendesk's two pagination styles: offset (`page`, `per_page`) and cursor (`page[size]`, `page[after]`)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import request

from .errors import invalid_request, too_many_values

MAX_PAGE = 100


def _encode(record_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{record_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(raw.split(":", 1)[1])
    except (ValueError, IndexError, UnicodeDecodeError):
        raise invalid_request("Invalid cursor", "InvalidPaginationParameter") from None


def _url(**params: Any) -> str:
    args = {k: v for k, v in request.args.items() if k not in ("page", "page[after]", "page[before]")}
    args.update({k: v for k, v in params.items() if v is not None})
    return f"{request.base_url}?{urlencode(args)}"


def wants_cursor() -> bool:
    """True when the request asks for cursor pagination."""
    return any(k.startswith("page[") for k in request.args)


def paginate(
    records: list[dict[str, Any]],
    key: str,
    view: Callable[[dict[str, Any]], dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Page `records` (already filtered and in id order) the way the request asks."""
    if wants_cursor():
        return _cursor_page(records, key, view, extra)
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(MAX_PAGE, max(1, int(request.args.get("per_page", MAX_PAGE))))
    except ValueError:
        raise invalid_request("page and per_page must be integers", "InvalidPaginationParameter") from None
    start = (page - 1) * per_page
    chunk = records[start : start + per_page]
    body: dict[str, Any] = {key: [view(r) for r in chunk]}
    body["next_page"] = _url(page=page + 1, per_page=per_page) if start + per_page < len(records) else None
    body["previous_page"] = _url(page=page - 1, per_page=per_page) if page > 1 else None
    body["count"] = len(records)
    body.update(extra or {})
    return body


def _cursor_page(
    records: list[dict[str, Any]],
    key: str,
    view: Callable[[dict[str, Any]], dict[str, Any]],
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    try:
        size = min(MAX_PAGE, max(1, int(request.args.get("page[size]", MAX_PAGE))))
    except ValueError:
        raise invalid_request("page[size] must be an integer", "InvalidPaginationParameter") from None
    after = request.args.get("page[after]")
    before = request.args.get("page[before]")
    if after:
        pivot = _decode(after)
        candidates = [r for r in records if r["id"] > pivot]
        chunk = candidates[:size]
        has_more = len(candidates) > size
    elif before:
        pivot = _decode(before)
        candidates = [r for r in records if r["id"] < pivot]
        chunk = candidates[-size:]
        has_more = len(candidates) > size
    else:
        chunk = records[:size]
        has_more = len(records) > size
    after_cursor = _encode(chunk[-1]["id"]) if chunk else None
    before_cursor = _encode(chunk[0]["id"]) if chunk else None
    body: dict[str, Any] = {
        key: [view(r) for r in chunk],
        "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
        "links": {
            "next": _url(**{"page[size]": size, "page[after]": after_cursor}) if has_more else None,
            "prev": _url(**{"page[size]": size, "page[before]": before_cursor}) if before_cursor else None,
        },
    }
    body.update(extra or {})
    return body


def id_list(raw: str | None, name: str = "ids", maximum: int = 100) -> list[int]:
    """Parse `?ids=1,2,3`; more than `maximum` is Zendesk's TooManyValues."""
    if not raw:
        raise invalid_request(f"{name} is required", "InvalidParameter")
    try:
        values = [int(v) for v in raw.replace(" ", "").split(",") if v]
    except ValueError:
        raise invalid_request(
            f"{name} must be a comma-separated list of integers", "InvalidParameter"
        ) from None
    if len(values) > maximum:
        raise too_many_values(len(values), maximum)
    return values
