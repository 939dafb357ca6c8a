"""In Chromium: the feature-requests admin pages as a support lead sees them, in English, French and Italian, with
the helpdesk emulator behind them (a ticket it does not have is refused beside the field).

Screenshots go to tests/artifacts/admin/ (feature-requests-<language>.png for the list,
feature-request-<language>.png for one request, feature-request-link-error-<language>.png).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.db import storage
from app.mirror import Mirror
from tests.browser import admin_page

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "admin"


@pytest.fixture
def demand(app, account_id, clock, api, new_request, routed, worker):
    """Two requests: offline replays asked for by three people (a premium partner among them), 4K by one."""
    with storage.session(app) as session:
        mirror = Mirror(session, account_id)
        mirror.store_users([
            {"id": 1000070, "name": "Marta Bianchi", "email": "marta@aurora.example", "organization_id": 2000001},
            {"id": 1000071, "name": "Jules Martin", "email": "jules@mail.example"},
            {"id": 1000072, "name": "Luca Rossi", "email": "luca.rossi@mail.example"}], clock.now())
        mirror.store_organizations([{"id": 2000001, "name": "Studio Aurora"}], clock.now())
        for ticket_id, subject, requester in ((310, "Download replays for the team", 1000070),
                                              (311, "Offline viewing on the train", 1000071),
                                              (312, "Scaricare le repliche", 1000072),
                                              (313, "4K please", 1000071)):
            mirror.store_ticket({"id": ticket_id, "subject": subject, "requester_id": requester,
                                 "organization_id": 2000001 if requester == 1000070 else None,
                                 "status": "open", "updated_at": "2026-12-01T10:00:00Z"}, clock.now())
    routed(310, 1000070, "premium_partner", 2000001)
    worker.handle_events()
    offline = new_request("Download replays for offline viewing",
                          "Viewers want to download event replays and watch them offline.")
    for ticket_id, requester in ((310, 1000070), (311, 1000071), (312, 1000072)):
        api("POST", f"/{offline}/links", json={"ticket_id": ticket_id, "requester_id": requester})
    api("POST", f"/{offline}/status", json={"status": "planned", "note": "Q1 roadmap"})
    four_k = new_request("4K downloads", "Download in 4K")
    api("POST", f"/{four_k}/links", json={"ticket_id": 313, "requester_id": 1000071})
    return offline


@pytest.mark.parametrize(("language", "words"), [
    ("en", {"count": "2 requests", "people": "3 requesters", "no_ticket": "The helpdesk has no ticket 999999. "
            "Check the number.", "link": "Link ticket", "saved": "Changelog saved.", "save": "Save changelog"}),
    ("fr", {"count": "2 demandes", "people": "3 demandeurs",
            "no_ticket": "Le helpdesk n\u2019a pas de ticket 999999. Vérifiez le numéro.", "link": "Lier le ticket",
            "saved": "Journal des modifications enregistré.", "save": "Enregistrer le journal des modifications"}),
    ("it", {"count": "2 richieste", "people": "3 richiedenti",
            "no_ticket": "L\u2019helpdesk non ha il ticket 999999. Controlla il numero.",
            "link": "Collega il ticket", "saved": "Note di rilascio salvate.", "save": "Salva le note di rilascio"}),
])
def test_the_feature_request_pages_in_chromium(browser, served, admin_token, helpdesk, demand, language, words):
    page = admin_page(browser, served, admin_token, language)
    page.goto(f"{served}/admin/feature-requests")
    expect(page.locator("main")).to_contain_text(words["count"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"feature-requests-{language}.png"), full_page=True)

    page.goto(f"{served}/admin/feature-requests/{demand}")
    main = page.locator("main")
    expect(main).to_contain_text(words["people"])
    for name in ("Marta Bianchi", "Studio Aurora", "Jules Martin", "#312 Scaricare le repliche", "Q1 roadmap"):
        expect(main).to_contain_text(name)
    for raw in ("1000070", "2000001", "admin-api", "requester(s)"):
        expect(main).not_to_contain_text(raw)

    # The changelog is saved, and the page says so.
    page.fill("#changelog-url", "https://example.com/changelog/offline")
    page.get_by_role("button", name=words["save"]).click()
    expect(page.get_by_role("status")).to_have_text(words["saved"])

    # A ticket the helpdesk does not have: refused beside the field, the number kept, nothing linked.
    page.fill("#link-ticket", "999999")
    page.get_by_role("button", name=words["link"], exact=True).click()
    expect(page.locator("#link-ticket-error")).to_have_text(words["no_ticket"])
    expect(page.locator("#link-ticket")).to_have_value("999999")
    page.locator("#link-ticket").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"feature-request-link-error-{language}.png"), full_page=False)
    page.goto(f"{served}/admin/feature-requests/{demand}?preview=1")
    page.screenshot(path=str(ARTIFACTS / f"feature-request-{language}.png"), full_page=True)
    page.context.close()
