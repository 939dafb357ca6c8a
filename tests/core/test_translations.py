"""Every server-side catalog is complete and well-formed, and the layer picks the reader's language and time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import refresh

from app.i18n import LANG_COOKIE, TZ_COOKIE, ago, when

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted(p for folder in (ROOT / "app", ROOT / "plugins")
                  for p in folder.glob("**/translations/*/LC_MESSAGES/messages.po"))
PLURAL_RULES = {"fr": "(n > 1)", "it": "(n != 1)"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|\{(\w*)\}")


def placeholders(text: str) -> list[str]:
    return sorted(a or b for a, b in PLACEHOLDER.findall(text))


def catalog_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_there_are_french_and_italian_catalogs_for_the_core():
    found = {catalog_id(p) for p in CATALOGS}
    assert {"app/translations/fr/LC_MESSAGES/messages.po", "app/translations/it/LC_MESSAGES/messages.po"} <= found


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_catalog_is_complete_with_the_right_plurals_and_placeholders(path: Path):
    language = path.parent.parent.name
    assert language in PLURAL_RULES, f"{catalog_id(path)}: Deskmate speaks en, fr and it"
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    header = catalog.mime_headers
    plural_forms = dict(header)["Plural-Forms"].replace(" ", "")
    assert plural_forms == f"nplurals=2;plural={PLURAL_RULES[language]};".replace(" ", "")
    problems = []
    for message in catalog:
        if not message.id:
            continue
        name = message.id if isinstance(message.id, str) else message.id[0]
        if message.fuzzy:
            problems.append(f"fuzzy: {name!r}")
        if isinstance(message.id, tuple):
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            if len(forms) != 2 or not all(forms):
                problems.append(f"plural forms not all filled: {name!r}")
                continue
            for form in forms:
                if placeholders(form) != placeholders(message.id[1]):
                    problems.append(f"placeholders differ: {name!r} -> {form!r}")
        else:
            if not message.string:
                problems.append(f"not translated: {name!r}")
            elif placeholders(message.string) != placeholders(message.id):
                problems.append(f"placeholders differ: {name!r} -> {message.string!r}")
    assert not problems, f"{catalog_id(path)}:\n" + "\n".join(problems)


def test_lang_parameter_wins_and_is_remembered_in_a_cookie(client):
    answer = client.get("/admin/login?lang=fr", headers={"Accept-Language": "it"})
    assert "Se connecter" in answer.get_data(as_text=True)
    assert f"{LANG_COOKIE}=fr" in answer.headers["Set-Cookie"]
    again = client.get("/admin/login", headers={"Accept-Language": "it"})
    assert 'lang="fr"' in again.get_data(as_text=True)


def test_accept_language_picks_the_best_supported_language(client):
    page = client.get("/admin/login", headers={"Accept-Language": "de-DE,it;q=0.8,fr;q=0.5"})
    assert "Accedi" in page.get_data(as_text=True)


def test_unknown_language_falls_back_to_english(client):
    page = client.get("/admin/login?lang=xx", headers={"Accept-Language": "de, ja"})
    assert "Sign in" in page.get_data(as_text=True)
    assert LANG_COOKIE not in page.headers.get("Set-Cookie", "")


def test_when_is_local_human_and_to_the_minute(app):
    moment = datetime(2026, 12, 8, 13, 5, 33, 123456, tzinfo=UTC)
    with app.test_request_context(headers={"Accept-Language": "fr",
                                           "Cookie": f"{TZ_COOKIE}=Europe/Paris"}):
        assert when(moment) == "8 déc. 2026, 14:05"
    with app.test_request_context(headers={"Accept-Language": "en-GB", "Cookie": f"{TZ_COOKIE}=Not/AZone"}):
        refresh()  # a request context inside the test's app context shares its g; a real request starts afresh
        assert when(moment) == "8 Dec 2026, 13:05"
    with app.test_request_context(headers={"Accept-Language": "it", "Cookie": f"{TZ_COOKIE}=America/New_York"}):
        refresh()
        assert when(moment.replace(tzinfo=None)) == "8 dic 2026, 08:05"  # naive means UTC, as stored


def test_the_timezone_cookie_is_read_as_the_layout_writes_it(app):
    moment = datetime(2026, 7, 1, 20, 0, tzinfo=UTC)
    # The admin layout's script stores encodeURIComponent(zone): the slash arrives as %2F.
    with app.test_request_context(headers={"Accept-Language": "en-GB", "Cookie": f"{TZ_COOKIE}=Europe%2FRome"}):
        refresh()
        assert when(moment) == "1 Jul 2026, 22:00"


def test_ago_reads_from_the_apps_clock(app, clock):
    with app.test_request_context(headers={"Accept-Language": "it"}):
        assert ago(clock.now() - timedelta(minutes=5)) == "5 minuti fa"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        assert ago(clock.now() + timedelta(hours=2)) == "in 2 hours"


def test_templates_have_plurals_through_ngettext(app):
    source = "{{ ngettext('%(num)d event', '%(num)d events', n) }}"
    expected = {"fr": ["0 événement", "1 événement", "2 événements"],
                "it": ["0 eventi", "1 evento", "2 eventi"],
                "en": ["0 events", "1 event", "2 events"]}
    for language, texts in expected.items():
        with app.test_request_context(headers={"Accept-Language": language}):
            refresh()
            assert [render_template_string(source, n=n) for n in (0, 1, 2)] == texts


def test_a_text_in_several_catalogs_reads_the_same_in_each():
    """The core's and the plugins' catalogs are merged into one (Flask-Babel, one domain): the same English text
    translated two ways in two catalogs would show one of them on every page, whichever was merged last. Give the
    text words of its own where the meaning differs ("Failed at", not "Failed")."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for path in CATALOGS:
        language = path.parent.parent.name
        with path.open("rb") as source:
            for message in read_po(source, locale=language):
                if message.id:
                    key = message.id if isinstance(message.id, str) else "\n".join(message.id)
                    seen.setdefault((language, key), {})[catalog_id(path)] = str(message.string)
    clashes = [f"{language} {text!r}: " + "; ".join(f"{where}: {said!r}" for where, said in found.items())
               for (language, text), found in sorted(seen.items()) if len(set(found.values())) > 1]
    assert not clashes, "\n".join(clashes)


def test_catalogs_left_uncompiled_are_named_at_start_up(database_url, tmp_path, monkeypatch):
    import logging

    from app import create_app, i18n
    from tests.conftest import base_config

    class Records(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    records = Records()  # on the module's logger: create_app replaces the root logger's handlers
    monkeypatch.setattr(i18n, "log", logging.getLogger("deskmate.test.i18n"))
    i18n.log.addHandler(records)

    folder = tmp_path / "translations" / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_bytes((ROOT / "app/translations/fr/LC_MESSAGES/messages.po").read_bytes())
    monkeypatch.setattr(i18n, "CORE_TRANSLATIONS", tmp_path / "translations")
    create_app(base_config(database_url, plugins=[]))
    assert any("translations not compiled" in m and str(folder / "messages.po") in m for m in records.messages)
    assert i18n.compile_catalogs(tmp_path) == []  # only app/ and plugins/ folders are compiled
