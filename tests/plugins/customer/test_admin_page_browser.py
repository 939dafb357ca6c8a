"""In Chromium: the billing actions admin page in English, French and Italian, screenshot each
(``tests/artifacts/admin/admin-billing-actions-<language>.png``)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.plugins.customer.test_admin_page import add_action
from tests.sidebar.test_sidebar_browser import ARTIFACTS

pytestmark = pytest.mark.browser


TITLES = {"en": ("en-US", "Billing actions", "2 actions", "awaiting approval"),
          "fr": ("fr-FR", "Actions de facturation", "2 actions", "en attente d\u2019approbation"),
          "it": ("it-IT", "Azioni di fatturazione", "2 azioni", "in attesa di approvazione")}


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["customer"]
    return app_config


@pytest.mark.parametrize("language", list(TITLES))
def test_billing_actions_page_in_the_admins_language(browser, served, admin_token, app, account_id, clock,
                                                     language):
    locale, title, count, waiting = TITLES[language]
    add_action(app, account_id, clock, 1)
    add_action(app, account_id, clock, 2, state="awaiting_approval", kind="promo_code", amount=None, currency=None,
               option="WINTER", approval_reason="Promo codes need a lead's approval")
    context = browser.new_context(locale=locale, timezone_id="Europe/Rome", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{served}/admin/customer/actions")
        page.fill("#token", admin_token)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text(title)
        expect(page.locator("main h2").first).to_contain_text(count)
        expect(page.locator(".tag-awaiting_approval")).to_have_text(waiting)
        ARTIFACTS.joinpath("admin").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin" / f"admin-billing-actions-{language}.png"), full_page=True)
    finally:
        context.close()
