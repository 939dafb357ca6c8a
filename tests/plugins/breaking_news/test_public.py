"""The public active.json: what it shows when, in which language, how it caches, and who may read it."""

from __future__ import annotations

from datetime import timedelta

from tests.plugins.breaking_news.conftest import HELP_CENTER


def test_published_incident_is_shown_with_its_timeline(news):
    incident = news.create(severity="outage", affected_features=["Live streaming"])
    [shown] = news.shown()
    assert (shown["id"], shown["severity"], shown["status"]) == (incident["id"], "outage", "investigating")
    assert shown["title"] == "Live streams fail to start"
    assert shown["body"] == [{"type": "p", "children": [{"type": "text", "text": "We are looking into it."}]}]
    assert shown["dismiss_key"].startswith(f"{incident['id']}:1:")
    assert [update["status"] for update in shown["updates"]] == ["investigating"]


def test_scheduled_maintenance_appears_and_disappears_by_itself(news, clock):
    start = clock.now() + timedelta(hours=1)
    news.create(title="Planned database upgrade", severity="maintenance", starts_at=start,
                ends_at=start + timedelta(minutes=30))
    assert news.shown() == []
    clock.advance(minutes=59, seconds=59)
    assert news.shown() == []
    clock.advance(seconds=1)
    assert [incident["title"] for incident in news.shown()] == ["Planned database upgrade"]
    clock.advance(minutes=29, seconds=59)
    assert len(news.shown()) == 1
    clock.advance(seconds=1)
    assert news.shown() == []


def test_resolved_incident_lingers_saying_so_then_disappears(news, clock):
    incident = news.create()
    assert news.resolve(incident["id"], body="Fixed by a restart.").status_code == 201
    [shown] = news.shown()
    assert shown["status"] == "resolved"
    assert shown["updates"][0]["body"][0]["children"][0]["text"] == "Fixed by a restart."
    clock.advance(minutes=10)
    assert news.shown() == []


def test_text_falls_back_from_region_to_language_to_default_to_english(news, app, account_id):
    news.create(title="Streams fail", body="Looking into it.", locale="en",
                translations={"it": {"title": "Le dirette non partono", "body": "Stiamo verificando."},
                              "pt-br": {"title": "Transmissões falham", "body": "Estamos verificando."}})
    def title(query: str) -> tuple[str, str]:
        [shown] = news.shown(query)
        return shown["locale"], shown["title"]

    assert title("?locale=it") == ("it", "Le dirette non partono")
    assert title("?locale=it-CH") == ("it", "Le dirette non partono")
    assert title("?locale=pt_BR") == ("pt-br", "Transmissões falham")
    assert title("?locale=pt") == ("en", "Streams fail")  # no plain Portuguese text: the default
    assert title("?locale=ja") == ("en", "Streams fail")
    assert title("") == ("en", "Streams fail")


def test_account_default_locale_comes_before_english(news, app, account_id, clock):
    from app.accounts import upsert_account

    upsert_account(app, subdomain="acme", now=clock.now(),
                   settings={"breaking_news": {"default_locale": "de", "allowed_origins": [HELP_CENTER]}})
    news.create(title="Streams fail", locale="en",
                translations={"de": {"title": "Streams starten nicht"},
                              "fr": {"title": "Les directs échouent"}})
    assert news.shown("?locale=ja")[0]["title"] == "Streams starten nicht"
    assert news.shown("?locale=fr")[0]["title"] == "Les directs échouent"
    assert news.active("?locale=ja").get_json()["labels"]["dismiss"] == "Hinweis schließen"


def test_malformed_locale_is_a_400(news):
    answer = news.active("?locale=<script>")
    assert answer.status_code == 400
    assert "locale" in answer.get_json()["error"]["message"]


def test_strong_etag_and_304_when_unchanged(news):
    news.create()
    first = news.active()
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = news.active(**{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert news.active(**{"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert news.active(**{"If-None-Match": '"stale"'}).status_code == 200


def test_cache_control_lets_a_cdn_absorb_load_briefly(news):
    answer = news.active()
    assert answer.headers["Cache-Control"] == "public, max-age=5, stale-while-revalidate=30"
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "Origin" in answer.headers["Vary"]


def test_write_changes_the_etag_at_once_in_the_writing_process(news):
    incident = news.create()
    etag = news.active().headers["ETag"]
    assert news.update(incident["id"], "identified", "A faulty encoder.").status_code == 201
    answer = news.active(**{"If-None-Match": etag})
    assert answer.status_code == 200
    assert answer.headers["ETag"] != etag
    assert answer.get_json()["incidents"][0]["status"] == "identified"
    assert answer.get_json()["incidents"][0]["dismiss_key"].startswith(f"{incident['id']}:2:")


def test_clock_change_changes_the_etag_without_a_write(news, clock):
    news.create(severity="maintenance", starts_at=clock.now() + timedelta(minutes=5))
    etag = news.active().headers["ETag"]
    clock.advance(minutes=5)
    answer = news.active(**{"If-None-Match": etag})
    assert answer.status_code == 200
    assert len(answer.get_json()["incidents"]) == 1


def test_cors_header_only_for_configured_origins(news):
    allowed = news.active(Origin=HELP_CENTER)
    assert allowed.headers["Access-Control-Allow-Origin"] == HELP_CENTER
    refused = news.active(Origin="https://evil.example")
    assert refused.status_code == 200  # the data is public; the browser just may not hand it to that page
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Origin" not in news.active().headers
    assert "Origin" in refused.headers["Vary"]


def test_cors_applies_to_304_answers_and_preflights(news, client):
    etag = news.active().headers["ETag"]
    not_modified = news.active(**{"If-None-Match": etag, "Origin": HELP_CENTER})
    assert not_modified.status_code == 304
    assert not_modified.headers["Access-Control-Allow-Origin"] == HELP_CENTER
    preflight = client.options("/news/active.json", headers={"Origin": HELP_CENTER,
                                                             "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] == HELP_CENTER
    refused = client.options("/news/active.json", headers={"Origin": "https://evil.example",
                                                           "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Methods" not in refused.headers


def test_account_is_chosen_by_subdomain_when_several_are_served(news, app, clock):
    from app.accounts import upsert_account

    upsert_account(app, subdomain="globex", now=clock.now(), zendesk_account_id=77)
    news.create(title="Acme's problem")
    assert news.active().status_code == 400
    assert news.shown("?account=acme")[0]["title"] == "Acme's problem"
    assert news.shown("?account=globex") == []
    assert news.active("?account=nobody").status_code == 404


def test_quick_links_are_served_per_ticket_form(news, client, admin_headers):
    links = [{"kind": "article", "title": "Fix buffering", "url": "https://help.acme.example/a/1"},
             {"kind": "notice", "title": "Refunds take 5 days", "text": "No need to write about them."}]
    assert client.put("/admin/api/news/quick-links/360001", json={"links": links},
                      headers=admin_headers).status_code == 200
    links[0]["text"] = ""  # stored in one shape: every link has its text, maybe empty
    assert news.active().get_json()["quick_links"] == {"360001": links}
    assert client.delete("/admin/api/news/quick-links/360001", headers=admin_headers).status_code == 200
    assert news.active().get_json()["quick_links"] == {}


def test_quick_link_with_a_script_address_is_refused(client, admin_headers):
    answer = client.put("/admin/api/news/quick-links/1", json={"links": [
        {"kind": "article", "title": "x", "url": "javascript:alert(1)"}]}, headers=admin_headers)
    assert answer.status_code == 400
    assert "url" in answer.get_json()["error"]["message"]


def test_widget_script_is_served_with_caching(client):
    answer = client.get("/news/widget.js")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/javascript")
    assert "max-age=300" in answer.headers["Cache-Control"]
    assert b"innerHTML" not in answer.data
    assert client.get("/news/widget.js", headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304


def test_atom_feed_lists_incidents_with_sanitised_html(news, client):
    import xml.etree.ElementTree as ET  # our own feed, parsed in a test

    news.create(title="Streams <b>down</b>",
                body="See [status](https://status.example.com) <img src=x onerror=1>")
    answer = client.get("/news/feed.atom")
    assert answer.headers["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(answer.data)  # noqa: S314
    ns = {"a": "http://www.w3.org/2005/Atom"}
    [entry] = root.findall("a:entry", ns)
    assert entry.find("a:title", ns).text == "Degraded service: Streams <b>down</b> (Investigating)"
    content = entry.find("a:content", ns).text
    assert '<a href="https://status.example.com" rel="noopener noreferrer nofollow">status</a>' in content
    assert "<img" not in content and "&lt;img" in content
