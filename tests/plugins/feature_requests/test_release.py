"""Release without the helpdesk: who would be told and how, what stops a release, the CLI."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.db import storage
from app.models import RequesterNoticeRecord


def link(api, request_id: int, ticket_id: int, requester_id: int | None = None) -> None:
    body: dict[str, Any] = {"ticket_id": ticket_id}
    if requester_id is not None:
        body["requester_id"] = requester_id
    assert api("POST", f"/{request_id}/links", json=body)[0] in (200, 201)


def notices(app) -> list[tuple[str, int, str]]:
    with storage.session(app) as session:
        return [(n.subject_key, n.requester_id, n.kind)
                for n in session.scalars(sa.select(RequesterNoticeRecord).order_by(RequesterNoticeRecord.id))]


def test_dry_run_says_who_and_how_and_records_nothing(app, api, new_request, ticket_webhook, routed, worker):
    request_id = new_request()
    ticket_webhook(31, tags=[f"fr_{request_id}"], requester_id=601, status="OPEN")
    ticket_webhook(32, tags=[f"fr_{request_id}"], requester_id=602, status="CLOSED")
    routed(32, 602, "premium_partner")
    worker.run_until_idle()
    link(api, request_id, 33)  # a ticket whose requester is not known yet
    status, body = api("POST", f"/{request_id}/release", json={"dry_run": True})
    assert status == 200
    assert [(p["requester_id"], p["premium"], p["channel"]) for p in body["would_tell"]] == [
        (602, True, "followup"), (601, False, "comment")]
    assert body["unknown_requester_tickets"] == [33]
    assert (body["dry_run"], body["problems"]) == (True, [])
    assert notices(app) == []
    assert api("GET", f"/{request_id}")[1]["status"] == "open"


def test_release_records_one_notice_per_person_and_marks_released(app, api, new_request):
    request_id = new_request()
    for ticket_id, requester_id in ((1, 501), (2, 501), (3, 502)):
        link(api, request_id, ticket_id, requester_id)
    body = api("POST", f"/{request_id}/status", json={"status": "released"})[1]
    assert body["release"]["recorded"] == 2
    assert notices(app) == [(f"feature_request:{request_id}", 501, "released"),
                            (f"feature_request:{request_id}", 502, "released")]
    assert body["status"] == "released"
    assert body["released_at"] is not None
    assert api("POST", f"/{request_id}/release", json={})[1]["recorded"] == 0
    link(api, request_id, 4, 503)  # asked after the release: a second run tells only them
    assert api("POST", f"/{request_id}/release", json={})[1]["recorded"] == 1


def test_a_duplicate_or_declined_request_is_not_released(api, new_request):
    target, duplicate, declined = new_request("A"), new_request("B"), new_request("C")
    api("POST", f"/{duplicate}/merge", json={"into": target})
    api("POST", f"/{declined}/status", json={"status": "declined"})
    status, body = api("POST", f"/{duplicate}/release", json={})
    assert status == 409
    assert f"release #{target} instead" in body["error"]["message"]
    assert api("POST", f"/{declined}/release", json={})[0] == 409
    assert api("POST", f"/{declined}/release", json={"dry_run": True})[1]["problems"] != []


@pytest.fixture
def changelog_url_required(app_config: dict[str, Any]) -> None:
    app_config["plugin_settings"] = {"feature_requests": {"release_texts": {
        "en": {"subject": "{title} shipped", "body": "Hi {name}, see {changelog_url}"}}}}


@pytest.mark.usefixtures("changelog_url_required")
def test_a_release_message_missing_a_value_stops_the_release(api, new_request):
    request_id = new_request()
    status, body = api("POST", f"/{request_id}/release", json={})
    assert status == 409
    assert "changelog_url" in body["error"]["message"]
    api("PATCH", f"/{request_id}", json={"changelog_url": "https://example.com/c"})
    assert api("POST", f"/{request_id}/release", json={})[0] == 200


def test_unknown_placeholders_in_settings_fail_at_start_up(app_config, database_url):
    from app import create_app
    from app.config import ConfigError
    from tests.conftest import base_config

    texts = {"en": {"subject": "{title}", "body": "Hi {nmae}"}}
    with pytest.raises(ConfigError, match="nmae"):
        create_app(base_config(database_url, plugins=["feature_requests"],
                               plugin_settings={"feature_requests": {"release_texts": texts}}))


def test_release_command_dry_run_prints_the_plan(app, api, new_request, runner):
    request_id = new_request("Offline mode")
    link(api, request_id, 7, 701)
    result = runner.invoke(args=["feature-requests", "release", str(request_id), "--dry-run"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"#{request_id} Offline mode" in result.output
    assert "1 to tell" in result.output
    assert "701" in result.output
    assert notices(app) == []


def test_release_command_of_an_unknown_request_fails_cleanly(runner):
    result = runner.invoke(args=["feature-requests", "release", "999"])
    assert result.exit_code == 1
    assert "does not exist" in result.output
