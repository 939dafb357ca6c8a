"""In Chromium: why a ticket was routed, in the agent's language, in the real sidebar inside the sandbox workspace.

Screenshots: tests/artifacts/admin/sidebar-routing-reason-{en,fr,it}.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sidebar.test_sidebar_browser import (  # noqa: F401  (fixtures)
    desk,
    open_sidebar,
    zaf_sdk,
)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "admin"


def test_routing_reason_and_targets_read_in_english_french_and_italian(browser, zaf_sdk, desk, helpdesk):  # noqa: F811
    partner = desk.ticket("ops@studio-aurora.example", "Live stream buffering on every event",
                          "Our pay-per-view stream keeps buffering since this morning.")
    viewer = desk.ticket("luca.rossi@mail.example", "Cannot download replays", "Please let me download it.")
    desk.settle()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{partner}")
    routing = frame.inner_text("[data-panel=routing]")
    assert "Why: organization tag premium_partner" in routing, routing
    page.screenshot(path=str(ARTIFACTS / "sidebar-routing-reason-en.png"), full_page=True)
    page.close()

    giulia = helpdesk.state.user_by_email("giulia.conti@deskmate.example")["id"]
    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{partner}?as={giulia}")
    routing = frame.inner_text("[data-panel=routing]")
    assert "Motivo: tag dell\u2019organizzazione premium_partner" in routing, routing
    assert "organization tag" not in routing
    page.screenshot(path=str(ARTIFACTS / "sidebar-routing-reason-it.png"), full_page=True)
    page.close()

    camille = helpdesk.state.create_user({"name": "Camille Durand", "email": "camille.durand@deskmate.example",
                                          "role": "agent", "locale": "fr"})["id"]
    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{partner}?as={camille}")
    routing = frame.inner_text("[data-panel=routing]")
    assert "Motif\u00a0: tag d\u2019organisation premium_partner" in routing, routing
    page.screenshot(path=str(ARTIFACTS / "sidebar-routing-reason-fr.png"), full_page=True)
    page.close()

    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{viewer}?as={giulia}")
    routing = frame.inner_text("[data-panel=routing]")
    assert "Motivo: nessuna regola applicabile, quindi il segmento predefinito: Utente" in routing, routing
    first_reply = frame.inner_text("[data-panel=sla]")
    assert "Obiettivo 1 g ·" in first_reply and "1 g 0 h" not in first_reply, first_reply  # a day, said as one
    page.close()
