"""Admin API: publishing, updating and resolving incidents, what each tells other plugins and Slack."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.plugins.breaking_news.conftest import HELP_CENTER, emitted, work_items


@pytest.fixture
def app_config(app_config):
    app_config["plugin_settings"] = {"breaking_news": {"allowed_origins": [HELP_CENTER],
                                                       "slack_channel": "C0INCIDENTS"}}
    app_config["slack_bot_token"] = "xoxb-test"
    return app_config


def test_admin_api_needs_a_token(client):
    assert client.get("/admin/api/news/incidents").status_code == 401
    assert client.post("/admin/api/news/incidents", json={"title": "x"}).status_code == 401


@pytest.mark.parametrize(("body", "complaint"), [
    ({}, "title"),
    ({"title": "x", "severity": "apocalypse"}, "severity"),
    ({"title": "x", "status": "resolved"}, "status"),
    ({"title": "x", "starts_at": "2026-11-23T10:00:00"}, "time zone"),
    ({"title": "x", "starts_at": "2026-11-23T10:00:00Z", "ends_at": "2026-11-23T09:00:00Z"}, "after"),
    ({"title": "x", "translations": {"not a locale!": {"title": "y"}}}, "language tag"),
    ({"title": "x", "keywords": ["a"]}, "2 to 100"),
    ({"title": "x", "colour": "red"}, "colour"),
])
def test_bad_incident_is_a_400_that_says_why(client, admin_headers, body, complaint):
    answer = client.post("/admin/api/news/incidents", json=body, headers=admin_headers)
    assert answer.status_code == 400
    assert complaint in answer.get_json()["error"]["message"]


def test_non_json_body_is_a_400(client, admin_headers):
    answer = client.post("/admin/api/news/incidents", data="nope", headers=admin_headers)
    assert answer.status_code == 400


def test_unknown_incident_is_a_404(news):
    assert news.update(999, "identified").status_code == 404
    assert news.patch(999, title="x").status_code == 404
    assert news.client.get("/admin/api/news/incidents/999", headers=news.headers).status_code == 404


def test_publishing_tells_other_plugins_and_posts_to_the_channel(app, news):
    incident = news.create(severity="outage", affected_features=["Live streaming"])
    [(kind, data)] = emitted(app)
    assert kind == "breaking_news.incident_published"
    assert (data["incident_id"], data["severity"], data["affected_features"]) == (
        incident["id"], "outage", ["Live streaming"])
    [post] = work_items(app, "slack.post_message")
    assert post.idempotency_key == f"breaking_news:slack:incident:{incident['id']}:published"
    assert post.payload["channel"] == "C0INCIDENTS"
    assert "Outage: Live streams fail to start" in post.payload["text"]


def test_updates_reply_in_the_thread_and_resolving_edits_the_post(app, news):
    incident = news.create()
    news.update(incident["id"], "identified", "A faulty encoder.")
    news.resolve(incident["id"], body="Encoder replaced.")
    posts = {item.idempotency_key: item for item in work_items(app, "slack.post_message")}
    published = f"breaking_news:slack:incident:{incident['id']}:published"
    replies = [item for key, item in posts.items() if key != published]
    assert [item.payload["text"] for item in replies] == ["Identified: A faulty encoder.",
                                                          "Resolved: Encoder replaced."]
    assert all(item.payload["thread_of"] == published and item.after_key == published for item in replies)
    [edit] = work_items(app, "slack.update_message")
    assert edit.payload["message_of"] == published
    assert "(resolved)" in edit.payload["text"]
    assert [kind for kind, _ in emitted(app)] == ["breaking_news.incident_published",
                                                  "breaking_news.incident_updated",
                                                  "breaking_news.incident_resolved"]


def test_resolved_incident_cannot_be_resolved_or_changed_again(news):
    incident = news.create()
    assert news.resolve(incident["id"]).status_code == 201
    again = news.resolve(incident["id"])
    assert again.status_code == 409
    assert "already resolved" in again.get_json()["error"]["message"]
    assert news.patch(incident["id"], title="New title").status_code == 409


def test_patch_changes_only_what_is_given_and_bumps_the_revision(news):
    incident = news.create(keywords=["buffering"], affected_features=["Player"])
    answer = news.patch(incident["id"], severity="outage", keywords=["buffering", "spinner"])
    assert answer.status_code == 200
    changed = answer.get_json()["incident"]
    assert (changed["severity"], changed["keywords"], changed["affected_features"]) == (
        "outage", ["buffering", "spinner"], ["Player"])
    assert changed["revision"] == 2
    assert changed["title"] == incident["title"]


def test_listing_filters_open_and_resolved(news):
    first = news.create(title="First")
    second = news.create(title="Second")
    news.resolve(first["id"])

    def titles(state: str) -> list[str]:
        answer = news.client.get(f"/admin/api/news/incidents?state={state}", headers=news.headers)
        return [incident["title"] for incident in answer.get_json()["incidents"]]

    assert titles("open") == ["Second"]
    assert titles("resolved") == ["First"]
    assert titles("all") == ["Second", "First"]
    assert news.client.get("/admin/api/news/incidents?state=bogus", headers=news.headers).status_code == 400
    assert second["shown_in_widget"] is True


def test_timer_announces_a_scheduled_window_once(app, news, clock, worker):
    start = clock.now() + timedelta(minutes=30)
    incident = news.create(severity="maintenance", starts_at=start, ends_at=start + timedelta(hours=1))
    worker.run_timers()
    assert [kind for kind, _ in emitted(app)] == ["breaking_news.incident_published"]
    clock.advance(minutes=30)
    worker.run_timers()
    worker.run_timers()  # a second pass (or a second worker) finds nothing more to do
    clock.advance(hours=1)
    worker.run_timers()
    assert [kind for kind, _ in emitted(app)] == ["breaking_news.incident_published",
                                                  "breaking_news.incident_started",
                                                  "breaking_news.incident_ended"]
    replies = [item.payload["text"] for item in work_items(app, "slack.post_message")
               if item.payload.get("thread_of")]
    assert len(replies) == 2 and "started" in replies[0] and "ended" in replies[1]
    assert news.show(incident["id"])["incident"]["shown_in_widget"] is False


def test_rescheduling_a_window_announces_the_new_start(app, news, clock, worker):
    start = clock.now() + timedelta(minutes=30)
    incident = news.create(severity="maintenance", starts_at=start)
    assert news.patch(incident["id"], starts_at=(start + timedelta(hours=2)).isoformat()).status_code == 200
    clock.advance(minutes=31)
    worker.run_timers()
    assert "breaking_news.incident_started" not in [kind for kind, _ in emitted(app)]
    clock.advance(hours=2)
    worker.run_timers()
    assert [kind for kind, _ in emitted(app)][-1] == "breaking_news.incident_started"


def test_no_slack_post_without_a_channel(app, news, client, admin_headers, clock):
    from app.accounts import upsert_account

    upsert_account(app, subdomain="acme", now=clock.now(),
                   settings={"breaking_news": {"slack_channel": None}})
    news.create()
    assert work_items(app, "slack.post_message") == []
