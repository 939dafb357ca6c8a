"""In Chromium: the breaking-news admin page as a support lead sees it, in English, French and Italian.

Screenshots go to tests/artifacts/admin/ (news-en.png, news-fr.png, news-it.png, news-error-<language>.png).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import admin_page
from tests.conftest import ticket_event

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "admin"
BODY = ("Live streams of pay-per-view events fail to start for some viewers.\n\n"
        "- Replays are not affected\n- Refunds are automatic\n\n"
        "Follow [the status page](https://status.example.com/live) for news.")


def open_page(browser: Any, served: str, admin_token: str, language: str) -> Any:
    page = admin_page(browser, served, admin_token, language)
    page.goto(f"{served}/admin/news?lang={language}")
    return page


@pytest.mark.parametrize(("language", "words"), [
    ("en", {"open": "Open incidents", "count": "2 tickets about it", "since": "Since ", "end": "The end must be "
            "after the start.", "link": "Link 2: choose a kind.", "publish": "Publish",
            "card": "Active incidents", "card_tickets": "2 tickets about them",
            "card_title": "“Live streams fail to start”"}),
    ("fr", {"open": "Incidents ouverts", "count": "2 tickets concernés", "since": "Depuis le ",
            "end": "La fin doit être après le début.", "link": "Lien 2 : choisissez un type.",
            "publish": "Publier", "card": "Incidents en cours", "card_tickets": "2 tickets concernés",
            "card_title": "« Live streams fail to start »"}),
    ("it", {"open": "Incidenti aperti", "count": "2 ticket collegati", "since": "Iniziato: ",
            "end": "La fine deve essere dopo l\u2019inizio.", "link": "Link 2: scegli un tipo.",
            "publish": "Pubblica", "card": "Incidenti in corso", "card_tickets": "2 ticket collegati",
            "card_title": "“Live streams fail to start”"}),
])
def test_the_news_page_in_chromium(browser, served, admin_token, news, clock, post_webhook, worker, language,
                                   words):
    outage = news.create(title="Live streams fail to start", body=BODY, severity="outage",
                         affected_features=["Live streams", "Pay-per-view"], keywords=["stream", "buffering"])
    news.create(title="Billing maintenance", body="Invoices pause during the upgrade.", severity="maintenance",
                starts_at=clock.now() + timedelta(days=2), ends_at=clock.now() + timedelta(days=2, hours=2))
    post_webhook(ticket_event(101, subject="The stream stops"))
    post_webhook(ticket_event(102, subject="Buffering all evening"))
    worker.handle_events()
    page = open_page(browser, served, admin_token, language)
    row = page.locator(f"tr[data-incident='{outage['id']}']")
    expect(page.get_by_role("heading", name=words["open"])).to_be_visible()
    expect(row).to_contain_text(words["count"])
    expect(row).to_contain_text(words["since"])
    link = row.get_by_role("link", name="the status page")
    expect(link).to_have_attribute("href", "https://status.example.com/live")
    expect(row.locator(".incident-text li")).to_have_count(2)
    assert "T" not in row.locator("td").nth(1).inner_text().split()[0]  # a human date, not ISO
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"news-{language}.png"), full_page=True)

    # A window that ends before it starts: said beside the end, everything typed still there, nothing saved.
    page.fill("#title", "Chat is down")
    page.fill("#body", "We are on it.")
    page.fill("#keywords", "chat, messages")
    page.fill("#starts_at", "2030-01-02T10:00")
    page.fill("#ends_at", "2030-01-02T09:00")
    page.locator("[data-form-id=new] select[name=kind-0]").select_option("article")
    page.locator("[data-form-id=new] input[name=title-0]").fill("Fix buffering")
    page.get_by_role("button", name=words["publish"], exact=True).click()
    expect(page.locator("#ends_at-error")).to_have_text(words["end"])
    expect(page.locator("#title")).to_have_value("Chat is down")
    expect(page.locator("#keywords")).to_have_value("chat, messages")
    expect(page.locator("#starts_at")).to_have_value("2030-01-02T10:00")
    expect(page.locator("#body")).to_have_value("We are on it.")
    page.locator("#ends_at").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"news-error-{language}.png"), full_page=True)
    assert [incident["title"] for incident in news.shown()] == ["Live streams fail to start"]

    # The admin home's card: the incident customers see now, with its tickets, linked to this page.
    page.goto(page.url.split("/admin/")[0] + "/admin/")
    card = page.locator(".summary-card", has_text=words["card"])
    expect(card).to_contain_text(words["card_title"])
    expect(card).to_contain_text(words["card_tickets"])
    page.screenshot(path=str(ARTIFACTS / f"home-incidents-{language}.png"), full_page=True)
    page.goto(page.url + "news")

    # A quick link without a kind is named by its number.
    form = page.locator("[data-form-id=new]")
    form.locator("#form_id").fill("360001")
    form.locator("input[name=title-0]").fill("Fix buffering")
    form.locator("input[name=url-0]").fill("https://help.example.com/a/1")
    form.locator("select[name=kind-0]").select_option("article")
    form.locator("input[name=title-1]").fill("Refunds take five days")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-form-id=new] .field-error")).to_have_text(words["link"])
    expect(page.locator("[data-form-id=new] input[name=title-1]")).to_have_value("Refunds take five days")
    page.context.close()
