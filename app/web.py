"""What views (the core's and plugins') share: JSON errors, the admin guard, the request's account and session.

Every admin route is wrapped in ``require_admin``: a bearer API token (``flask tokens create``) whose account
becomes ``g.account``. Refusals are JSON: 401 without a valid token, 403 for a revoked one.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import Response, current_app, g, jsonify, request
from sqlalchemy.orm import Session

from app.accounts import AccountView, get_account
from app.clock import get_clock
from app.db import storage
from app.models import ApiToken

F = TypeVar("F", bound=Callable[..., Any])

# Also reachable from here, lazily (see __getattr__ below): require_admin_page, admin_page, csrf_token,
# require_sidebar_session, current_agent.
__all__ = ["current_account", "db_session", "json_body", "json_error", "require_admin"]


# What an unexpected failure answers (the details go to the log, never to the caller).
INTERNAL_ERROR = "internal error; the server log has the details"


def json_error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    """A JSON error body: ``{"error": {"status": ..., "message": ...}}``."""
    return jsonify({"error": {"status": status, "message": message, **extra}}), status


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def require_admin(view: F) -> F:
    """Allow the view only with ``Authorization: Bearer <admin API token>``; sets ``g.account``."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return json_error(401, "an admin API token is required (Authorization: Bearer <token>)")
        now = get_clock().now()
        with storage.session() as session:
            row = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
            if row is None:
                return json_error(401, "the API token is not valid")
            if row.revoked_at is not None:
                return json_error(403, "the API token was revoked")
            row.last_used_at = now
            account_id = row.account_id
        account = get_account(account_id)
        if account is None:
            return json_error(403, "the token's account is inactive")
        g.account = account
        return view(*args, **kwargs)

    return cast(F, wrapper)


def current_account() -> AccountView:
    """The account of the authenticated request (admin token, sidebar session or Slack signature)."""
    account = g.get("account")
    if account is None:
        raise RuntimeError("current_account() outside an authenticated request")
    return cast(AccountView, account)


def db_session() -> Session:
    """A session for this request, committed at the end of a successful request, rolled back otherwise."""
    if "db_session" not in g:
        g.db_session = storage.sessions()()
        g.db_session.begin()
    return cast(Session, g.db_session)


def close_request_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        if exc is None and session.in_transaction():
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 JSON error raised as an HTTPException."""
    from werkzeug.exceptions import BadRequest

    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def init_app(app: Any) -> None:
    from werkzeug.exceptions import HTTPException

    app.teardown_request(close_request_session)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return json_error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, INTERNAL_ERROR)


def __getattr__(name: str) -> Any:
    # Admin pages live in app.admin_pages (they need templates and sessions); plugins import them from here.
    if name in ("require_admin_page", "admin_page", "csrf_token"):
        from app import admin_pages

        return getattr(admin_pages, name)
    # The sidebar session guard lives in app.sidebar (it needs the sidebar's tokens); plugins import it here.
    if name in ("require_sidebar_session", "current_agent"):
        from app import sidebar

        return getattr(sidebar, name)
    raise AttributeError(name)
