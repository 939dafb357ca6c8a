"""Every app rule of PLATFORM_FACTS.md holds for the real package, and each one refuses its breach."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from app.install.package import ROOT, PackageRefused, build, collect, fill_service_url, read_zip
from app.install.rules import check_files, errors
from app.install.slack import BOT_SCOPES, slack_manifest

SERVICE_URL = "https://deskmate.acme.example"


def good_files() -> dict[str, bytes]:
    files, symlinks = collect()
    assert not symlinks
    return fill_service_url(files, SERVICE_URL)


def edit_json(path: str, change: Callable[[dict], None]) -> Callable[[dict[str, bytes]], None]:
    def mutate(files: dict[str, bytes]) -> None:
        document = json.loads(files[path])
        change(document)
        files[path] = json.dumps(document).encode()

    return mutate


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def manifest(change: Callable[[dict], None]) -> Callable[[dict[str, bytes]], None]:
    return edit_json("manifest.json", change)


def sidebar(files_change: Callable[[dict], None]) -> Callable[[dict], None]:
    return lambda m: files_change(m["location"]["support"]["ticket_sidebar"])


def parameter(**fields) -> Callable[[dict], None]:
    return lambda m: m["parameters"].append({"name": "extra", "type": "text", **fields})


BREACHES: dict[str, tuple[Callable[[dict[str, bytes]], None], str]] = {
    "zip inside the app": (lambda f: f.__setitem__("assets/old.zip", b"PK"), "files.forbidden_type"),
    "pdf inside the app": (lambda f: f.__setitem__("assets/guide.pdf", b"%PDF"), "files.forbidden_type"),
    "shell script inside the app": (lambda f: f.__setitem__("assets/run.sh", b"#!/bin/sh"),
                                    "files.forbidden_type"),
    "no manifest": (lambda f: f.pop("manifest.json"), "manifest.missing"),
    "manifest not JSON": (lambda f: f.__setitem__("manifest.json", b"{nope"), "manifest.invalid_json"),
    "no author": (manifest(lambda m: m.pop("author")), "manifest.author"),
    "author without name": (manifest(lambda m: m.__setitem__("author", {"email": "a@b.c"})),
                            "manifest.author"),
    "no default locale": (manifest(lambda m: m.pop("defaultLocale")), "manifest.default_locale"),
    "malformed default locale": (manifest(lambda m: m.__setitem__("defaultLocale", "English")),
                                 "manifest.default_locale"),
    "default locale without translations": (manifest(lambda m: m.__setitem__("defaultLocale", "de")),
                                            "manifest.default_locale"),
    "no location": (manifest(lambda m: m.pop("location")), "manifest.location"),
    "plain http sidebar url": (manifest(sidebar(lambda s: s.__setitem__("url", "http://dm.example/s"))),
                               "manifest.location_url"),
    "relative sidebar url": (manifest(sidebar(lambda s: s.__setitem__("url", "/sidebar/"))),
                             "manifest.location_url"),
    "missing assets file": (manifest(sidebar(lambda s: s.__setitem__("url", "assets/iframe.html"))),
                            "manifest.location_url"),
    "no framework version": (manifest(lambda m: m.pop("frameworkVersion")), "manifest.framework_version"),
    "framework version 1": (manifest(lambda m: m.__setitem__("frameworkVersion", "1.0")),
                            "manifest.framework_version"),
    "private not boolean": (manifest(lambda m: m.__setitem__("private", "yes")), "manifest.private"),
    "unsigned urls": (manifest(lambda m: m.__setitem__("signedUrls", False)), "deskmate.signed_urls"),
    "sidebar not flexible": (manifest(sidebar(lambda s: s.pop("flexible"))), "deskmate.ticket_sidebar"),
    "parameter called name": (manifest(lambda m: m["parameters"].append({"name": "name", "type": "text"})),
                              "parameters.reserved_name"),
    "parameter twice": (manifest(lambda m: m["parameters"].append(dict(m["parameters"][0]))),
                        "parameters.unique"),
    "unknown parameter type": (manifest(parameter(type="password")), "parameters.type"),
    "required hidden parameter": (manifest(parameter(type="hidden", required=True)),
                                  "parameters.hidden_required"),
    "scopes on a non-secure parameter": (manifest(parameter(scopes=["header"])), "parameters.scopes"),
    "unknown scope": (manifest(parameter(secure=True, scopes=["cookie"])), "parameters.scopes"),
    "parameter without a name": (manifest(lambda m: m["parameters"].append({"type": "text"})),
                                 "parameters.name"),
    "no en translations": (lambda f: f.pop("translations/en.json"), "translations.en_missing"),
    "no app name": (edit_json("translations/en.json", lambda t: t["app"].pop("name")),
                    "translations.app_name"),
    "parameter without label": (edit_json("translations/en.json", lambda t: t["app"]["parameters"].pop(
        "service_url")), "translations.parameter_label"),
    "logo missing": (lambda f: f.pop("assets/logo.png"), "assets.logo"),
    "logo of the wrong size": (lambda f: f.__setitem__("assets/logo.png", png(300, 300)), "assets.logo"),
    "small logo of the wrong size": (lambda f: f.__setitem__("assets/logo-small.png", png(320, 320)),
                                     "assets.logo"),
    "logo not a png": (lambda f: f.__setitem__("assets/logo.png", b"GIF89a"), "assets.logo"),
    "unknown requirement type": (edit_json("requirements.json",
                                           lambda r: r.__setitem__("groups", {"g": {"n": 1}})),
                                 "requirements.key"),
    "requirement not an object": (edit_json("requirements.json",
                                            lambda r: r["triggers"].__setitem__("x", [])),
                                  "requirements.entries"),
    "requirements not an object": (lambda f: f.__setitem__("requirements.json", b"[]"),
                                   "requirements.not_object"),
    "webhook endpoint not filled in": (edit_json("requirements.json", lambda r: r["webhooks"][
        "deskmate_ticket_events"].__setitem__("endpoint", "__SERVICE_URL__/webhooks/zendesk")),
        "deskmate.webhook_endpoint"),
}


def test_the_real_package_passes_every_rule():
    findings = check_files(good_files())
    assert findings == []


@pytest.mark.parametrize("breach", list(BREACHES))
def test_each_rule_refuses_its_breach(breach):
    mutate, rule = BREACHES[breach]
    files = good_files()
    mutate(files)
    broken = {finding.rule for finding in errors(check_files(files))}
    assert rule in broken, f"{breach}: expected {rule}, got {broken}"


def test_symlinks_are_refused():
    assert {f.rule for f in check_files(good_files(), symlinks=["assets/logo.png"])} == {"files.symlink"}


def test_text_parameter_named_like_a_secret_draws_a_warning_not_an_error():
    files = good_files()
    manifest(parameter(name="api_token"))(files)
    edit_json("translations/en.json",
              lambda t: t["app"]["parameters"].__setitem__("api_token", {"label": "API token"}))(files)
    findings = check_files(files)
    assert [(f.level, f.rule) for f in findings] == [("warning", "parameters.insecure_secret")]


def test_package_command_writes_a_zip_that_passes_the_rules(runner, tmp_path):
    result = runner.invoke(args=["zendesk", "package", "--service-url", SERVICE_URL + "/",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    built = tmp_path / "deskmate-1.0.0.zip"
    files = read_zip(built.read_bytes())
    assert sorted(files) == ["assets/logo-small.png", "assets/logo.png", "manifest.json",
                             "requirements.json", "translations/en.json", "translations/it.json"]
    assert check_files(files) == []
    requirements = json.loads(files["requirements.json"])
    assert requirements["webhooks"]["deskmate_ticket_events"]["endpoint"] == SERVICE_URL + "/webhooks/zendesk"
    assert set(requirements) <= {"organization_fields", "triggers", "webhooks"}
    assert json.loads(files["manifest.json"])["parameters"][0]["default"] == SERVICE_URL


def test_package_is_reproducible():
    assert build(SERVICE_URL).data == build(SERVICE_URL).data


def test_package_command_refuses_a_broken_app_and_writes_nothing(tmp_path, monkeypatch):
    app_dir = tmp_path / "app"
    for path, data in collect()[0].items():
        (app_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (app_dir / path).write_bytes(data)
    os.symlink(app_dir / "assets" / "logo.png", app_dir / "assets" / "link.png")
    with pytest.raises(PackageRefused, match="symbolic link"):
        build(SERVICE_URL, root=app_dir, out_dir=tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


def test_package_refuses_a_plain_http_service_url():
    with pytest.raises(PackageRefused, match="webhook_endpoint"):
        build("http://deskmate.acme.example")


def test_slack_manifest_has_the_bot_scopes_and_interactivity_url(runner):
    result = runner.invoke(args=["slack", "manifest", "--public-url", SERVICE_URL + "/"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed == slack_manifest(SERVICE_URL)
    assert printed["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert set(BOT_SCOPES) == {"chat:write", "chat:write.public", "users:read", "users:read.email",
                               "files:write", "channels:history", "groups:history"}
    assert printed["settings"]["interactivity"] == {"is_enabled": True,
                                                    "request_url": SERVICE_URL + "/slack/interactions"}
    assert printed["features"]["bot_user"]["display_name"] == "Deskmate"
    assert printed["display_information"]["name"] == "Deskmate"


def test_logos_are_committed_at_zendesk_sizes():
    assert Image.open(ROOT / "assets" / "logo.png").size == (320, 320)
    assert Image.open(ROOT / "assets" / "logo-small.png").size == (128, 128)


def test_translations_of_the_app_and_the_sidebar_have_the_same_keys():
    def keys(document: dict, prefix: str = "") -> set[str]:
        out = set()
        for key, value in document.items():
            out |= keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
        return out

    plugin_folders = sorted((ROOT / "plugins").glob("*/sidebar_ui/i18n"))
    assert plugin_folders, "no plugin ships sidebar texts"
    for folder in (ROOT / "translations", ROOT / "sidebar_ui" / "i18n", *plugin_folders):
        english = keys(json.loads((folder / "en.json").read_text()))
        italian = keys(json.loads((folder / "it.json").read_text()))
        assert english == italian, f"{folder}: {english ^ italian}"
    for folder in (ROOT / "sidebar_ui" / "i18n", *plugin_folders):  # the sidebar speaks French too
        english = keys(json.loads((folder / "en.json").read_text()))
        french = keys(json.loads((folder / "fr.json").read_text()))
        assert english == french, f"{folder}: {english ^ french}"


def test_every_text_key_the_sidebar_uses_is_translated():
    import re

    english = json.loads((ROOT / "sidebar_ui" / "i18n" / "en.json").read_text())
    for folder in (ROOT / "plugins").glob("*/sidebar_ui/i18n"):
        texts = json.loads((folder / "en.json").read_text())
        assert all(key.startswith(f"{folder.parents[1].name}.") for key in texts), folder
        english.update(texts)
    used: set[str] = set()
    for script in [*(ROOT / "sidebar_ui" / "js").glob("*.js"), *(ROOT / "plugins").glob("*/sidebar_ui/*.js")]:
        used |= set(re.findall(r'\bt\("([\w.]+)"', script.read_text()))
    assert used, "no t(...) calls found"
    assert used - set(english) == set()


def test_the_core_sidebar_names_no_plugin():
    import re

    names = [path.name for path in (ROOT / "plugins").iterdir() if (path / "__init__.py").exists()]
    for script in (ROOT / "sidebar_ui" / "js").glob("*.js"):
        text = script.read_text()
        for name in names:
            assert not re.search(rf"\b{name}\b", text), f"{script.name} names the plugin {name}"


def test_sidebar_scripts_build_no_markup_from_strings():
    for script in [*Path(ROOT / "sidebar_ui" / "js").glob("*.js"), *(ROOT / "plugins").glob("*/sidebar_ui/*.js")]:
        text = script.read_text()
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, script.name
