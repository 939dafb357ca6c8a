"""In Chromium: the routing admin page as a support lead sees it, in English, French and Italian.

Screenshots: tests/artifacts/admin/routing-{en,fr,it}.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import admin_page
from tests.conftest import ticket_event
from tests.plugins.routing.conftest import PARTNER_REQUESTER, PREMIUM_ORG, VIEWER

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "admin"


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Latest decisions", "organization tag premium_partner", "no rule matched, so the default segment: User",
            "In force: Deskmate's default rules"]),
    ("fr", ["Dernières décisions", "tag d\u2019organisation premium_partner",
            "aucune règle ne s\u2019applique, donc le segment par défaut\u00a0: Utilisateur"]),
    ("it", ["Ultime decisioni", "tag dell\u2019organizzazione premium_partner",
            "nessuna regola applicabile, quindi il segmento predefinito: Utente"]),
])
def test_routing_page_in_each_language(browser, served, admin_token, post_webhook, worker,
                                       known_directory, language, words):
    post_webhook(ticket_event(4101, requester_id=PARTNER_REQUESTER, organization_id=PREMIUM_ORG,
                              subject="Live stream buffering on every event"))
    post_webhook(ticket_event(4102, requester_id=VIEWER, subject="Cannot download replays"))
    worker.handle_events()
    page = admin_page(browser, served, admin_token, language)
    page.goto(f"{served}/admin/routing?lang={language}")
    text = page.inner_text("main")
    for word in words:
        assert word in text, (word, text)
    assert "ops@bigstudio.example" in text and f"Org {PREMIUM_ORG}" in text  # names, not ids
    assert "default_rules.yaml" not in text and "/plugins/" not in text  # no server path
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"routing-{language}.png"), full_page=True)
    page.context.close()
