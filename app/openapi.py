"""``GET /openapi.json``: Deskmate's HTTP API as an OpenAPI 3.1 document.

The document is written by hand, next to the code it describes: the core's in ``app/openapi.yaml``, each
plugin's in an ``openapi.yaml`` beside its module (found as its migrations are, so a plugin installed as a
distribution of its own ships it as package data). Only enabled plugins are merged in, so the document
describes exactly the routes this deployment serves; ``tests/core/test_api_fuzz.py`` checks that both ways and
fuzzes every operation with Schemathesis.

What every route answers because of the core's doors (``app.web``: NUL in a query or form field, a body that
is not a JSON object, an id past 63 bits in a path, a missing or refused credential) is added to each operation
here, from its parameters, body and security, rather than repeated in every file.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Flask, current_app

from app.plugins import plugin_manager

CORE_DOCUMENT = Path(__file__).with_name("openapi.yaml")
PLUGIN_DOCUMENT = "openapi.yaml"
EXTENSION_KEY = "deskmate.openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The parts of ``components`` a plugin may add to; a name already taken (by the core or another plugin) is refused.
MERGED_COMPONENTS = ("schemas", "parameters", "responses", "requestBodies")

bp = Blueprint("openapi", __name__)

_ERROR = {"$ref": "#/components/responses/Error"}


def plugin_document(module: Any) -> Path | None:
    """The ``openapi.yaml`` beside a plugin package's ``__init__`` (a single-module plugin has none)."""
    file = getattr(module, "__file__", None)
    if not file or not hasattr(module, "__path__"):
        return None
    path = Path(file).resolve().parent / PLUGIN_DOCUMENT
    return path if path.is_file() else None


def _load(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as stream:
        data = yaml.load(stream, Loader=loader)  # noqa: S506 - a safe loader, chosen above
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold an OpenAPI mapping")
    return data


def _merge(document: dict[str, Any], fragment: dict[str, Any], origin: str) -> None:
    paths = document["paths"]
    for path, item in (fragment.get("paths") or {}).items():
        if path in paths:
            raise ValueError(f"{origin} describes {path}, which is already described")
        paths[path] = item
    components = document.setdefault("components", {})
    for part in MERGED_COMPONENTS:
        target = components.setdefault(part, {})
        for name, value in ((fragment.get("components") or {}).get(part) or {}).items():
            if name in target:
                raise ValueError(f"{origin} defines components.{part}.{name}, which is already defined")
            target[name] = value
    document["tags"].extend(tag for tag in fragment.get("tags") or [] if tag not in document["tags"])


def _add_door_answers(operation: dict[str, Any], path: str) -> None:
    responses = operation.setdefault("responses", {})
    security = {name for requirement in operation.get("security") or [] for name in requirement}
    answers = {"422"}  # a NUL in any query or form field (and in JSON bodies, below)
    if "{" in path:
        answers.add("404")  # an id past 63 bits, or one naming nothing
    if "requestBody" in operation:
        answers |= {"400", "413"}  # not JSON in UTF-8, nested too deeply, not an object; over the size limit
    if security & {"adminToken", "sidebarSession"}:
        answers.add("401")
    if "adminToken" in security:
        answers.add("403")  # a revoked token, or its account inactive
    for status in sorted(answers):
        responses.setdefault(status, _ERROR)


def build_document(app: Flask) -> dict[str, Any]:
    """The core's document with every enabled plugin's merged in, and the core's door answers added."""
    document = _load(CORE_DOCUMENT)
    state = plugin_manager.state(app)
    for name in state.order:
        if plugin_manager.is_builtin(app, name):
            continue
        path = plugin_document(state.pm.get_plugin(name))
        if path is not None:
            _merge(document, _load(path), f"plugin {name} ({path})")
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                _add_door_answers(item[method], path)
    return document


def _built(app: Flask) -> dict[str, Any]:
    built = app.extensions.get(EXTENSION_KEY)
    if built is None:  # once per app: the files do not change while it runs
        built = app.extensions.setdefault(EXTENSION_KEY, build_document(app))
    return built


def document(app: Flask) -> dict[str, Any]:
    """The document this app serves (a copy of its own to change at will)."""
    return copy.deepcopy(_built(app))


@bp.get("/openapi.json")
def openapi() -> Any:
    """Deliberately public: the API's shape, never its settings or secrets."""
    response = current_app.json.response(_built(current_app))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
