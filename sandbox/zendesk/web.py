"""Request helpers shared by the helpdesk emulator's blueprints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request

from .errors import invalid_request
from .state import HelpdeskState

F = TypeVar("F", bound=Callable[..., Any])


def state() -> HelpdeskState:
    """The HelpdeskState of the current app."""
    helpdesk: HelpdeskState = current_app.extensions["helpdesk"]
    return helpdesk


def base() -> str:
    """Scheme and host of the current request, for `url` members that clients follow."""
    return request.host_url.rstrip("/")


def actor() -> int:
    """The authenticated user's id."""
    return int(g.get("user_id") or state().admin_id)


def json_body() -> dict[str, Any]:
    """The request's JSON object; a malformed body is a 400, as in Zendesk."""
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise invalid_request("The request body must be a JSON object", "InvalidRequest")
    return data


def member(data: dict[str, Any], key: str) -> dict[str, Any]:
    """`data[key]` as an object (e.g. the `ticket` of `{"ticket": {...}}`), or a 400."""
    value = data.get(key)
    if not isinstance(value, dict):
        raise invalid_request(f"Parameter {key} is required and must be an object", "InvalidParameter")
    return value


def api_route(bp: Blueprint, rule: str, methods: list[str] | None = None) -> Callable[[F], F]:
    """Register `rule.json` and `rule` (Zendesk accepts both) for one view."""

    def decorator(view: F) -> F:
        bp.add_url_rule(rule + ".json", view_func=view, methods=methods or ["GET"])
        bp.add_url_rule(rule, endpoint=view.__name__ + "_bare", view_func=view, methods=methods or ["GET"])
        return view

    return decorator
