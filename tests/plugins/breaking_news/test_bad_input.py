"""Bad input on the breaking-news routes is a 4xx naming what is wrong, never a 500, on either database."""

from __future__ import annotations

import pytest

from tests.core.test_admin import csrf_from, sign_in


@pytest.mark.parametrize("path", ["/news/active.json", "/news/feed.atom"])
def test_public_documents_ignore_however_many_extra_query_fields(news, client, path):
    news.create(title="Live streams fail to start")
    extra = "&".join(f"utm{i}=x" for i in range(25))
    answer = client.get(f"{path}?{extra}&locale=en&{extra}")
    assert answer.status_code == 200
    assert b"Live streams fail to start" in answer.data
    assert client.get(f"{path}?{extra}").status_code == 200


def test_preflight_ignores_however_many_extra_query_fields(client):
    extra = "&".join(f"f{i}=1" for i in range(25))
    answer = client.options(f"/news/active.json?{extra}", headers={"Origin": "https://help.acme.example"})
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "https://help.acme.example"


def test_the_fields_read_are_still_read_among_many(news, client):
    extra = "&".join(f"f{i}=1" for i in range(25))
    assert client.get(f"/news/active.json?{extra}&account=other").status_code == 404
    assert client.get(f"/news/active.json?{extra}&locale=%21%21").status_code == 400


@pytest.mark.parametrize(("field", "value"), [
    ("title", "Streams\u0000down"),
    ("body", "half a pair \ud83d"),
])
def test_incident_text_postgresql_cannot_store_is_a_422_naming_the_field(news, client, admin_headers, field,
                                                                          value):
    body = {"title": "Live streams fail", "body": "Looking into it", field: value}
    answer = client.post("/admin/api/news/incidents", json=body, headers=admin_headers)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["field"] == field
    assert news.shown() == []


def test_timeline_update_with_a_nul_is_a_422(news, client, admin_headers):
    incident = news.create()
    answer = news.update(incident["id"], "identified", "cause\u0000found")
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "body"
    assert len(news.show(incident["id"])["incident"]["updates"]) == 1


@pytest.mark.parametrize("incident_id", [2**31, 2**63 - 1, 2**63, 10**30])
def test_incident_ids_no_row_can_have_are_a_404(client, admin_headers, incident_id):
    # (werkzeug answers 405 to the second of two rules of one path whose converter refused the number)
    for method, statuses in (("GET", {404}), ("PATCH", {404, 405})):
        answer = client.open(f"/admin/api/news/incidents/{incident_id}", method=method, json={},
                             headers=admin_headers)
        assert answer.status_code in statuses, answer.get_data(as_text=True)
        assert answer.is_json
    answer = client.post(f"/admin/api/news/incidents/{incident_id}/resolve", json={}, headers=admin_headers)
    assert answer.status_code == 404


def test_quick_links_of_a_form_id_past_bigint_are_a_404(client, admin_headers):
    answer = client.put(f"/admin/api/news/quick-links/{2**63}", json={"links": []}, headers=admin_headers)
    assert answer.status_code == 404


def test_admin_page_form_with_a_nul_or_a_huge_id_is_refused_in_html(client, admin_token, news):
    sign_in(client, admin_token)
    csrf = csrf_from(client.get("/admin/news").get_data(as_text=True))
    answer = client.post("/admin/news", data={"action": "create", "title": "Down\x00", "body": "x",
                                              "severity": "major", "csrf_token": csrf})
    assert answer.status_code == 422
    assert answer.mimetype == "text/html"
    assert "title" in answer.get_data(as_text=True)
    for incident_id in (str(2**31), str(2**64), "9" * 5000):
        answer = client.post("/admin/news", data={"action": "resolve", "incident_id": incident_id,
                                                  "csrf_token": csrf})
        assert answer.status_code == 400
        assert "This incident is no longer open" in answer.get_data(as_text=True)
    assert news.shown() == []


@pytest.mark.parametrize("body", ['"x"', "[1]", "7"])
def test_resolve_with_a_body_that_is_not_an_object_is_a_400(news, client, admin_headers, body):
    incident = news.create()
    answer = client.post(f"/admin/api/news/incidents/{incident['id']}/resolve", data=body,
                         headers={**admin_headers, "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "body"
    assert news.resolve(incident["id"]).status_code == 201  # and without a body it still resolves


@pytest.mark.parametrize(("path", "body", "field", "words"), [
    ("/admin/api/news/quick-links/1", {"links": [{"kind": "article", "title": "ok", "url": "https://a.example"},
                                                  {"kind": "faq", "title": "x"}]},
     "links[1].kind", "links[1].kind: must be 'article' or 'notice'"),
    ("/admin/api/news/incidents", {"title": "x", "starts_at": "2030-01-02T10:00:00Z",
                                   "ends_at": "2030-01-02T09:00:00Z"}, "ends_at", "ends_at must be after starts_at"),
    ("/admin/api/news/incidents", {"title": "x", "severity": "apocalypse"}, "severity",
     "severity: must be one of 'information', 'degraded', 'outage' or 'maintenance'"),
    ("/admin/api/news/incidents", {"title": ""}, "title", "title: must not be empty"),
])
def test_api_refusals_name_the_field_in_words_not_pydantics(client, admin_headers, path, body, field, words):
    send = client.put if "quick-links" in path else client.post
    answer = send(path, json=body, headers=admin_headers)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["field"] == field
    assert words in error["message"]
    assert "should match pattern" not in error["message"] and "Value error" not in error["message"]
