"""The app's public key for signed loads: configured by an operator, or fetched once and kept in the database.

The helpdesk serves it anonymously at ``GET /api/v2/apps/{app_id}/public_key.pem``. It is fetched on the first
signed load of an installation (and again when a signature fails with a key older than a few minutes, in case
the app's key was rotated), never on every load.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.accounts import AccountView
from app.clock import get_clock
from app.db import storage
from app.sidebar.models import SidebarInstallation


class PublicKeyUnavailable(Exception):
    """The app's public key is not configured and the helpdesk did not hand it out."""


def public_key(app: Flask, account: AccountView, installation: SidebarInstallation, *,
               refresh: bool = False) -> str:
    """The PEM that verifies this installation's signed loads (fetched and stored when needed).

    Raises:
        app.sidebar.auth.SidebarAuthError: the key is neither configured nor obtainable from the helpdesk.
    """
    from app.sidebar.auth import SidebarAuthError

    if installation.public_key_pem and (installation.public_key_configured or not refresh):
        return installation.public_key_pem
    try:
        pem = fetch_public_key(app, account, installation.app_id)
    except PublicKeyUnavailable as exc:
        if installation.public_key_pem:
            return installation.public_key_pem
        raise SidebarAuthError(f"cannot verify the token: {exc}") from None
    store_public_key(app, account.id, installation.installation_id, pem, get_clock(app).now())
    installation.public_key_pem = pem
    installation.public_key_fetched_at = get_clock(app).now()
    return pem


def fetch_public_key(app: Flask, account: AccountView, app_id: int) -> str:
    """Ask the helpdesk for the app's public key (one anonymous call).

    Raises:
        PublicKeyUnavailable: the helpdesk could not be reached or did not answer with a PEM key.
    """
    from app.zendesk import zendesk_clients

    client = zendesk_clients.for_account(account, app)
    timeout = app.config["DESKMATE"].sidebar_helpdesk_timeout_seconds
    try:
        response = client.session.request("GET", f"{client.api_root}/apps/{app_id}/public_key.pem",
                                           timeout=timeout)
    except Exception as exc:  # the network, the rate budget: all mean "not now"
        raise PublicKeyUnavailable(f"the helpdesk did not answer ({type(exc).__name__})") from exc
    text = response.text.strip()
    if response.status_code != 200 or "BEGIN PUBLIC KEY" not in text:
        raise PublicKeyUnavailable(f"the helpdesk answered {response.status_code} for app {app_id}'s key")
    return text + "\n"


def store_public_key(app: Flask, account_id: int, installation_id: int, pem: str, now: datetime,
                     *, configured: bool = False) -> None:
    with storage.session(app) as session:
        row = _row(session, account_id, installation_id)
        if row is None:
            raise LookupError(f"installation {installation_id} is not registered")
        row.public_key_pem = pem
        row.public_key_configured = configured
        row.public_key_fetched_at = None if configured else now


def register_installation(app: Flask, *, account_id: int, installation_id: int, app_id: int, now: datetime,
                          public_key_pem: str | None = None) -> dict[str, Any]:
    """Trust signed loads of an installation (idempotent); returns what changed."""
    with storage.session(app) as session:
        row = _row(session, account_id, installation_id)
        created = row is None
        if row is None:
            row = SidebarInstallation(account_id=account_id, installation_id=installation_id, app_id=app_id,
                                      public_key_configured=False, created_at=now)
            session.add(row)
        changed = created or row.app_id != app_id
        if row.app_id != app_id:
            row.app_id, row.public_key_pem, row.public_key_fetched_at = app_id, None, None
        if public_key_pem is not None and (row.public_key_pem != public_key_pem
                                           or not row.public_key_configured):
            row.public_key_pem, row.public_key_configured = public_key_pem, True
            row.public_key_fetched_at = None
            changed = True
    return {"installation_id": installation_id, "app_id": app_id, "created": created, "changed": changed}


def _row(session: Session, account_id: int, installation_id: int) -> SidebarInstallation | None:
    return session.scalar(sa.select(SidebarInstallation).where(
        SidebarInstallation.account_id == account_id, SidebarInstallation.installation_id == installation_id))
