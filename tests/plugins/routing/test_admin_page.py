"""The admin page /admin/routing: an admin session, CSRF, rules saved only when valid, decisions listed."""

from __future__ import annotations

from tests.conftest import ticket_event
from tests.core.test_admin import csrf_from, sign_in
from tests.plugins.routing.conftest import VIEWER

RULES = """\
segments:
  user: {group: Tier 1}
  vip: {group: Tier 2, priority: urgent}
rules:
  - name: vip tag
    segment: vip
    requester: {tags: [vip]}
"""


def test_page_needs_an_admin_session(client):
    answer = client.get("/admin/routing")
    assert answer.status_code == 302
    assert "/admin/login" in answer.headers["Location"]


def test_page_shows_segments_groups_and_latest_decisions(client, admin_token, post_webhook, worker,
                                                         known_directory):
    post_webhook(ticket_event(4001, requester_id=VIEWER))
    worker.handle_events()
    sign_in(client, admin_token)
    page = client.get("/admin/routing").get_data(as_text=True)
    assert "premium_partner" in page and "Tier 2" in page
    assert "4001" in page and "no rule matched: default segment user" in page


def test_valid_rules_are_saved_and_invalid_ones_shown_back_with_their_line(client, admin_token,
                                                                           known_directory):
    sign_in(client, admin_token)
    token = csrf_from(client.get("/admin/routing").get_data(as_text=True))
    broken = RULES.replace("segment: vip", "segment: vipp")
    refused = client.post("/admin/routing", data={"rules": broken, "csrf_token": token})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "line 6 (rules[0].segment): unknown segment &#39;vipp&#39;" in text
    assert "segment: vipp" in text  # the admin's text is kept for correcting
    saved = client.post("/admin/routing", data={"rules": RULES, "csrf_token": token})
    assert saved.status_code == 302
    assert "version 1" in client.get("/admin/routing").get_data(as_text=True)


def test_saving_without_the_csrf_token_is_refused(client, admin_token):
    sign_in(client, admin_token)
    client.get("/admin/routing")
    assert client.post("/admin/routing", data={"rules": RULES}).status_code == 403
