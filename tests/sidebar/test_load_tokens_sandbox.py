"""Over real HTTP: the signed load the helpdesk emulator's agent workspace hands the browser opens one sidebar
session, with the viewing agent's helpdesk role; the same token posted again is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from flask import Blueprint

from app.api import current_agent, require_sidebar_session
from app.sidebar.keys import register_installation
from sandbox.server import ServerThread


@pytest.fixture(autouse=True)
def _core_only(app_config):
    app_config["plugins"] = []


@pytest.fixture
def served(app, helpdesk, account_id, clock) -> Iterator[str]:
    """Deskmate over HTTP as the emulator's sidebar app (its public key fetched from the emulator), with a route
    that answers what ``current_agent()`` says."""
    bp = Blueprint("whoami_sandbox_test", __name__)

    @bp.get("/test/whoami")
    @require_sidebar_session
    def whoami():
        agent = current_agent()
        return {"id": agent.id, "role": agent.role}

    app.register_blueprint(bp)
    server = ServerThread(app).start()
    installation = helpdesk.state.configure_sidebar_app(f"{server.url}/sidebar/")
    register_installation(app, account_id=account_id, installation_id=installation["id"],
                          app_id=installation["app_id"], now=clock.now())
    yield server.url
    server.stop()


def workspace_token(helpdesk, ticket_id: int, viewer_id: int) -> tuple[str, str]:
    """What a browser gets from the agent workspace: the form's action and its signed token."""
    page = requests.get(f"{helpdesk.url}/agent/tickets/{ticket_id}", params={"as": viewer_id}, timeout=10)
    assert page.status_code == 200, page.text[:300]
    form = re.search(r'<form id="signed-form" method="post" action="([^"]+)".*?name="token" value="([^"]+)"',
                     page.text, re.S)
    assert form is not None, "the workspace page has no signed load form"
    return form.group(1).replace("&amp;", "&"), form.group(2)


def session_of(page: requests.Response) -> str:
    match = re.search(r'<meta name="deskmate-session" content="([^"]+)"', page.text)
    assert match is not None, page.text[:300]
    return match.group(1)


def test_a_workspace_token_opens_one_session_and_its_replay_is_refused(served, helpdesk):
    agent = helpdesk.state.user_by_email(helpdesk.agent())
    ticket = helpdesk.api("POST", "/tickets.json", json={"ticket": {"subject": "Buffering", "comment": {
        "body": "Since 20:00"}}})["ticket"]
    action, token = workspace_token(helpdesk, ticket["id"], agent["id"])
    assert action.startswith(served)
    first = requests.post(action, data={"token": token}, timeout=10)
    assert first.status_code == 200, first.text[:300]
    whoami = requests.get(f"{served}/test/whoami", headers={"Authorization": f"Bearer {session_of(first)}"},
                          timeout=10)
    assert whoami.json() == {"id": agent["id"], "role": "agent"}

    replayed = requests.post(action, data={"token": token}, timeout=10)
    assert replayed.status_code == 401
    assert "already used" in replayed.json()["error"]["message"]
    assert "deskmate-session" not in replayed.text

    # The workspace signs a new load each time it opens the ticket: reopening works, as the admin this time.
    _, again = workspace_token(helpdesk, ticket["id"], helpdesk.state.admin_id)
    reopened = requests.post(action, data={"token": again}, timeout=10)
    assert reopened.status_code == 200
    whoami = requests.get(f"{served}/test/whoami", headers={"Authorization": f"Bearer {session_of(reopened)}"},
                          timeout=10)
    assert whoami.json() == {"id": helpdesk.state.admin_id, "role": "admin"}
