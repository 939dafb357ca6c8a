"""The admin page /admin/routing: an admin session, CSRF, rules saved only when valid, decisions listed."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

from flask_babel import refresh

from app.accounts import active_accounts
from plugins.routing import texts
from tests.conftest import ticket_event
from tests.core.test_admin import csrf_from, sign_in
from tests.plugins.routing.conftest import BILLING, PARTNER_REQUESTER, PREMIUM_ORG, VIEWER, decision

ROOT = Path(__file__).resolve().parents[3]  # where this checkout is: the page must not show server paths

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
    assert "Premium partner" in page and "Tier 2" in page
    assert "#4001" in page and "no rule matched, so the default segment: User" in page


def test_decisions_show_names_local_times_and_no_server_path(app, client, admin_token, post_webhook, worker,
                                                               known_directory, clock):
    post_webhook(ticket_event(4002, requester_id=PARTNER_REQUESTER, organization_id=PREMIUM_ORG))
    worker.handle_events()
    sign_in(client, admin_token)
    client.set_cookie("deskmate_tz", "Europe/Rome")
    page = client.get("/admin/routing").get_data(as_text=True)
    row = re.search(r'<tr data-ticket="4002">(.*?)</tr>', page, re.S).group(1)
    helpdesk = active_accounts(app)[0].helpdesk_url
    assert f'<a href="{helpdesk}/agent/tickets/4002" target="_blank" rel="noopener">#4002</a>' in row
    assert "ops@bigstudio.example" in row and f"Org {PREMIUM_ORG}" in row  # the mirror's names
    assert f">{PARTNER_REQUESTER}<" not in row
    assert "organization tag premium_partner" in row
    decided = decision(app, 4002).decided_at.astimezone(ZoneInfo("Europe/Rome"))  # the reader's time zone
    assert f"{decided:%b} {decided.day}, {decided.year}, {decided.hour % 12 or 12}:{decided:%M}" in row
    assert "default_rules.yaml" not in page and "/plugins/routing" not in page and str(ROOT) not in page
    assert "In force: Deskmate&#39;s default rules" in page or "In force: Deskmate's default rules" in page


def test_the_page_speaks_the_readers_language(client, admin_token, post_webhook, worker, known_directory):
    post_webhook(ticket_event(4003, requester_id=PARTNER_REQUESTER, organization_id=PREMIUM_ORG))
    worker.handle_events()
    sign_in(client, admin_token)
    italian = client.get("/admin/routing?lang=it").get_data(as_text=True)
    assert "Ultime decisioni" in italian and "tag dell\u2019organizzazione premium_partner" in italian
    french = client.get("/admin/routing?lang=fr").get_data(as_text=True)
    assert "Dernières décisions" in french and "tag d\u2019organisation premium_partner" in french


def test_valid_rules_are_saved_and_invalid_ones_shown_back_with_their_line(client, admin_token,
                                                                           known_directory):
    sign_in(client, admin_token)
    token = csrf_from(client.get("/admin/routing").get_data(as_text=True))
    broken = RULES.replace("segment: vip", "segment: vipp")
    refused = client.post("/admin/routing", data={"rules": broken, "csrf_token": token})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Line 6 (rules[0].segment): unknown segment &#39;vipp&#39;; known: user, vip" in text
    italian = client.post("/admin/routing?lang=it", data={"rules": broken, "csrf_token": token})
    assert "Riga 6 (rules[0].segment): segmento sconosciuto &#39;vipp&#39;; noti: user, vip" in italian.get_data(
        as_text=True)
    assert "segment: vipp" in text  # the admin's text is kept for correcting
    saved = client.post("/admin/routing", data={"rules": RULES, "csrf_token": token})
    assert saved.status_code == 302
    assert "version 1" in client.get("/admin/routing?lang=en").get_data(as_text=True)


def test_saving_without_the_csrf_token_is_refused(client, admin_token):
    sign_in(client, admin_token)
    client.get("/admin/routing")
    assert client.post("/admin/routing", data={"rules": RULES}).status_code == 403


def test_notes_on_what_was_left_alone_read_in_the_readers_language(app, client, admin_token, post_webhook,
                                                                     worker, known_directory):
    post_webhook(ticket_event(4011, requester_id=VIEWER, group_id=BILLING))
    worker.handle_events()
    sign_in(client, admin_token)
    english = client.get("/admin/routing?lang=en").get_data(as_text=True)
    assert "The group was left as it is: the ticket is in Billing (an agent&#39;s choice is never undone)." in english
    italian = client.get("/admin/routing?lang=it").get_data(as_text=True)
    assert "Il gruppo è rimasto com\u2019era: il ticket è in Billing" in italian
    with app.test_request_context("/admin/routing?lang=fr"):
        refresh()  # the test's app context still holds the last request's language
        said = texts.note_words([{"kind": "not_applied", "status": "solved"}], "not applied: the ticket is solved")
        assert said == "Non appliqué\u00a0: le ticket est résolu."
        assert texts.note_words([], "an older decision's words") == "an older decision's words"
