"""Users, organizations, groups, search, exports, SLA policies and the Apps API."""

from __future__ import annotations

import io
import json
import zipfile

import jwt
import requests

from sandbox.testing import RunningHelpdesk


def test_users_create_show_search_and_update(helpdesk: RunningHelpdesk) -> None:
    org = helpdesk.api(
        "POST",
        "/organizations.json",
        json={
            "organization": {
                "name": "Studio Aurora",
                "domain_names": ["studio-aurora.example"],
                "tags": ["premium_partner"],
                "organization_fields": {"partner_tier": "premium"},
            }
        },
    ).json()["organization"]
    created = helpdesk.api(
        "POST",
        "/users.json",
        json={
            "user": {
                "name": "Giulia Bianchi",
                "email": "giulia@studio-aurora.example",
                "locale": "it",
                "user_fields": {"plan": "annual"},
            }
        },
    )
    assert created.status_code == 201
    user = created.json()["user"]
    assert user["organization_id"] == org["id"]  # mapped by e-mail domain, as Zendesk does
    assert user["role"] == "end-user" and user["locale"] == "it"
    found = helpdesk.api("GET", "/users/search.json", params={"query": "GIULIA@studio-aurora.example"})
    assert [u["id"] for u in found.json()["users"]] == [user["id"]]
    updated = helpdesk.api(
        "PUT", f"/users/{user['id']}.json", json={"user": {"tags": ["vip"], "user_fields": {"x": "1"}}}
    )
    assert updated.json()["user"]["tags"] == ["vip"]
    assert updated.json()["user"]["user_fields"] == {"plan": "annual", "x": "1"}
    duplicate = helpdesk.api("POST", "/users.json", json={"user": {"name": "G", "email": user["email"]}})
    assert (
        duplicate.status_code == 422 and duplicate.json()["details"]["email"][0]["error"] == "DuplicateValue"
    )
    many = helpdesk.api("GET", f"/users/show_many.json?ids={user['id']},{helpdesk.state.admin_id}").json()
    assert {u["id"] for u in many["users"]} == {user["id"], helpdesk.state.admin_id}
    me = helpdesk.api("GET", "/users/me.json").json()["user"]
    assert me["email"] == helpdesk.state.admin_email and me["role"] == "admin"


def test_requested_tickets_of_a_user(helpdesk: RunningHelpdesk) -> None:
    state = helpdesk.state
    fan = state.create_user({"name": "Fan", "email": "fan@example.org"})
    mine = state.create_ticket({"comment": {"body": "x"}, "requester_id": fan["id"]})
    state.create_ticket({"comment": {"body": "someone else"}})
    tickets = helpdesk.api("GET", f"/users/{fan['id']}/tickets/requested.json").json()["tickets"]
    assert [t["id"] for t in tickets] == [mine["id"]]


def test_organizations_and_groups(helpdesk: RunningHelpdesk) -> None:
    tier1 = helpdesk.api("POST", "/groups.json", json={"group": {"name": "Tier 1"}}).json()["group"]
    tier2 = helpdesk.api("POST", "/groups.json", json={"group": {"name": "Tier 2"}}).json()["group"]
    org = helpdesk.api(
        "POST", "/organizations.json", json={"organization": {"name": "Kino Nord", "group_id": tier2["id"]}}
    ).json()["organization"]
    helpdesk.api(
        "PUT",
        f"/organizations/{org['id']}.json",
        json={
            "organization": {"tags": ["premium_partner"], "organization_fields": {"partner_tier": "premium"}}
        },
    )
    shown = helpdesk.api("GET", f"/organizations/{org['id']}.json").json()["organization"]
    assert shown["tags"] == ["premium_partner"] and shown["organization_fields"] == {
        "partner_tier": "premium"
    }
    assert shown["group_id"] == tier2["id"]
    taken = helpdesk.api("POST", "/organizations.json", json={"organization": {"name": "kino nord"}})
    assert taken.status_code == 422
    groups = helpdesk.api("GET", "/groups.json").json()["groups"]
    assert [g["name"] for g in groups] == ["Tier 1", "Tier 2"]
    helpdesk.api("PUT", f"/groups/{tier1['id']}.json", json={"group": {"name": "Tier One"}})
    assert helpdesk.api("GET", f"/groups/{tier1['id']}.json").json()["group"]["name"] == "Tier One"
    member = helpdesk.state.create_user({"name": "M", "organization_id": org["id"]})
    ticket = helpdesk.state.create_ticket({"comment": {"body": "x"}, "requester_id": member["id"]})
    assert ticket["organization_id"] == org["id"] and ticket["group_id"] == tier2["id"]


def test_search_queries(helpdesk: RunningHelpdesk) -> None:
    state = helpdesk.state
    fan = state.create_user({"name": "Fan", "email": "fan@example.org"})
    org = state.create_organization({"name": "Studio Aurora"})
    open_one = state.create_ticket(
        {"comment": {"body": "x"}, "requester_id": fan["id"], "tags": ["ppv"], "status": "open"}
    )
    solved = state.create_ticket({"comment": {"body": "x"}, "requester_id": fan["id"], "status": "solved"})
    state.create_ticket({"comment": {"body": "x"}, "tags": ["ppv"]})

    def ids(query: str) -> list[int]:
        answer = helpdesk.api("GET", "/search.json", params={"query": query}).json()
        assert answer["count"] == len(answer["results"])
        return [r["id"] for r in answer["results"]]

    assert ids(f"type:ticket status<solved requester:{fan['id']}") == [open_one["id"]]
    assert ids(f"type:ticket requester:{fan['email']}") == [open_one["id"], solved["id"]]
    assert ids("type:ticket tags:ppv -status:new") == [open_one["id"]]
    assert ids("type:user email:fan@example.org") == [fan["id"]]
    assert ids('type:organization name:"Studio Aurora"') == [org["id"]]
    results = helpdesk.api("GET", "/search.json", params={"query": "type:user email:fan@example.org"}).json()
    assert results["results"][0]["result_type"] == "user"
    count = helpdesk.api("GET", "/search/count.json", params={"query": "type:ticket tags:ppv"}).json()
    assert count == {"count": 2}
    too_deep = helpdesk.api("GET", "/search.json", params={"query": "type:ticket", "page": 11})
    assert too_deep.status_code == 422 and too_deep.json()["error"] == "invalid"


def test_incremental_exports(helpdesk: RunningHelpdesk) -> None:
    state = helpdesk.state
    first = state.create_ticket({"comment": {"body": "x"}})
    second = state.create_ticket({"comment": {"body": "y"}})
    state.delete_ticket(second["id"])
    page = helpdesk.api("GET", "/incremental/tickets/cursor.json?start_time=0&per_page=1").json()
    assert [t["id"] for t in page["tickets"]] == [first["id"]] and page["end_of_stream"] is False
    rest = helpdesk.session.get(page["after_url"], timeout=5).json()
    assert [(t["id"], t["status"]) for t in rest["tickets"]] == [(second["id"], "deleted")]
    assert rest["end_of_stream"] is True
    users = helpdesk.api("GET", "/incremental/users.json?start_time=0").json()
    assert users["end_of_stream"] is True and users["count"] == len(state.users)
    assert f"start_time={users['end_time']}" in users["next_page"]
    orgs = helpdesk.api("GET", "/incremental/organizations.json?start_time=0").json()
    assert orgs["organizations"] == [] and orgs["end_of_stream"] is True
    missing = helpdesk.api("GET", "/incremental/users.json")
    assert missing.status_code == 400


def test_sla_policies(helpdesk: RunningHelpdesk) -> None:
    body = {
        "sla_policy": {
            "title": "Premium partners",
            "filter": {
                "all": [{"field": "organization_tags", "operator": "includes", "value": ["premium_partner"]}],
                "any": [],
            },
            "policy_metrics": [
                {"priority": p, "metric": "first_reply_time", "target": 90, "business_hours": False}
                for p in ("low", "normal", "high", "urgent")
            ],
        }
    }
    created = helpdesk.api("POST", "/slas/policies.json", json=body)
    assert created.status_code == 201
    policy = created.json()["sla_policy"]
    assert (
        helpdesk.api("GET", f"/slas/policies/{policy['id']}.json").json()["sla_policy"]["title"]
        == "Premium partners"
    )
    assert [p["id"] for p in helpdesk.api("GET", "/slas/policies.json").json()["sla_policies"]] == [
        policy["id"]
    ]
    bad = helpdesk.api("POST", "/slas/policies.json", json={"sla_policy": {"title": "no filter"}})
    assert bad.status_code == 422


def test_triggers_crud(helpdesk: RunningHelpdesk) -> None:
    body = {
        "trigger": {
            "title": "t",
            "conditions": {"all": [{"field": "status", "operator": "is", "value": "new"}]},
            "actions": [{"field": "status", "value": "open"}],
        }
    }
    trigger = helpdesk.api("POST", "/triggers.json", json=body).json()["trigger"]
    helpdesk.api("PUT", f"/triggers/{trigger['id']}.json", json={"trigger": {"active": False}})
    assert helpdesk.api("GET", "/triggers.json?active=false").json()["triggers"][0]["id"] == trigger["id"]
    assert helpdesk.api("DELETE", f"/triggers/{trigger['id']}.json").status_code == 204
    invalid = helpdesk.api("POST", "/triggers.json", json={"trigger": {"title": "t", "actions": []}})
    assert invalid.status_code == 422 and invalid.json()["error"] == "RecordInvalid"


def _app_zip(url: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "manifest.json",
            json.dumps(
                {
                    "name": "Deskmate",
                    "author": {"name": "Deskmate"},
                    "defaultLocale": "en",
                    "frameworkVersion": "2.0",
                    "signedUrls": True,
                    "location": {"support": {"ticket_sidebar": {"url": url, "flexible": True}}},
                }
            ),
        )
        archive.writestr("translations/en.json", json.dumps({"app": {"name": "Deskmate"}}))
    return buffer.getvalue()


def test_app_install_flow_and_signed_sidebar_token(helpdesk: RunningHelpdesk) -> None:
    upload = helpdesk.api(
        "POST",
        "/apps/uploads.json",
        files={"uploaded_data": ("app.zip", _app_zip("{{setting.base_url}}/sidebar"))},
    )
    assert upload.status_code == 201
    job_id = helpdesk.api(
        "POST",
        "/apps.json",
        json={"name": "Deskmate", "short_description": "d", "upload_id": upload.json()["id"]},
    ).json()["job_id"]
    job = helpdesk.api("GET", f"/apps/job_statuses/{job_id}.json").json()
    assert job["status"] == "completed"
    installed = helpdesk.api(
        "POST",
        "/apps/installations.json",
        json={"app_id": job["app_id"], "settings": {"name": "Deskmate", "base_url": "http://127.0.0.1:5000"}},
    )
    installation = installed.json()
    listed = helpdesk.api("GET", "/apps/installations.json").json()["installations"]
    assert [i["id"] for i in listed] == [installation["id"]]
    app, found = helpdesk.state.sidebar_installation()  # type: ignore[misc]
    assert helpdesk.state.sidebar_url(app, found) == "http://127.0.0.1:5000/sidebar"
    pem = requests.get(f"{helpdesk.url}/api/v2/apps/{job['app_id']}/public_key.pem", timeout=5)
    assert pem.status_code == 200 and pem.text.startswith("-----BEGIN PUBLIC KEY-----")
    token = helpdesk.state.sidebar_token(found, ticket_id=7, user_id=helpdesk.state.admin_id)
    audience = f"https://sandbox.zendesk.com/api/v2/apps/installations/{installation['id']}.json"
    claims = jwt.decode(
        token, pem.text, algorithms=["RS256"], audience=audience, issuer="sandbox.zendesk.com"
    )
    assert claims["context"]["ticket_id"] == 7 and claims["context"]["location"] == "ticket_sidebar"
    assert claims["exp"] - claims["iat"] == 300
