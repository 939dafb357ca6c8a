"""Zendesk's OpenAPI document of the Support API, and checks of requests and answers against it.

The document is kept in the repository (``sandbox/reference/zendesk-support-openapi.yaml``), so these checks run
in every clone. Where the document is wrong or silent, the deviation is listed here, in one place, with why;
nothing else is relaxed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import MultiDict

from sandbox.zendesk.state import ReceivedApiRequest

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "sandbox" / "reference" / "zendesk-support-openapi.yaml"
SPEC_HOST = "https://sandbox.zendesk.com"
# Parsing the 1.2 MB YAML takes seconds; its JSON copy, keyed by the document's digest, takes milliseconds.
CACHE_DIR = ROOT / ".pytest_cache" / "zendesk-openapi"

# -- Known deviations, each with why ---------------------------------------------------------------------------
# Answers: the document forgets `nullable` on many fields real Zendesk leaves null, so null members are dropped
# before an answer is validated (``drop_nulls``).
# Answers: the document lists no `deleted` ticket status, which Zendesk answers for a deleted ticket.
EXTRA_TICKET_STATUSES = ["deleted"]
# Answers: Show Ticket Metrics types `ticket_metric` as an array while Zendesk (and the document's own example)
# answer one object; test_openapi_conformance checks that object against the list operation's item schema.
# Requests: the cursor-based exports mark `start_time` required, but only the first page takes it: every later
# page is asked for with the `cursor` of the one before, alone (Zendesk's "Using the Incremental Exports API").
CURSOR_EXPORTS = ("/api/v2/incremental/tickets/cursor", "/api/v2/incremental/users/cursor")
# Requests: Update Trigger reuses the creation's schema, which requires title, conditions and actions, while
# Zendesk changes only the members an update names (its own example updates the title alone). The update's
# body is checked against the same schema without `required`.
PARTIAL_UPDATES = {("/api/v2/triggers/{trigger_id}", "put"): "TriggerObject"}
# Requests: endpoints Deskmate calls that this document does not describe at all, so there is nothing to check
# them against. Prefixes of the path (without `.json`), each with where Zendesk documents it instead.
NOT_IN_DOCUMENT = {
    "/api/v2/webhooks": "the Webhooks API has its own reference (developer.zendesk.com, Webhooks), outside the "
                        "Support API document",
    "/api/v2/apps": "the Apps API (owned apps, uploads, installations, job statuses) is documented apart",
}
# Requests: some path items share their parameters with a sibling path and so declare a required path parameter
# their own path lacks (/groups and /group_memberships carry the `user_id` or `group_id` of /users/{user_id}/groups
# and /groups/{group_id}/memberships), which no request could satisfy. Such parameters are dropped
# (``_drop_foreign_path_parameters``); everything else about those operations is still checked.


def _digest() -> str:
    return hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()[:16]


class _SpecLoader(yaml.CSafeLoader):
    """The spec has bare `=` values (tag:yaml.org,2002:value) that PyYAML refuses; read them as strings."""


def _plain_string(loader: yaml.CSafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_SpecLoader.add_constructor("tag:yaml.org,2002:value", _plain_string)


def load_document() -> dict[str, Any]:
    """The document as a dict, read from its JSON copy when the YAML has not changed since it was made."""
    cached = CACHE_DIR / f"{_digest()}.json"
    if cached.exists():
        try:
            document: dict[str, Any] = json.loads(cached.read_text())
            return document
        except ValueError:
            pass  # a copy cut short by a killed run: parse the YAML again
    with SPEC_PATH.open() as handle:
        document = yaml.load(handle, Loader=_SpecLoader)  # noqa: S506 - a SafeLoader subclass
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".tmp")
    partial.write_text(json.dumps(document, default=str))  # dates appear only in examples
    partial.replace(cached)
    return document


@cache
def zendesk_openapi() -> OpenAPI:
    """The document with the deviations above applied, built once per test session."""
    document = load_document()
    document["components"]["schemas"]["TicketObject"]["properties"]["status"]["enum"].extend(EXTRA_TICKET_STATUSES)
    _drop_foreign_path_parameters(document)
    schemas = document["components"]["schemas"]
    for (path, method), name in PARTIAL_UPDATES.items():
        partial_name = f"{name}PartialUpdate"
        schemas[partial_name] = {k: v for k, v in schemas[name].items() if k != "required"}
        body = document["paths"][path][method]["requestBody"]["content"]["application/json"]
        request_schema = schemas[body["schema"]["$ref"].rsplit("/", 1)[-1]]
        member = json.loads(json.dumps(request_schema).replace(f"#/components/schemas/{name}\"",
                                                                f"#/components/schemas/{partial_name}\""))
        schemas[f"{partial_name}Request"] = member
        body["schema"] = {"$ref": f"#/components/schemas/{partial_name}Request"}
    optional_start = {**document["components"]["parameters"]["IncrementalUnixTime"], "required": False}
    for path in CURSOR_EXPORTS:
        item = document["paths"][path]
        item["parameters"] = [optional_start if p.get("$ref", "").endswith("/IncrementalUnixTime") else p
                              for p in item["parameters"]]
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


def _drop_foreign_path_parameters(document: dict[str, Any]) -> None:
    parameters = document["components"]["parameters"]

    def foreign(parameter: dict[str, Any], path: str) -> bool:
        if "$ref" in parameter:
            parameter = parameters[parameter["$ref"].rsplit("/", 1)[-1]]
        return bool(parameter.get("in") == "path" and "{" + str(parameter.get("name")) + "}" not in path)

    for path, item in document["paths"].items():
        for holder in (item, *(v for k, v in item.items() if k in HTTP_METHODS)):
            if "parameters" in holder:
                holder["parameters"] = [p for p in holder["parameters"] if not foreign(p, path)]


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def drop_nulls(value: Any) -> Any:
    """Remove null members recursively (the document omits `nullable` where Zendesk answers null)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def document_path(path: str) -> str:
    """The path as the document names it: Zendesk answers `/tickets/1.json` and `/tickets/1` alike."""
    return path.removesuffix(".json")


def validate_answer(openapi: OpenAPI, method: str, path: str, status: int, body: Any) -> None:
    """Validate one answer's JSON body against the operation the document defines for its path and method."""
    request = MockRequest(SPEC_HOST, method.lower(), document_path(path))
    data = json.dumps(drop_nulls(body)).encode()
    openapi.validate_response(request, MockResponse(data, status, content_type="application/json"))


def validate_request(openapi: OpenAPI, received: ReceivedApiRequest) -> None:
    """Validate one request as the helpdesk received it: path, method, query parameters, JSON body, auth.

    Raises:
        AssertionError: naming the request and what the document says is wrong with it.
    """
    path = document_path(received.path)
    if any(path == prefix or path.startswith(prefix + "/") for prefix in NOT_IN_DOCUMENT):
        return
    headers = dict(received.headers)
    request = MockRequest(SPEC_HOST, received.method.lower(), path, args=MultiDict(list(received.query)),
                          headers=headers, data=received.body or None,
                          content_type=received.content_type or "application/json")
    try:
        openapi.validate_request(request)
    except Exception as exc:
        cause = exc.__cause__
        details = "; ".join(str(e) for e in getattr(cause, "schema_errors", ()) or ())
        raise AssertionError(f"{received.method} {received.path}?{_query(received)} "
                             f"{received.body[:300]!r}: {exc} {cause or ''} {details}".strip()) from exc


def _query(received: ReceivedApiRequest) -> str:
    return "&".join(f"{k}={v}" for k, v in received.query)


def nonconforming_requests(openapi: OpenAPI, requests: Iterable[ReceivedApiRequest]) -> list[str]:
    """What is wrong with each request that does not conform (an empty list when all do)."""
    problems = []
    seen: set[tuple[str, str, tuple[tuple[str, str], ...], bytes]] = set()
    for received in requests:
        key = (received.method, received.path, received.query, received.body)
        if key in seen:
            continue
        seen.add(key)
        try:
            validate_request(openapi, received)
        except AssertionError as exc:
            problems.append(str(exc))
    return problems
