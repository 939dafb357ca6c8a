"""``flask zendesk install`` against the helpdesk emulator: makes its changes once, then nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from app.accounts import account_secrets
from sandbox.server import ServerThread
from tests.sandbox_fixtures import Emulator


@pytest.fixture(autouse=True)
def _core_only(app_config):
    app_config["plugins"] = []


@pytest.fixture
def served(app) -> Iterator[str]:
    """Deskmate over real HTTP, so the emulator's webhooks and signed loads can reach it."""
    server = ServerThread(app).start()
    yield server.url
    server.stop()


def counts(helpdesk: Emulator) -> dict[str, int]:
    state = helpdesk.state
    with state.lock:
        return {"groups": len(state.groups), "triggers": len(state.triggers), "webhooks": len(state.webhooks),
                "apps": len(state.apps), "installations": len(state.installations)}


def run_install(runner, url: str, *extra: str) -> list[str]:
    result = runner.invoke(args=["zendesk", "install", "--service-url", url, *extra])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()


def test_install_twice_makes_its_changes_once(runner, helpdesk, served, app, account_id):
    before = counts(helpdesk)
    first = run_install(runner, served)
    assert "group Tier 1: created" in "\n".join(first)
    assert any(line.startswith("webhook Deskmate: created") for line in first)
    assert any(line.startswith("webhook signing secret Deskmate: stored") for line in first)
    assert any(line.startswith("trigger Deskmate: premium partner tickets start at high priority: created")
               for line in first)
    # The test environment sets DESKMATE_ZENDESK_WEBHOOK_SECRET: install says it would undo its work.
    assert any("attention" in line and "DESKMATE_ZENDESK_WEBHOOK_SECRET" in line for line in first)
    after_first = counts(helpdesk)
    assert after_first == {**before, "groups": before["groups"] + 2, "triggers": before["triggers"] + 1,
                           "webhooks": before["webhooks"] + 1}
    second = run_install(runner, served)
    assert second[-1] == "acme: nothing to do"
    changes = (": created", ": updated", ": stored")
    assert not [line for line in second[:-1] if any(change in line for change in changes)]
    assert counts(helpdesk) == after_first
    webhook = next(iter(helpdesk.state.webhooks.values()))
    assert webhook["endpoint"] == f"{served}/webhooks/zendesk"
    assert account_secrets(app, account_id).webhook_secret == webhook["_secret"]


def test_installed_webhook_delivers_signed_events_deskmate_accepts(runner, helpdesk, served):
    run_install(runner, served)
    helpdesk.call("POST", "/__sandbox/tickets", json={"requester_email": "ada@viewers.example",
                                                      "subject": "Stream froze", "body": "Help"})
    helpdesk.flush_deliveries()
    deliveries = helpdesk.call("GET", "/__sandbox/deliveries")
    records = deliveries["deliveries"] if isinstance(deliveries, dict) else deliveries
    assert [record["status_code"] for record in records] == [202]


def test_a_changed_webhook_and_trigger_are_put_back(runner, helpdesk, served):
    run_install(runner, served)
    webhook_id = next(iter(helpdesk.state.webhooks))
    helpdesk.api("PATCH", f"/webhooks/{webhook_id}", json={"webhook": {"subscriptions": [
        "zen:event-type:ticket.created"]}})
    trigger_id = next(iter(helpdesk.state.triggers))
    helpdesk.api("PUT", f"/triggers/{trigger_id}.json", json={"trigger": {"actions": [
        {"field": "priority", "value": "low"}]}})
    lines = run_install(runner, served)
    assert any(line.startswith("webhook Deskmate: updated") for line in lines)
    assert any(line.startswith("trigger Deskmate: premium partner") and ": updated" in line for line in lines)
    assert len(helpdesk.state.webhooks[webhook_id]["subscriptions"]) == 10
    assert run_install(runner, served)[-1] == "acme: nothing to do"


def test_install_with_the_app_uploads_installs_and_trusts_it_once(runner, helpdesk, served, client):
    first = run_install(runner, served, "--with-app")
    assert any(line.startswith("app Deskmate: created") for line in first)
    assert any(line.startswith("app installation Deskmate: created") for line in first)
    assert any(line.startswith("sidebar signed loads: created") and "public key fetched" in line
               for line in first)
    assert run_install(runner, served, "--with-app")[-1] == "acme: nothing to do"
    assert counts(helpdesk)["apps"] == 1 and counts(helpdesk)["installations"] == 1
    moved = run_install(runner, "https://deskmate.elsewhere.example", "--with-app")
    assert any("attention" in line and f"service_url setting is {served}" in line for line in moved)
    # The emulator now hosts the installed app: its signed load opens the sidebar.
    installation = next(iter(helpdesk.state.installations.values()))
    assert installation["settings"]["service_url"] == served
    app_record = helpdesk.state.apps[installation["app_id"]]
    assert helpdesk.state.sidebar_url(app_record, installation) == f"{served}/sidebar/"
    token = helpdesk.state.sidebar_token(installation, ticket_id=1, user_id=helpdesk.state.admin_id)
    page = requests.post(f"{served}/sidebar/?origin={helpdesk.url}&app_guid=g1", data={"token": token},
                         timeout=10)
    assert page.status_code == 200, page.text
    assert '<meta name="deskmate-session" content="ey' in page.text


def test_an_app_installed_by_hand_is_trusted_by_the_next_install(runner, helpdesk, served):
    installation = helpdesk.state.configure_sidebar_app(f"{served}/sidebar/")
    lines = run_install(runner, served)
    trusted = f"installation {installation['id']}"
    assert any(trusted in line and "public key fetched" in line for line in lines)
    token = helpdesk.state.sidebar_token(installation, ticket_id=1, user_id=helpdesk.state.admin_id)
    assert requests.post(f"{served}/sidebar/", data={"token": token}, timeout=10).status_code == 200


def test_install_against_an_unreachable_helpdesk_fails_with_a_message(runner):
    result = runner.invoke(args=["zendesk", "install", "--service-url", "https://deskmate.acme.example"])
    assert result.exit_code == 1
    assert "the helpdesk could not be reached" in result.output


def test_unsigned_sidebar_switch(runner, client):
    assert client.get("/sidebar/?origin=https://acme.zendesk.com").status_code == 403
    assert runner.invoke(args=["zendesk", "unsigned-sidebar", "--allow"]).exit_code == 0
    assert client.get("/sidebar/?origin=https://acme.zendesk.com").status_code == 200
    assert runner.invoke(args=["zendesk", "unsigned-sidebar", "--refuse"]).exit_code == 0
    assert client.get("/sidebar/?origin=https://acme.zendesk.com").status_code == 403
