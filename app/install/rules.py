"""The rules a Zendesk app package must follow, checked locally before anything is uploaded.

Zendesk's own validator runs only on its servers (and in a Ruby gem), so these are the rules gathered in
``PLATFORM_FACTS.md`` (apps section), one function each, plus Deskmate's own (signed URLs, a flexible
ticket sidebar). ``check_files`` reads a mapping of package paths to bytes, so the same check covers the app
folder, the zip that ``flask zendesk package`` builds, and the negative cases in the tests.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

FRAMEWORK_VERSION = "2.0"
LOCALE = re.compile(r"^[a-z]{2,3}(-\w{2,3})?$")
PARAMETER_TYPES = frozenset({"text", "checkbox", "url", "number", "multiline", "hidden", "oauth"})
SCOPES = frozenset({"header", "body", "url", "jwt_secret_key", "jwt_claim", "basic_auth_username",
                    "basic_auth_password"})
REQUIREMENT_KEYS = frozenset({"automations", "channel_integrations", "custom_objects", "custom_objects_v2",
                              "macros", "targets", "views", "ticket_fields", "triggers", "user_fields",
                              "organization_fields", "webhooks"})
# Archives, documents and executables are refused inside an app package.
FORBIDDEN_SUFFIXES = frozenset({".zip", ".pdf", ".sh", ".tar", ".gz", ".tgz", ".rar", ".7z", ".jar", ".exe",
                                ".bat", ".cmd", ".com", ".dmg", ".msi", ".bz2", ".xz", ".apk", ".ps1"})
SECRET_LIKE = re.compile(r"token|key|password|secret", re.I)
LOGOS = {"assets/logo.png": (320, 320), "assets/logo-small.png": (128, 128)}
PLACEHOLDER = "__SERVICE_URL__"


@dataclass(frozen=True)
class Finding:
    """One broken rule: ``error`` refuses the package, ``warning`` is printed."""

    level: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: [{self.rule}] {self.message}"


class _Report:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def error(self, rule: str, message: str) -> None:
        self.findings.append(Finding("error", rule, message))

    def warning(self, rule: str, message: str) -> None:
        self.findings.append(Finding("warning", rule, message))


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.level == "error"]


def check_files(files: Mapping[str, bytes], *, symlinks: Iterable[str] = ()) -> list[Finding]:
    """Check an app package given as ``{path inside the package: content}``; returns every finding."""
    report = _Report()
    for path in symlinks:
        report.error("files.symlink", f"{path} is a symbolic link; packages may not contain links")
    for path in files:
        if PurePosixPath(path).suffix.lower() in FORBIDDEN_SUFFIXES:
            suffix = PurePosixPath(path).suffix
            report.error("files.forbidden_type", f"{path}: {suffix} files are not allowed in an app")
    manifest = _json(files, "manifest.json", report, "manifest.missing")
    translations = _json(files, "translations/en.json", report, "translations.en_missing")
    if isinstance(manifest, dict):
        for rule in MANIFEST_RULES:
            rule(manifest, files, report)
        if isinstance(translations, dict):
            _translations(manifest, translations, report)
    elif manifest is not None:
        report.error("manifest.not_object", "manifest.json must hold a JSON object")
    _logos(files, report)
    if "requirements.json" in files:
        _requirements(_json(files, "requirements.json", report, "requirements.missing"), report)
    return report.findings


def _json(files: Mapping[str, bytes], path: str, report: _Report, missing_rule: str) -> Any:
    if path not in files:
        report.error(missing_rule, f"{path} is missing")
        return None
    try:
        return json.loads(files[path].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        report.error(missing_rule.split(".")[0] + ".invalid_json", f"{path} is not valid JSON: {exc}")
        return None


# --- manifest.json --------------------------------------------------------------------------------------

def _author(manifest: dict[str, Any], files: Mapping[str, bytes], report: _Report) -> None:
    author = manifest.get("author")
    if not isinstance(author, dict) or not str(author.get("name") or "").strip():
        report.error("manifest.author", "author is required, with at least a name")
    elif author.get("email") is not None and "@" not in str(author["email"]):
        report.error("manifest.author", "author.email is not an e-mail address")


def _default_locale(manifest: dict[str, Any], files: Mapping[str, bytes], report: _Report) -> None:
    locale = manifest.get("defaultLocale")
    if not isinstance(locale, str) or not LOCALE.match(locale):
        report.error("manifest.default_locale", "defaultLocale is required, like 'en' or 'pt-br'")
    elif f"translations/{locale}.json" not in files:
        report.error("manifest.default_locale", f"defaultLocale is {locale!r} but translations/{locale}.json "
                                                 "is missing")


def _framework_version(manifest: dict[str, Any], files: Mapping[str, bytes], report: _Report) -> None:
    if manifest.get("frameworkVersion") != FRAMEWORK_VERSION:
        report.error("manifest.framework_version", f"frameworkVersion is required and must be "
                                                    f"{FRAMEWORK_VERSION!r}")


def _private(manifest: dict[str, Any], files: Mapping[str, bytes], report: _Report) -> None:
    if "private" in manifest and not isinstance(manifest["private"], bool):
        report.error("manifest.private", "private must be true or false")


def _location(manifest: dict[str, Any], files: Mapping[str, bytes], report: _Report) -> None:
    location = manifest.get("location")
    if not isinstance(location, dict) or not location:
        report.error("manifest.location", "location is required")
        return
    for product, places in location.items():
        if not isinstance(places, dict):
            report.error("manifest.location", f"location.{product} must map locations to URLs")
            continue
        for place, target in places.items():
            url = target.get("url") if isinstance(target, dict) else target
            problem = url_problem(url, files)
            if problem:
                report.error("manifest.location_url", f"location.{product}.{place}: {problem}")


def url_problem(url: Any, files: Mapping[str, bytes]) -> str | None:
    """Why a location URL is refused (None when it is fine)."""
    if not isinstance(url, str) or not url:
        return "a url is required"
    if "{{setting." in url:
        return None  # filled in from the installation's settings; Zendesk's validator does not check it
    if url.startswith("assets/"):
        return None if url.split("?", 1)[0] in files else f"{url} is not a file of the package"
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return None
    if parts.scheme in ("http", "https") and parts.hostname == "localhost":
        return None
    return f"{url!r} must be an absolute https URL, a localhost URL or an assets/ file"


def _signed_sidebar(manifest: dict[str, Any], files: Mapping[str, bytes], report: _Report) -> None:
    # Deskmate's own rules: the sidebar authenticates with the signed load, and must fit the flexible layout.
    if manifest.get("signedUrls") is not True:
        report.error("deskmate.signed_urls", "signedUrls must be true: the sidebar trusts only signed loads")
    sidebar = ((manifest.get("location") or {}).get("support") or {}).get("ticket_sidebar")
    if not isinstance(sidebar, dict):
        report.error("deskmate.ticket_sidebar", "location.support.ticket_sidebar needs an object with a url")
    elif sidebar.get("flexible") is not True:
        report.error("deskmate.ticket_sidebar", "location.support.ticket_sidebar.flexible must be true")


def _parameters(manifest: dict[str, Any], files: Mapping[str, bytes], report: _Report) -> None:
    parameters = manifest.get("parameters", [])
    if not isinstance(parameters, list):
        report.error("manifest.parameters", "parameters must be a list")
        return
    seen: set[str] = set()
    for index, parameter in enumerate(parameters):
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if not isinstance(name, str) or not name:
            report.error("parameters.name", f"parameters[{index}] needs a name")
            continue
        if name == "name":
            report.error("parameters.reserved_name", "no parameter may be called 'name'")
        if name in seen:
            report.error("parameters.unique", f"parameter {name!r} is declared twice")
        seen.add(name)
        kind = parameter.get("type", "text")
        if kind not in PARAMETER_TYPES:
            report.error("parameters.type", f"parameter {name!r} has type {kind!r}; allowed: "
                                            f"{', '.join(sorted(PARAMETER_TYPES))}")
        if kind == "hidden" and parameter.get("required"):
            report.error("parameters.hidden_required", f"hidden parameter {name!r} cannot be required")
        scopes = parameter.get("scopes")
        if scopes is not None:
            if not parameter.get("secure"):
                report.error("parameters.scopes", f"parameter {name!r} has scopes but is not secure")
            unknown = set(scopes if isinstance(scopes, list) else [scopes]) - SCOPES
            if unknown:
                report.error("parameters.scopes", f"parameter {name!r} has unknown scopes {sorted(unknown)}")
        if kind == "text" and not parameter.get("secure") and SECRET_LIKE.search(name):
            report.warning("parameters.insecure_secret", f"text parameter {name!r} looks like a secret; "
                                                         "make it secure")


MANIFEST_RULES: tuple[Callable[[dict[str, Any], Mapping[str, bytes], _Report], None], ...] = (
    _author, _default_locale, _framework_version, _private, _location, _signed_sidebar, _parameters,
)


# --- translations, logos, requirements ------------------------------------------------------------------

def _translations(manifest: dict[str, Any], translations: dict[str, Any], report: _Report) -> None:
    raw_app = translations.get("app")
    app: dict[str, Any] = raw_app if isinstance(raw_app, dict) else {}
    if not str(app.get("name") or "").strip():
        report.error("translations.app_name", "translations/en.json needs app.name")
    raw_labels = app.get("parameters")
    labels: dict[str, Any] = raw_labels if isinstance(raw_labels, dict) else {}
    for parameter in manifest.get("parameters") or []:
        if isinstance(parameter, dict) and parameter.get("name"):
            entry = labels.get(parameter["name"])
            if not isinstance(entry, dict) or not str(entry.get("label") or "").strip():
                report.error("translations.parameter_label",
                             f"translations/en.json needs app.parameters.{parameter['name']}.label")


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG (from its IHDR chunk), or None when it is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _logos(files: Mapping[str, bytes], report: _Report) -> None:
    for path, wanted in LOGOS.items():
        if path not in files:
            report.error("assets.logo", f"{path} is missing")
            continue
        size = png_size(files[path])
        if size is None:
            report.error("assets.logo", f"{path} is not a PNG image")
        elif size != wanted:
            report.error("assets.logo", f"{path} is {size[0]}x{size[1]}; it must be {wanted[0]}x{wanted[1]}")


def _requirements(requirements: Any, report: _Report) -> None:
    if requirements is None:
        return
    if not isinstance(requirements, dict):
        report.error("requirements.not_object", "requirements.json must hold a JSON object")
        return
    for key, entries in requirements.items():
        if key not in REQUIREMENT_KEYS:
            report.error("requirements.key", f"requirements.json: {key!r} is not a resource type apps may "
                                             "require")
            continue
        if not isinstance(entries, dict) or not entries:
            report.error("requirements.entries", f"requirements.json: {key} must map identifiers to objects")
            continue
        for identifier, resource in entries.items():
            if not isinstance(resource, dict) or not resource:
                report.error("requirements.entries", f"requirements.json: {key}.{identifier} is no object")
    for identifier, webhook in (requirements.get("webhooks") or {}).items():
        endpoint = webhook.get("endpoint") if isinstance(webhook, dict) else None
        if not isinstance(endpoint, str) or PLACEHOLDER in endpoint:
            report.error("deskmate.webhook_endpoint", f"webhooks.{identifier}.endpoint is not filled in "
                                                      "(build the package with --service-url)")
        elif url_problem(endpoint, {}) is not None and urlsplit(endpoint).hostname != "127.0.0.1":
            report.error("deskmate.webhook_endpoint", f"webhooks.{identifier}.endpoint must be https "
                                                      "(or a loopback address)")
