"""Deskmate's OpenAPI document (``GET /openapi.json``) is true to the app, and the app to it.

- Every JSON route the app registers (the core's and every enabled plugin's) is described, with its methods,
  and every described operation is a route.
- Schemathesis fuzzes every operation through the WSGI app, with each security scheme's credential supplied
  (an admin API token, a sidebar session, webhook bodies signed as the helpdesk signs them, Slack bodies
  signed as Slack does) and also without it: no answer is a server error, and every answer matches the
  document (status code, content type, headers, body schema). The run is seeded (``derandomize``) and bounded
  (``FUZZ_EXAMPLES`` per operation), and the sidebar's ticket route reads from the helpdesk emulator over HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from app import create_app, openapi
from app.accounts import active_accounts, sync_default_account
from app.db import storage
from app.sidebar.auth import issue_session
from app.web import is_html_page
from app.webhooks import sign
from tests.conftest import SLACK_SIGNING_SECRET, WEBHOOK_SECRET, base_config, empty_tables
from tests.sandbox_fixtures import ACCOUNT_ID, ADMIN_EMAIL, API_TOKEN, SUBDOMAIN

# Examples per operation in the fuzzing phase (Schemathesis's examples and coverage phases come on top): about
# a minute for the whole document on two cores, on either database.
FUZZ_EXAMPLES = 60

# Routes that are not part of the JSON API, each for a reason the document's description gives.
STATIC_ENDPOINTS = {"static", "sidebar.asset", "sidebar.plugin_asset"}
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def _described_routes(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in STATIC_ENDPOINTS:
            continue
        with app.test_request_context(_CONVERTER.sub("1", rule.rule)):
            if is_html_page():  # an admin HTML page (cookie and CSRF), not the API
                continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        found |= {(method.lower(), path) for method in rule.methods or () if method != "HEAD"}
    return found


def test_every_json_route_is_described_and_every_described_operation_is_a_route(app: Flask) -> None:
    document = openapi.document(app)
    described = {(method, path) for path, item in document["paths"].items()
                 for method in item if method in openapi.METHODS}
    routes = _described_routes(app)
    # Flask answers OPTIONS on every route by itself; only an OPTIONS a view implements is part of the API.
    automatic = {(method, path) for method, path in routes if method == "options"} - described
    assert routes - automatic - described == set(), "routes the document does not describe"
    assert described - routes == set(), "operations the app does not serve"
    assert len(described) > 60


def test_the_document_is_public_and_holds_no_secret(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["openapi"].startswith("3.1")
    config = app.config["DESKMATE"]
    secrets = [app.config["SECRET_KEY"], WEBHOOK_SECRET, SLACK_SIGNING_SECRET, API_TOKEN,
               config.zendesk_base_url, config.database_url]
    for secret in secrets:
        assert secret.encode() not in response.data


def test_a_plugin_cannot_describe_what_is_already_described(app: Flask) -> None:
    document = openapi.document(app)
    with pytest.raises(ValueError, match="/healthz, which is already described"):
        openapi._merge(document, {"paths": {"/healthz": {}}}, "plugin clash")
    with pytest.raises(ValueError, match=r"components\.schemas\.Error, which is already defined"):
        openapi._merge(document, {"components": {"schemas": {"Error": {}}}}, "plugin clash")


def test_door_answers_are_added_from_an_operations_parameters_body_and_security(app: Flask) -> None:
    paths = openapi.document(app)["paths"]
    retry = paths["/admin/api/work-items/retry"]["post"]["responses"]
    assert {"400", "401", "403", "413", "422"} <= set(retry)
    panel = paths["/sidebar/api/tickets/{ticket_id}"]["get"]["responses"]
    assert {"401", "404", "422"} <= set(panel) and "403" not in panel
    assert set(paths["/healthz"]["get"]["responses"]) == {"200", "422", "503"}


@pytest.mark.parametrize("method", ["PATCH", "POST", "DELETE"])
@pytest.mark.parametrize("number", [2**63, 10**19 - 1, 10**24])
def test_an_id_past_bigint_is_a_404_whatever_the_method(app: Flask, admin_headers: dict[str, str], method: str,
                                                       number: int) -> None:
    # Found by the fuzzer: the GET rule of the same path took the number as a match for its method, and
    # PATCH /admin/api/news/incidents/<2^63> was a 405 "method not allowed" instead of "not found".
    paths = {"PATCH": f"/admin/api/news/incidents/{number}", "POST": f"/admin/api/news/incidents/{number}/resolve",
             "DELETE": f"/admin/api/news/quick-links/{number}"}
    response = app.test_client().open(paths[method], method=method, headers=admin_headers, json={})
    assert response.status_code == 404, response.data
    assert response.get_json()["error"]["status"] == 404
    largest = app.test_client().open(paths[method].replace(str(number), str(2**63 - 1)), method=method,
                                     headers=admin_headers, json={})
    assert largest.status_code in (200, 404), "the largest id still reaches its view"


# --- the fuzzing -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_helpdesk() -> Iterator[Any]:
    """The helpdesk emulator, over HTTP, for the one route that reads the helpdesk while answering."""
    from sandbox.server import ServerThread
    from sandbox.zendesk import HelpdeskState
    from sandbox.zendesk import create_app as create_helpdesk

    state = HelpdeskState(subdomain=SUBDOMAIN, account_id=ACCOUNT_ID, admin_email=ADMIN_EMAIL,
                          admin_name="Deskmate", api_token=API_TOKEN, job_delay=0.05, delivery_backoff=0.1)
    server = ServerThread(create_helpdesk(state)).start()
    yield server
    server.stop()
    state.close()


@pytest.fixture(scope="module")
def fuzz_app(database_url: str, fuzz_helpdesk: Any) -> Iterator[Flask]:
    """One app for the whole run (rows the fuzzer creates stay for later operations to find)."""
    app = create_app(base_config(database_url, zendesk_base_url=fuzz_helpdesk.url, zendesk_subdomain=SUBDOMAIN,
                                 zendesk_account_id=ACCOUNT_ID, zendesk_email=ADMIN_EMAIL,
                                 zendesk_api_token=API_TOKEN))
    empty_tables(app)
    with app.app_context():
        sync_default_account(app, datetime.now(UTC))
        result = app.test_cli_runner().invoke(args=["tokens", "create", "--name", "fuzz"])
        assert result.exit_code == 0, result.output
        account = active_accounts(app)[0]
        session, _ = issue_session(app, account=account, installation_id=1, agent_id=7, role="admin")
        app.config["FUZZ_CREDENTIALS"] = {"adminToken": result.output.strip().splitlines()[-1],
                                          "sidebarSession": session}
        yield app
    storage.dispose(app)


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]


def _security(case: Any) -> set[str]:
    requirements = case.operation.definition.raw.get("security") or []
    return {name for requirement in requirements for name in requirement}


def _form_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _raw_body(kwargs: dict[str, Any]) -> bytes:
    """The bytes a sender would put on the wire for the generated body (signatures are over these)."""
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    if isinstance(data, dict):
        pairs = [(name, _form_value(item)) for name, value in data.items()
                 for item in (value if isinstance(value, list) else [value])]
        return urlencode(pairs).encode()
    if isinstance(data, str):
        return data.encode()
    return bytes(data or b"")


def _signed_headers(raw: bytes, scheme: str) -> dict[str, str]:
    """The signature headers a sender holding the secret would add to this exact body."""
    if scheme == "zendeskWebhookSignature":
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"X-Zendesk-Webhook-Signature": sign(WEBHOOK_SECRET, stamp, raw),
                "X-Zendesk-Webhook-Signature-Timestamp": stamp, "X-Zendesk-Account-Id": str(ACCOUNT_ID),
                "X-Zendesk-Webhook-Invocation-Id": str(uuid.uuid4())}
    stamp = str(int(time.time()))
    digest = hmac.new(SLACK_SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def _send(case: Any, headers: dict[str, str], *, validate: bool = True) -> Any:
    """Send the case over the WSGI app with these headers added (the body as its exact bytes), and unless told
    otherwise hold the answer to the document."""
    kwargs = case.as_transport_kwargs(headers=headers)
    raw = _raw_body(kwargs) if "json" in kwargs or "data" in kwargs else None
    response = case.operation.app.test_client().open(
        kwargs["path"], method=kwargs["method"], headers=kwargs["headers"],
        query_string=kwargs.get("query_string"), data=raw)
    if validate:
        case.validate_response(response, checks=CHECKS)
    return response


def _documented_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation the core's and the plugins' files describe, for test ids; read from
    the files, as collection runs before any app exists (an operation of a plugin not enabled is skipped)."""
    files = [openapi.CORE_DOCUMENT, *sorted(openapi.CORE_DOCUMENT.parents[1].glob("plugins/*/openapi.yaml"))]
    return [(method.upper(), path) for file in files for path, item in openapi._load(file)["paths"].items()
            for method in item if method in openapi.METHODS]


def _cases(api_schema: Any, operation: Any) -> Any:
    """Generated requests for one operation, valid and invalid ones alike."""
    modes = list(schemathesis.GenerationMode)
    return st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))


@pytest.mark.parametrize(("method", "path"), _documented_operations(), ids=lambda part: str(part))
def test_every_operation_fuzzed_answers_as_documented(api_schema: Any, method: str, path: str) -> None:
    try:
        operation = api_schema[path][method]
    except LookupError:
        pytest.skip(f"{method} {path} belongs to a plugin this app does not enable")

    @given(case=_cases(api_schema, operation))
    @settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        _exercise(case)

    fuzz()


def _exercise(case: Any) -> None:
    credentials = case.operation.app.config["FUZZ_CREDENTIALS"]
    security = _security(case)
    signed_by = security & {"zendeskWebhookSignature", "slackSignature"}
    if signed_by:
        # As the sender would: signed over the very body generated, so that the fuzzing reaches what is behind
        # the signature (the envelope's checks); then the same body with the generated (wrong) signature.
        scheme = next(iter(signed_by))
        raw = _raw_body(case.as_transport_kwargs())
        _send(case, _signed_headers(raw, scheme))
        answer = _send(case, {}, validate=False)
        case.validate_response(answer, checks=CHECKS)
        # A webhook names its account in a header, so it is refused on its signature; a Slack body names its
        # workspace inside, so one that does not is refused before its signature is looked at.
        expected = {401, 404} if scheme == "zendeskWebhookSignature" else {400, 401, 404, 422}
        assert answer.status_code in expected, (answer.status_code, answer.data)
        return
    headers = {"Authorization": f"Bearer {credentials[scheme]}"} if (scheme := next(
        (name for name in security if name in credentials), None)) else {}
    _send(case, headers)
    if headers:  # and without the credential: refused, never a server error
        anonymous = _send(case, {"Authorization": ""}, validate=False)
        assert anonymous.status_code in (401, 403, 404, 422), (case.path, anonymous.status_code)
