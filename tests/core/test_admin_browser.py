"""In Chromium: the core's admin pages (sign-in, home, failed work) in English, French and Italian.

Each browser context speaks one language and lives in one timezone, as an admin's browser would; the pages pick
both up (Accept-Language, and the timezone cookie the layout's script sets). Screenshots go to
``tests/artifacts/admin/admin-<page>-<language>.png``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import workqueue
from app.db import storage
from app.effects import SLACK_POST, TICKET_UPDATE
from app.mirror import Mirror
from app.models import InboundEvent, WorkerHeartbeat, WorkItem
from tests.sidebar.test_sidebar_browser import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.hook("admin_summary")]


SHOTS = ARTIFACTS / "admin"
BROWSERS = {  # language -> (the browser's locale, its timezone)
    "en": ("en-US", "America/New_York"),
    "fr": ("fr-FR", "Europe/Paris"),
    "it": ("it-IT", "Europe/Rome"),
}
TEXTS = {
    "en": {"sign_in": "Sign in", "bad_token": "This token is not valid", "home": "Deskmate for acme",
           "failed_card": "2 work items and 1 event, waiting for a retry", "failed_title": "Failed work",
           "worker": "Running", "items": "2 failed work items", "events": "1 failed event",
           "what": "Update a ticket in the helpdesk", "ticket": "Ticket #301",
           "retried": "1 work item will be tried again.", "nothing": "Nothing was retried"},
    "fr": {"sign_in": "Se connecter", "bad_token": "Ce jeton n\u2019est pas valide", "home": "Deskmate pour acme",
           "failed_card": "2 tâches et 1 événement, en attente d\u2019une nouvelle tentative",
           "failed_title": "Travail en échec", "worker": "En marche", "items": "2 tâches en échec",
           "events": "1 événement en échec", "what": "Modifier un ticket dans le helpdesk",
           "ticket": "Ticket n° 301", "retried": "1 tâche sera retentée.", "nothing": "Rien n\u2019a été relancé"},
    "it": {"sign_in": "Accedi", "bad_token": "Questo token non è valido", "home": "Deskmate per acme",
           "failed_card": "2 attività e 1 evento, in attesa di un nuovo tentativo",
           "failed_title": "Lavoro non riuscito", "worker": "In esecuzione", "items": "2 attività non riuscite",
           "events": "1 evento non riuscito", "what": "Aggiornare un ticket nell\u2019helpdesk",
           "ticket": "Ticket n. 301", "retried": "1 attività sarà ritentata.", "nothing": "Nulla è stato ritentato"},
}
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


@pytest.fixture
def failures(app, account_id, clock) -> None:
    """Two failed work items (one about a ticket the mirror knows), one failed event, a worker seen just now."""
    now = clock.now()
    with storage.session(app) as session:
        Mirror(session, account_id).store_ticket({"id": 301, "subject": "Live stream keeps buffering",
                                                  "updated_at": "2026-11-23T09:00:00Z"}, now)
        workqueue.enqueue(session, account_id=account_id, kind=TICKET_UPDATE, key="routing:ticket:301",
                          payload={"ticket_id": 301}, now=now)
        workqueue.enqueue(session, account_id=account_id, kind=SLACK_POST, key="sla:announce:301",
                          payload={"channel": "#premium-partners"}, now=now)
        session.execute(sa.update(WorkItem).values(state="failed", attempts=8, finished_at=now - timedelta(hours=3),
                                                   last_error="HTTP 422 from the helpdesk: group 77 does not exist"))
        session.add(InboundEvent(account_id=account_id, source="zendesk", event_type="ticket.created",
                                 event_key="ticket:301:created", ticket_id=301, state="failed", attempts=5,
                                 payload={}, received_at=now - timedelta(hours=2),
                                 next_attempt_at=now - timedelta(hours=1), processed_at=now - timedelta(hours=1),
                                 pending_plugins=["routing"], last_error="KeyError: 'requester_id'"))
        session.add(WorkerHeartbeat(worker_id="w1", hostname="host", pid=1, started_at=now - timedelta(hours=5),
                                    last_seen_at=now - timedelta(seconds=15)))


def local_time(app: Any, moment: Any, locale: str, zone: str) -> str:
    """``moment`` as the pages write it for a browser in ``locale`` and ``zone``."""
    from flask_babel import refresh

    from app.i18n import TZ_COOKIE, when

    with app.test_request_context(headers={"Accept-Language": locale, "Cookie": f"{TZ_COOKIE}={zone}"}):
        refresh()
        return when(moment)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def visible_text(page: Any) -> str:
    return str(page.locator("body").inner_text())


@pytest.mark.parametrize("language", list(BROWSERS))
def test_admin_pages_in_the_admins_language(browser, served, app, clock, admin_token, failures, language):
    locale, zone = BROWSERS[language]
    texts = TEXTS[language]
    context = browser.new_context(locale=locale, timezone_id=zone, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{served}/admin/")  # not signed in: the sign-in page, in the browser's language
        expect(page.locator("h1")).to_have_text(texts["sign_in"])
        page.fill("#token", "dm_mistyped")
        page.click("button[type=submit]")
        expect(page.locator("[role=alert]")).to_contain_text(texts["bad_token"])
        expect(page.locator("#token")).to_have_value("dm_mistyped")  # what was typed is kept
        shot(page, f"admin-login-{language}")

        page.fill("#token", admin_token)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text(texts["home"])
        cards = page.locator(".summary-card")
        failed = cards.filter(has_text=texts["failed_title"])
        expect(failed.locator(".value")).to_have_text("3")
        expect(failed).to_contain_text(texts["failed_card"])
        expect(cards.filter(has_text=texts["worker"])).to_have_count(1)
        expect(page.locator("main nav, main ul")).to_have_count(0)  # the menu is not repeated on the page
        expect(page.locator("nav.languages a[aria-current]")).to_have_text(language.upper())
        shot(page, f"admin-home-{language}")

        failed.locator(".value a").click()
        expect(page.locator("h2#items-title")).to_have_text(texts["items"])
        expect(page.locator("h2#events")).to_have_text(texts["events"])
        expect(page.locator("[role=alert]")).to_have_count(0)
        body = visible_text(page)
        assert texts["what"] in body and texts["ticket"] in body and "Live stream keeps buffering" in body
        assert not ISO_TIME.search(body), "an ISO time is shown"
        assert local_time(app, clock.now() - timedelta(hours=3), locale, zone) in body  # the browser's zone
        assert "+00:00" not in body and ".000" not in body
        shot(page, f"admin-work-{language}")

        page.locator("form:has(input[value=items]) button[value=selected]").click()
        expect(page.locator("#items-problem")).to_contain_text(texts["nothing"])
        page.locator("input[name=ids]").first.check()
        page.locator("form:has(input[value=items]) button[value=selected]").click()
        expect(page.locator("[role=status]")).to_have_text(texts["retried"])
        expect(page.locator("h2#items-title")).to_contain_text("1")
    finally:
        context.close()


def test_language_chooser_switches_and_is_remembered(browser, served, admin_token, failures):
    context = browser.new_context(locale="en-US", timezone_id="UTC")
    page = context.new_page()
    try:
        page.goto(f"{served}/admin/login")
        page.locator("nav.languages a", has_text="IT").click()
        expect(page.locator("h1")).to_have_text("Accedi")
        page.fill("#token", admin_token)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Deskmate per acme")  # the cookie kept the choice
        expect(page.locator(".topbar nav a", has_text="Lavoro non riuscito")).to_have_count(1)
    finally:
        context.close()
