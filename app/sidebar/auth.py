"""Sidebar authentication: the helpdesk's signed load (RS256 JWT) and Deskmate's short sidebar session.

With ``signedUrls`` the helpdesk loads the sidebar with a POST whose form field ``token`` is a JWT signed with
the app's RSA key. It arrives once, so after checking it Deskmate hands the page a session token of its own:
an HS256 JWT under a key derived from ``SECRET_KEY``, bound to the account, the installation and the agent,
valid for ``sidebar_session_minutes`` and refreshable (while still valid) up to ``sidebar_session_max_hours``
after the signed load. Every sidebar API call carries it as ``Authorization: Bearer``.

A signed load opens one session: its ``jti`` is remembered (``sidebar_load_tokens``) until the token expires,
and the same token posted again is refused. The session carries the agent's helpdesk role as the signed load
stated it (``context.user_role``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import jwt
import sqlalchemy as sa
from flask import Flask, current_app, g, request

from app.accounts import AccountView, active_accounts, get_account
from app.clock import get_clock
from app.db import insert_for, rowcount, storage
from app.sidebar.models import SidebarInstallation, SidebarLoadToken

F = TypeVar("F", bound=Callable[..., Any])

SESSION_ISSUER = "deskmate"
SESSION_AUDIENCE = "deskmate:sidebar"
# Zendesk's clock and ours may differ a little; more than this and the token is refused.
LEEWAY_SECONDS = 30
# A fetched public key is fetched again after a signature failure only when it is at least this old, so
# that forged tokens cannot make Deskmate hammer the helpdesk.
KEY_REFETCH_AFTER = timedelta(minutes=5)
# The helpdesk's signed loads live five minutes. One that claims to live longer is refused: its jti would have
# to be remembered for as long, and only a leaked app key could make such a token.
MAX_LOAD_LIFETIME = timedelta(hours=1)
# Used load tokens past their expiry that each new load of the account deletes: more than one a load, so a
# backlog (after a quiet night, say) drains while the table stays a few minutes of loads long.
LOAD_TOKEN_PURGE_BATCH = 100
# Longer role names are not the helpdesk's (``admin``, ``agent``, a custom role's name) and are dropped.
MAX_ROLE_LENGTH = 64
_AUDIENCE = re.compile(r"^https://(?P<subdomain>[a-z0-9][a-z0-9-]*)\.zendesk\.com/api/v2/apps/installations/"
                       r"(?P<installation>\d+)\.json$")


class SidebarAuthError(Exception):
    """A token was refused; the message says why and is safe to show."""


@dataclass(frozen=True)
class SidebarLaunch:
    """A verified signed load: who opened the sidebar, in which account and installation."""

    account: AccountView
    installation_id: int
    agent_id: int
    ticket_id: int | None
    role: str | None


@dataclass(frozen=True)
class SidebarAgent:
    """The agent of a sidebar session (``g.agent``)."""

    id: int
    installation_id: int
    authenticated_at: datetime
    expires_at: datetime
    # The agent's helpdesk role as the signed load stated it (``admin``, ``agent``, a custom role's name);
    # None for unsigned loads. What the page shows may depend on it; what an action may do is decided from the
    # helpdesk's own record of the agent, never from this.
    role: str | None = None


# --- the helpdesk's signed load -------------------------------------------------------------------------

def verify_signed_load(app: Flask, token: str) -> SidebarLaunch:
    """Check the RS256 JWT of a signed load (algorithm, signature, issuer, audience, expiry) and use it up.

    A token is accepted once: its ``jti`` is remembered until it expires, and a token without one is refused
    (the helpdesk's signed loads always carry it; without it a stolen token would open sessions until expiry).

    Raises:
        SidebarAuthError: for any token that is not a valid signed load of a known installation, or that was
            used before.
    """
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise SidebarAuthError("the token is not a JWT") from None
    if header.get("alg") != "RS256":
        raise SidebarAuthError("only RS256-signed tokens are accepted")
    match = _AUDIENCE.match(str(unverified.get("aud") or ""))
    if match is None:
        raise SidebarAuthError("the token's audience is not an app installation")
    subdomain, installation_id = match["subdomain"], int(match["installation"])
    account = next((view for view in active_accounts(app) if view.subdomain == subdomain), None)
    if account is None:
        raise SidebarAuthError("the token is for an account this deployment does not serve")
    installation = _installation(app, account.id, installation_id)
    if installation is None:
        raise SidebarAuthError("the token is for an app installation Deskmate does not know")
    claims = _decode_with_key(app, account, installation, token)
    raw_context = claims.get("context")
    context: dict[str, Any] = raw_context if isinstance(raw_context, dict) else {}
    agent_id = _agent_id(claims, context)
    if agent_id is None:
        raise SidebarAuthError("the token does not say which agent opened the sidebar")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti.strip():
        raise SidebarAuthError("the token has no jti (token id), so it could be replayed; signed loads must carry one")
    expires_at = _load_expiry(app, claims)
    _use_once(app, account.id, installation_id, agent_id, jti, expires_at)
    ticket_id = str(context.get("ticket_id") or "")
    return SidebarLaunch(account=account, installation_id=installation_id, agent_id=agent_id,
                         ticket_id=int(ticket_id) if ticket_id.isdigit() else None,
                         role=_role(context.get("user_role")))


def _load_expiry(app: Flask, claims: dict[str, Any]) -> datetime:
    """Until when the token could still be accepted (its ``exp`` plus the leeway); refused if too far ahead."""
    exp = int(claims["exp"])  # PyJWT has checked it is a number and not past
    latest = get_clock(app).now() + MAX_LOAD_LIFETIME
    if exp > latest.timestamp():
        raise SidebarAuthError("the token is valid for longer than a signed load may be (an hour)")
    return datetime.fromtimestamp(exp, UTC) + timedelta(seconds=LEEWAY_SECONDS)


def _use_once(app: Flask, account_id: int, installation_id: int, agent_id: int, jti: str,
              expires_at: datetime) -> None:
    """Remember the token's ``jti`` until ``expires_at``; refuse it when it was remembered before.

    The unique key (account, SHA-256 of the jti) and INSERT ... ON CONFLICT DO NOTHING decide, so of two
    concurrent posts of one token exactly one gets a session. The same transaction deletes a batch of the
    account's expired rows: no timer is needed to keep the table small.
    """
    now = get_clock(app).now()
    jti_hash = hashlib.sha256(jti.encode("utf-8", "surrogatepass")).hexdigest()
    with storage.session(app) as session:
        expired = (sa.select(SidebarLoadToken.jti_hash)
                   .where(SidebarLoadToken.account_id == account_id, SidebarLoadToken.expires_at < now)
                   .limit(LOAD_TOKEN_PURGE_BATCH)
                   .with_for_update(skip_locked=True))  # concurrent loads never wait on each other's purge
        session.execute(sa.delete(SidebarLoadToken).where(SidebarLoadToken.account_id == account_id,
                                                          SidebarLoadToken.jti_hash.in_(expired)))
        inserted = session.execute(
            insert_for(session, SidebarLoadToken)
            .values(account_id=account_id, jti_hash=jti_hash, installation_id=installation_id, agent_id=agent_id,
                    used_at=now, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["account_id", "jti_hash"]))
    if rowcount(inserted) == 0:
        raise SidebarAuthError("this signed load was already used; the helpdesk signs a new one each time it "
                               "opens the app, so reload the ticket")


def _role(value: Any) -> str | None:
    role = value.strip() if isinstance(value, str) else ""
    return role if 0 < len(role) <= MAX_ROLE_LENGTH and role.isprintable() else None


def _decode_with_key(app: Flask, account: AccountView, installation: SidebarInstallation,
                     token: str) -> dict[str, Any]:
    from app.sidebar.keys import public_key

    audience = (f"https://{account.subdomain}.zendesk.com/api/v2/apps/installations/"
                f"{installation.installation_id}.json")
    options: Any = {"require": ["exp", "iat", "iss", "aud"]}
    for attempt in (1, 2):
        key = public_key(app, account, installation, refresh=attempt == 2)
        try:
            return jwt.decode(token, key, algorithms=["RS256"], audience=audience, leeway=LEEWAY_SECONDS,
                              issuer=f"{account.subdomain}.zendesk.com", options=options)
        except jwt.InvalidSignatureError:
            # The key may have been rotated: fetch it once more, unless it was configured or fetched just now.
            fetched = installation.public_key_fetched_at
            recent = fetched is not None and get_clock(app).now() - fetched < KEY_REFETCH_AFTER
            if attempt == 2 or installation.public_key_configured or recent:
                raise SidebarAuthError("the token's signature does not match the app's public key") from None
        except jwt.ExpiredSignatureError:
            raise SidebarAuthError("the token has expired") from None
        except jwt.InvalidIssuerError:
            raise SidebarAuthError("the token's issuer is not the account's helpdesk") from None
        except jwt.InvalidAudienceError:
            raise SidebarAuthError("the token's audience is not this installation") from None
        except jwt.PyJWTError as exc:
            raise SidebarAuthError(f"the token was refused: {exc}") from None
    raise SidebarAuthError("the token was refused")  # pragma: no cover - the loop always returns or raises


def _agent_id(claims: dict[str, Any], context: dict[str, Any]) -> int | None:
    for value in (context.get("user_id"), claims.get("sub")):
        text = str(value or "").rsplit(":", 1)[-1]
        if text.isdigit():
            return int(text)
    return None


def _installation(app: Flask, account_id: int, installation_id: int) -> SidebarInstallation | None:
    with storage.session(app) as session:
        return session.scalar(sa.select(SidebarInstallation).where(
            SidebarInstallation.account_id == account_id,
            SidebarInstallation.installation_id == installation_id))


# --- Deskmate's own session -----------------------------------------------------------------------------

def _session_key(app: Flask) -> bytes:
    # A key of its own, derived from SECRET_KEY, so a sidebar session can never pass for anything else.
    secret = app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"deskmate sidebar session v1", hashlib.sha256).digest()


def issue_session(app: Flask, *, account: AccountView, installation_id: int, agent_id: int,
                  authenticated_at: datetime | None = None, role: str | None = None) -> tuple[str, datetime]:
    """A session token for the page, and when it expires; ``role`` is the agent's helpdesk role, if known."""
    settings = app.config["DESKMATE"]
    now = get_clock(app).now()
    authenticated_at = authenticated_at or now
    limit = authenticated_at + timedelta(hours=settings.sidebar_session_max_hours)
    expires_at = min(now + timedelta(minutes=settings.sidebar_session_minutes), limit)
    claims = {
        "iss": SESSION_ISSUER, "aud": SESSION_AUDIENCE, "sub": str(agent_id), "acc": account.id,
        "sd": account.subdomain, "ins": installation_id, "auth": int(authenticated_at.timestamp()),
        "iat": int(now.timestamp()), "exp": int(expires_at.timestamp()),
    }
    if role is not None:
        claims["role"] = role
    return jwt.encode(claims, _session_key(app), algorithm="HS256"), expires_at


def read_session(app: Flask, token: str) -> tuple[AccountView, SidebarAgent]:
    """Check a session token and return its account and agent.

    Raises:
        SidebarAuthError: the token is malformed, forged, expired, or its account is gone.
    """
    # Times are checked against the app's clock (below), not the wall clock, so tests can drive expiry.
    options: Any = {"require": ["exp", "iat", "sub", "acc", "ins"], "verify_exp": False, "verify_iat": False}
    try:
        claims = jwt.decode(token, _session_key(app), algorithms=["HS256"], audience=SESSION_AUDIENCE,
                            issuer=SESSION_ISSUER, options=options)
    except jwt.PyJWTError:
        raise SidebarAuthError("the sidebar session is not valid") from None
    now = get_clock(app).now()
    if int(claims["exp"]) <= now.timestamp():
        raise SidebarAuthError("the sidebar session has expired; reload the ticket")
    account = get_account(int(claims["acc"]), app)
    if account is None or account.subdomain != claims.get("sd"):
        raise SidebarAuthError("the sidebar session's account is not served here")
    agent = SidebarAgent(id=int(claims["sub"]), installation_id=int(claims["ins"]),
                         authenticated_at=datetime.fromtimestamp(int(claims.get("auth", claims["iat"])), UTC),
                         expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
                         role=claims["role"] if isinstance(claims.get("role"), str) else None)
    return account, agent


def require_sidebar_session(view: F) -> F:
    """Allow the view only with a sidebar session (``Authorization: Bearer``); sets g.account and g.agent."""
    from app.web import json_error

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return json_error(401, "a sidebar session is required (Authorization: Bearer <session>)")
        try:
            account, agent = read_session(current_app, token.strip())
        except SidebarAuthError as exc:
            return json_error(401, str(exc))
        g.account, g.agent = account, agent
        return view(*args, **kwargs)

    return cast(F, wrapper)


def current_agent() -> SidebarAgent:
    """The agent of the sidebar session of this request."""
    agent = g.get("agent")
    if agent is None:
        raise RuntimeError("current_agent() outside a sidebar session")
    return cast(SidebarAgent, agent)
