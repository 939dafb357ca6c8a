"""The SLA admin page: the report in the reader's language, the tickets waiting, and the targets form.

The targets form is posted the way a browser posts it: every field of the rendered form with its value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from app.accounts import active_accounts
from app.db import storage
from app.mirror import Mirror
from tests.plugins.sla.conftest import make_clock
from tests.plugins.sla.test_reports import last_week  # noqa: F401  (a fixture)

CONFIGURED = [
    {"segment": "premium_partner", "priority": None, "minutes": 90, "business_hours": False, "notify": True,
     "reminders": [30, 10], "mention": None},
    {"segment": "user", "priority": None, "minutes": 1440, "business_hours": False, "notify": False,
     "reminders": [], "mention": None},
]


class TargetsForm(HTMLParser):
    """The fields a browser submits from the page's POST form (text, number, hidden, checked boxes, selects)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.inside = False
        self.select: str | None = None
        self.first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = attr.get("method") == "post" and "sla-targets" in attr.get("class", "")
        if not self.inside:
            return
        if tag == "input" and attr.get("name"):
            if attr.get("type") == "checkbox":
                if "checked" in attr:
                    self.fields[attr["name"]] = attr.get("value", "on")
            else:
                self.fields[attr["name"]] = attr.get("value", "")
        elif tag == "select":
            self.select, self.first_option = attr.get("name"), None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = attr.get("value", "")
                self.fields.setdefault(self.select, self.first_option)
            if "selected" in attr:
                self.fields[self.select] = attr.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        if tag == "form":
            self.inside = False


def form_of(html: str) -> dict[str, str]:
    parser = TargetsForm()
    parser.feed(html)
    assert parser.fields, "the page has no targets form"
    return parser.fields


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def signed_in(client, admin_token):
    page = client.get("/admin/login").get_data(as_text=True)
    client.post("/admin/login", data={"token": admin_token, "csrf_token": csrf_from(page)})
    return client


def saved_targets(client: Any, admin_headers: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    answer = client.get("/admin/api/sla/targets", headers=admin_headers).get_json()
    return answer["source"], answer["targets"]


def test_admin_page_needs_a_session(client):
    answer = client.get("/admin/sla")
    assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"]
    assert client.get("/admin/sla/chart.png").status_code == 302


def test_admin_page_shows_the_figures_and_a_chart(last_week, signed_in):  # noqa: F811
    page = signed_in.get("/admin/sla?from=2026-11-16&to=2026-11-22&by=group")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    tier_1 = re.search(r"<tr><td>Tier 1</td>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", tier_1) == ["5", "60%", "1 h 15 min", "1 h 48 min", "2", "0", "0"]
    assert "55 min" in html  # the overall median
    assert "Tickets created Nov 16, 2026 to Nov 22, 2026" in html
    src = re.search(r'<img class="sla-chart" src="([^"]+)"', html).group(1).replace("&amp;", "&")
    chart = signed_in.get(src)
    assert chart.status_code == 200 and chart.mimetype == "image/png"
    assert chart.data.startswith(b"\x89PNG") and len(chart.data) > 10_000
    assert '<a href="/admin/sla"' in html  # listed in the admin navigation


def test_targets_are_a_form_with_a_row_per_segment_and_priority(signed_in):
    fields = form_of(signed_in.get("/admin/sla").get_data(as_text=True))
    assert fields["rows"] == "2"
    assert (fields["segment-0"], fields["priority-0"], fields["target-0"], fields["unit-0"]) == (
        "premium_partner", "", "90", "min")
    assert (fields["reminders-0"], fields.get("notify-0")) == ("30, 10", "1")
    assert (fields["segment-1"], fields["target-1"], fields["unit-1"], fields.get("notify-1")) == (
        "user", "1", "d", None)  # 1440 minutes read as one day
    assert "<textarea" not in signed_in.get("/admin/sla").get_data(as_text=True)


def test_saving_the_form_needs_its_csrf_token(signed_in, client, admin_headers):
    fields = form_of(signed_in.get("/admin/sla").get_data(as_text=True))
    fields.pop("csrf_token")
    assert signed_in.post("/admin/sla", data={**fields, "target-0": "60", "action": "save"}).status_code == 403
    assert saved_targets(client, admin_headers) == ("configuration", CONFIGURED)


def test_a_date_range_error_keeps_the_targets_and_saving_then_changes_nothing(signed_in, client, admin_headers):
    page = signed_in.get("/admin/sla?from=2026-11-20&to=2026-11-01")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "The period starts after it ends" in html
    assert 'value="2026-11-20"' in html and 'value="2026-11-01"' in html  # the period as typed
    fields = form_of(html)
    assert fields["rows"] == "2" and fields["segment-0"] == "premium_partner"
    saving = signed_in.post("/admin/sla?from=2026-11-20&to=2026-11-01", data={**fields, "action": "save"})
    assert saving.status_code == 302
    assert saved_targets(client, admin_headers) == ("account", CONFIGURED)


def test_changed_targets_are_saved_in_the_chosen_unit(signed_in, client, admin_headers):
    fields = form_of(signed_in.get("/admin/sla").get_data(as_text=True))
    fields.update({"target-0": "4", "unit-0": "h", "priority-0": "urgent", "reminders-0": "60,15, 30",
                   "mention-0": "S0PARTNERS", "business_hours-1": "1"})
    saving = signed_in.post("/admin/sla", data={**fields, "action": "save"})
    assert saving.status_code == 302
    _, targets = saved_targets(client, admin_headers)
    assert targets[0] == {"segment": "premium_partner", "priority": "urgent", "minutes": 240,
                          "business_hours": False, "notify": True, "reminders": [60, 30, 15],
                          "mention": "S0PARTNERS"}
    assert targets[1]["business_hours"] is True
    after = signed_in.get("/admin/sla").get_data(as_text=True)
    assert "Saved 2 targets" in after
    assert form_of(after)["target-0"] == "4" and form_of(after)["unit-0"] == "h"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"target-0": "ninety"}, "target-0", "Enter the target as a whole number, like 90."),
    ({"target-0": ""}, "target-0", "Enter the first-reply target, like 90 minutes or 4 hours."),
    ({"target-0": "0"}, "target-0", "The target must be more than zero."),
    ({"target-0": "91", "unit-0": "d"}, "target-0", "The target can be at most 90 days."),
    ({"target-0": "20"}, "reminders-0", "Each reminder must come before the deadline"),
    ({"reminders-0": "30, soon"}, "reminders-0", "separated by commas, like 30, 10."),
    ({"segment-0": ""}, "segment-0", "Name the segment (or * for every segment)."),
    ({"mention-0": "@partners"}, "mention-0", "A Slack user group id starts with S"),
    ({"segment-1": "premium_partner"}, "segment-1", "Another row already sets a target for this segment"),
])
def test_an_invalid_row_keeps_what_was_typed_says_what_to_fix_and_saves_nothing(
        signed_in, client, admin_headers, changes, field, message):
    fields = {**form_of(signed_in.get("/admin/sla").get_data(as_text=True)), **changes}
    answer = signed_in.post("/admin/sla", data={**fields, "action": "save"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "Nothing was saved: fix the fields marked below." in html
    assert re.search(rf'<p class="field-error" id="{field}-error">[^<]*{re.escape(message)}', html.replace(
        "&#34;", '"')), html
    assert f'name="{field}"' in html and f'aria-invalid="true" aria-describedby="{field}-error"' in html
    shown = form_of(html)
    for name, value in changes.items():
        assert shown[name] == value  # what was typed, not what is saved
    assert saved_targets(client, admin_headers) == ("configuration", CONFIGURED)


def test_adding_and_removing_rows_saves_nothing_until_save(signed_in, client, admin_headers):
    fields = form_of(signed_in.get("/admin/sla").get_data(as_text=True))
    added = signed_in.post("/admin/sla", data={**fields, "target-0": "45", "action": "add"})
    assert added.status_code == 200
    fields = form_of(added.get_data(as_text=True))
    assert fields["rows"] == "3" and fields["segment-2"] == "" and fields["target-0"] == "45"
    fields.update({"segment-2": "*", "priority-2": "urgent", "target-2": "30"})
    removed = signed_in.post("/admin/sla", data={**fields, "action": "remove-1"})
    fields = form_of(removed.get_data(as_text=True))
    assert fields["rows"] == "2" and (fields["segment-1"], fields["target-1"]) == ("*", "30")
    assert saved_targets(client, admin_headers) == ("configuration", CONFIGURED)
    assert signed_in.post("/admin/sla", data={**fields, "action": "save"}).status_code == 302
    _, targets = saved_targets(client, admin_headers)
    assert [(t["segment"], t["priority"], t["minutes"]) for t in targets] == [
        ("premium_partner", None, 45), ("*", "urgent", 30)]


def test_a_blank_spare_row_is_ignored(signed_in, client, admin_headers):
    fields = form_of(signed_in.get("/admin/sla").get_data(as_text=True))
    fields = form_of(signed_in.post("/admin/sla", data={**fields, "action": "add"}).get_data(as_text=True))
    assert signed_in.post("/admin/sla", data={**fields, "action": "save"}).status_code == 302
    assert saved_targets(client, admin_headers) == ("account", CONFIGURED)


def test_removing_every_target_needs_an_explicit_confirmation(signed_in, client, admin_headers):
    fields = form_of(signed_in.get("/admin/sla").get_data(as_text=True))
    for n in ("0", "1"):
        for name in ("segment", "target", "reminders", "mention"):
            fields[f"{name}-{n}"] = ""
    refused = signed_in.post("/admin/sla", data={**fields, "action": "save"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "there are no targets left" in html and 'name="confirm_empty"' in html
    assert saved_targets(client, admin_headers) == ("configuration", CONFIGURED)
    # Emptied by removing every row, then confirmed.
    emptied = signed_in.post("/admin/sla", data={"csrf_token": fields["csrf_token"], "rows": "0",
                                                 "action": "save"})
    assert emptied.status_code == 400 and saved_targets(client, admin_headers)[1] == CONFIGURED
    confirmed = signed_in.post("/admin/sla", data={"csrf_token": fields["csrf_token"], "rows": "0",
                                                   "confirm_empty": "1", "action": "save"})
    assert confirmed.status_code == 302
    assert saved_targets(client, admin_headers) == ("account", [])


def test_tickets_waiting_show_names_local_times_and_plurals(app, signed_in, clock):
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    clock.set(now)
    with storage.session(app) as session:
        mirror = Mirror(session, active_accounts(app)[0].id)
        mirror.store_users([{"id": 1000070, "name": "Marta Bianchi", "email": "marta@aurora.example"},
                            {"id": 1000001, "name": "Ana Agent", "role": "agent"}], now)
        mirror.store_organizations([{"id": 2000001, "name": "Studio Aurora"}], now)
    make_clock(app, 301, started_at=now - timedelta(minutes=30), requester_id=1000070, organization_id=2000001,
               assignee_id=1000001, subject="Stream buffering")
    signed_in.set_cookie("deskmate_tz", "Europe/Rome")
    html = signed_in.get("/admin/sla").get_data(as_text=True)
    link = f'<a href="{active_accounts(app)[0].helpdesk_url}/agent/tickets/301" target="_blank" rel="noopener">'
    row = re.search(rf"<td>{re.escape(link)}#301</a> Stream buffering</td>(.*?)</tr>", html, re.S).group(1)
    assert "Marta Bianchi" in row and "Studio Aurora" in row and "Ana Agent" in row
    assert "1000070" not in html and "2000001" not in html and "1000001" not in html
    assert "Premium partner" in row and "1 h 30 min" in row
    assert "Dec 7, 2026, 11:00" in row  # 10:00 UTC in Rome, to the minute
    assert "1 ticket is waiting now" in html
    make_clock(app, 302, started_at=now - timedelta(minutes=100))
    html = signed_in.get("/admin/sla").get_data(as_text=True)
    assert "2 tickets are waiting now" in html
    assert re.search(r'<span class="overdue">\(10 minutes ago\)</span>', html)


def test_the_page_speaks_french_and_italian_with_their_plurals(app, signed_in, clock):
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    clock.set(now)
    make_clock(app, 301, started_at=now - timedelta(minutes=30), target_minutes=1440)
    french = signed_in.get("/admin/sla?lang=fr").get_data(as_text=True)
    assert "SLA de première réponse" in french and "Enregistrer les objectifs" in french
    assert "1 ticket en attente" in french and ">1 j<" in french  # a 1440-minute target is "1 j", not "1 j 0 h"
    make_clock(app, 302, started_at=now - timedelta(minutes=20))
    italian = signed_in.get("/admin/sla?lang=it").get_data(as_text=True)
    assert "SLA di prima risposta" in italian and "2 ticket in attesa" in italian
    assert ">1 g<" in italian and ">1 h 30 min<" in italian
    fields = form_of(italian)
    refused = signed_in.post("/admin/sla?lang=it", data={**fields, "target-0": "novanta", "action": "save"})
    assert "Inserisci l\u2019obiettivo come numero intero, ad esempio 90." in refused.get_data(as_text=True)
    period = signed_in.get("/admin/sla?lang=fr&from=2026-11-20&to=2026-11-01").get_data(as_text=True)
    assert "La période commence après sa fin" in period


@pytest.mark.hook("admin_summary")
def test_admin_home_shows_todays_first_replies_and_the_tickets_waiting(app, signed_in, clock):
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    clock.set(now)
    make_clock(app, 401, started_at=now - timedelta(hours=3), reply_minutes=20)  # met
    make_clock(app, 402, started_at=now - timedelta(hours=4), reply_minutes=120)  # breached, then answered
    make_clock(app, 403, started_at=now - timedelta(minutes=100))  # running, 10 minutes past its deadline
    make_clock(app, 404, started_at=now - timedelta(minutes=45))  # running, 45 minutes left
    make_clock(app, 405, started_at=now - timedelta(days=1), reply_minutes=200)  # yesterday: not today's
    html = signed_in.get("/admin/?lang=en").get_data(as_text=True)
    first = re.search(r'<article class="summary-card tone-bad">\s*<h2>First replies today</h2>(.*?)</article>',
                      html, re.S).group(1)
    assert '<a href="/admin/sla">50%</a>' in first and "1 of 2 within target · 1 breach" in first
    waiting = re.search(r"<h2>Waiting for a first reply</h2>(.*?)</article>", html, re.S).group(1)
    assert '<a href="/admin/sla#waiting">2</a>' in waiting and "1 past its deadline." in waiting
    italian = signed_in.get("/admin/?lang=it").get_data(as_text=True)
    assert "Prime risposte di oggi" in italian and "1 su 2 entro l\u2019obiettivo · 1 violazione" in italian
    assert "1 oltre la scadenza." in italian


@pytest.mark.hook("admin_summary")
def test_admin_home_cards_for_a_quiet_day(app, signed_in, clock):
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    clock.set(now)
    make_clock(app, 501, started_at=now - timedelta(minutes=30))
    html = signed_in.get("/admin/?lang=fr").get_data(as_text=True)
    assert "1 ticket créé aujourd\u2019hui, aucun encore répondu ni en retard." in html
    assert "Prochaine échéance dans 1 h." in html


def test_the_targets_say_what_business_hours_are(signed_in, client, admin_headers):
    client.put("/admin/api/sla/targets", headers=admin_headers, json={"business_hours": {
        "timezone": "Europe/Rome", "schedule": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"],
                                                "wed": ["09:00-18:00"], "sat": ["10:00-13:00"]},
        "holiday_country": "IT"}})
    english = signed_in.get("/admin/sla?lang=en").get_data(as_text=True)
    assert ("Business hours: Mon\u2013Wed 09:00\u201318:00; Sat 10:00\u201313:00 (Europe/Rome). "
            "Closed on the public holidays of IT.") in english
    italian = signed_in.get("/admin/sla?lang=it").get_data(as_text=True)
    assert "Orario lavorativo: lun\u2013mer 09:00\u201318:00; sab 10:00\u201313:00 (Europe/Rome)." in italian
