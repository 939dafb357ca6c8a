"""What views (the core's and plugins') share: JSON errors, the admin guard, the request's account and session.

Every admin route is wrapped in ``require_admin``: a bearer API token (``flask tokens create``) whose account
becomes ``g.account``. Refusals are JSON: 401 without a valid token, 403 for a revoked one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import Request, Response, current_app, g, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import IntegerConverter

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

# Every id Deskmate stores is a BIGINT (SQLite's INTEGER has the same range); a larger number in a URL or a body
# can name nothing, and reaching the database with it is an overflow error instead of a "not found".
BIGINT_MAX = 2**63 - 1
BIGINT_MIN = -(2**63)


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
    """The request's JSON object, or a 400 JSON error raised as an HTTPException.

    What ``request.get_json`` refuses (see ``DeskmateRequest``) is answered with its own reason and field.
    """
    data = request.get_json(silent=True) if not request.is_json else request.get_json()
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


class BadField(HTTPException):
    """A refusal that names the part of the request at fault (``field``: a query or form field, or a dotted
    path into a JSON body such as ``detail.subject`` or ``ids.1``); answered as ``error.field``."""

    def __init__(self, code: int, description: str, field: str) -> None:
        super().__init__(description)
        self.code, self.field = code, field


# PostgreSQL refuses NUL in text and JSON, and nothing encodes a lone surrogate to UTF-8; SQLite would store
# both, so they are refused at the door on every database alike.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# In JSON text those characters can only arrive as escapes (raw control characters and surrogate bytes are
# invalid JSON or invalid UTF-8), and a too large integer as a run of digits: bodies without either need no walk.
_MAYBE_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_MAYBE_UNSTORABLE_OR_BIG = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|[0-9]{19}")


def _printable(part: str) -> str:
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", part)


def unstorable_field(value: Any, *, integers: bool = True) -> str | None:
    """The dotted path of the first string or key in ``value`` (parsed JSON) that no database can store alike
    (NUL, a lone surrogate), or, with ``integers``, of an integer outside the BIGINT range; None when all is well.

    Iterative, so that a body nested as deep as the JSON parser allows cannot exhaust the stack here.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return ".".join(_printable(part) for part in path) or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                if _UNSTORABLE.search(key):
                    return ".".join(_printable(part) for part in (*path, key))
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, str(index))) for index, child in enumerate(item))
        elif integers and type(item) is int and not BIGINT_MIN <= item <= BIGINT_MAX:
            return ".".join(path) or "body"
    return None


def check_storable_json(raw: bytes, value: Any, *, integers: bool = True, prefix: str = "") -> None:
    """Raise a 422 ``BadField`` when ``value`` (parsed from ``raw``) holds what ``unstorable_field`` finds."""
    if integers:
        if not _MAYBE_UNSTORABLE_OR_BIG.search(raw):
            return
    elif b"\\u" not in raw or not _MAYBE_UNSTORABLE.search(raw):  # ``in`` first: most webhooks are ASCII
        return
    field = unstorable_field(value, integers=integers)
    if field is not None:
        field = f"{prefix}.{field}" if prefix and field != "body" else (prefix or field)
        raise BadField(422, f"'{field}' holds a value Deskmate cannot store: a NUL character, half of a "
                            f"surrogate pair, or a whole number beyond 64 bits", field)


def loads_strict(data: str | bytes) -> Any:
    """JSON as RFC 8259 requires between systems: UTF-8 without a byte order mark.

    Python's ``json.loads`` also guesses UTF-16 and UTF-32 and skips a byte order mark, which the rest of the
    way (the stored text, PostgreSQL's jsonb) does not. Every failure is a ``ValueError``, nesting too deep
    for the parser included.
    """
    try:
        return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


class StrictJSONProvider(DefaultJSONProvider):
    """The app's JSON provider, which Flask also parses request bodies with: ``loads_strict``."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_strict(s)


class DeskmateRequest(Request):
    """Flask's request, refusing with the field named what a database would refuse or SQLite alone would
    store. Every route reading ``request.get_json()`` or ``json_body()`` gets it, the core's and the plugins'."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        value = super().get_json(force=force, silent=silent, cache=cache)
        if value is not None:
            check_storable_json(self.get_data(cache=True), value)
        return value

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:
            return super().on_json_loading_failed(e)  # not a JSON content type: Flask's 415
        raise BadField(400, f"the body is not valid JSON in UTF-8: {e}", "body")


def _numbers_up_to(limit: int) -> str:
    """A regular expression matching the decimal numbers from 0 to ``limit`` and no larger one."""
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for index, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - index - 1
            options.append(f"{digits[:index]}[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "(?:" + "|".join([*options, digits]) + ")"


class BigintConverter(IntegerConverter):
    """``<int:...>`` in every route of the core and the plugins: an id, so a number past BIGINT matches no
    route (a 404) instead of overflowing in the lookup.

    The bound is in the regular expression, not only in ``max``: werkzeug checks a rule's methods before
    converting its parts, so a number the conversion refuses still counted as a match for the rule's other
    methods, and PATCH on an id past BIGINT was a 405 wherever the same path also had a GET."""

    regex = _numbers_up_to(BIGINT_MAX)

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = BIGINT_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul_in_fields() -> None:
    """Before every view: a NUL in a query or form field is a 422 naming it (werkzeug decodes what is not
    UTF-8 to U+FFFD, so NUL is the one character of those fields a database refuses)."""
    query = request.environ.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        _refuse_nul(request.args.items(multi=True))
    if request.mimetype in _FORM_TYPES:
        # The raw body is kept first, so that a view verifying a signature over it (Slack's) still reads it.
        raw = request.get_data(cache=True)
        if b"%00" in raw or b"\x00" in raw:
            _refuse_nul(request.form.items(multi=True))


def _refuse_nul(items: Any) -> None:
    for name, value in items:
        if "\x00" in name or "\x00" in value:
            field = _printable(name)
            raise BadField(422, f"'{field}' holds a NUL character, which Deskmate cannot store", field)


def is_html_page() -> bool:
    """Whether this request is for an admin HTML page (answered with an HTML error page) rather than an API."""
    path = request.path
    return path.startswith("/admin/") and not path.startswith("/admin/api/")


def error_answer(status: int, message: str, field: str | None = None) -> Any:
    """An error as the request expects it: an HTML page for admin pages, else the JSON error body."""
    extra = {"field": field} if field is not None else {}
    if is_html_page():
        # The internal error's developer sentence stays in the log; the page says it in the reader's language.
        shown = None if message == INTERNAL_ERROR else message
        return render_template("admin/error.html", status=status, message=shown, field=field), status
    return json_error(status, message, **extra)


def commit_request_session(response: Response) -> Response:
    """Commit the request's session before the answer leaves, so that a failed commit is answered as one (a
    JSON 500) instead of breaking the response after it was built."""
    session = g.pop("db_session", None)
    if session is not None:
        try:
            if session.in_transaction():
                session.commit()
        finally:
            session.close()
    return response


def init_app(app: Any) -> None:
    sort_keys = app.json.sort_keys
    app.json = StrictJSONProvider(app)
    app.json.sort_keys = sort_keys
    app.request_class = DeskmateRequest
    # Before any blueprint is registered: rules take their converters when they are added.
    app.url_map.converters["int"] = BigintConverter
    app.before_request(refuse_nul_in_fields)
    app.after_request(commit_request_session)
    app.teardown_request(close_request_session)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if is_html_page() and exc.description == type(exc).description:
            # werkzeug's stock English sentence: the page says it in the reader's language instead
            return render_template("admin/error.html", status=exc.code or 500, message=None, field=None), exc.code
        return error_answer(exc.code or 500, exc.description or exc.name, getattr(exc, "field", None))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        session = g.pop("db_session", None)
        if session is not None:  # nothing of a request that failed is committed
            session.rollback()
            session.close()
        return error_answer(500, INTERNAL_ERROR)


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
