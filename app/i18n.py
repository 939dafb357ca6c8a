"""Server-side texts in the reader's language and times in the reader's timezone, through Flask-Babel.

Catalogs are gettext ``.po`` files (one domain, ``messages``): the core's in ``app/translations`` and each
enabled plugin's in ``<plugin package>/translations`` when it has one; Flask-Babel merges them per locale.
The ``.mo`` files are built from the ``.po`` files by the Makefile (and by the test suite when missing).

Per request:

- **Language**: ``?lang=xx`` (remembered in the ``deskmate_lang`` cookie), else that cookie, else the best
  match in ``Accept-Language``, else English. A regional tag the reader's browser prefers (``en-GB``) is kept
  for dates and numbers; texts come from its language's catalog.
- **Timezone**: the ``deskmate_tz`` cookie (an IANA name that the admin layout's script sets from the
  browser), else UTC.

Jinja gets ``_``, ``gettext`` and ``ngettext`` (Flask-Babel's i18n extension, autoescaped placeholders) and the
filters ``|when`` (a local, human date and time, to the minute) and ``|ago`` ("5 minutes ago", "in 2 hours").
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import flask_babel
import pytz
from babel import Locale, UnknownLocaleError, dates
from flask import Flask, Response, has_request_context, request
from flask_babel import Babel, format_timedelta, get_locale, get_timezone, refresh
from flask_babel.speaklater import LazyString

from app.clock import get_clock

log = logging.getLogger(__name__)
LANGUAGES = ("en", "fr", "it")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "deskmate_lang"
TZ_COOKIE = "deskmate_tz"
# A language choice is kept for a year: it is a preference, not a credential.
COOKIE_MAX_AGE = 365 * 24 * 3600
CORE_TRANSLATIONS = Path(__file__).parent / "translations"
JUST_NOW = timedelta(seconds=10)


def _supported(tag: str | None) -> str | None:
    """``tag`` as a locale name when its language is one Deskmate speaks (``fr-CH`` -> ``fr_CH``), else None."""
    if not tag or len(tag) > 35:
        return None
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    return str(locale) if locale.language in LANGUAGES else None


def chosen_language() -> str | None:
    """The language asked for with ``?lang=`` on this request, when it is one of ``LANGUAGES``."""
    value = request.args.get("lang")
    return value if value in LANGUAGES else None


def select_locale() -> str:
    """The request's locale: ``?lang=``, the cookie, then Accept-Language, then English (and outside a request)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    explicit = chosen_language() or request.cookies.get(LANG_COOKIE)
    if explicit in LANGUAGES:
        return str(explicit)
    for tag, _quality in request.accept_languages:
        found = _supported(tag)
        if found:
            return found
    return DEFAULT_LANGUAGE


def select_timezone() -> str:
    """The browser's timezone from the ``deskmate_tz`` cookie when it names a real zone, else UTC."""
    if not has_request_context():
        return "UTC"
    # The layout's script writes the name with encodeURIComponent ("Europe%2FRome"); werkzeug does not decode.
    name = unquote(request.cookies.get(TZ_COOKIE) or "")
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return "UTC"
    try:
        zoneinfo.ZoneInfo(name)
        pytz.timezone(name)  # Flask-Babel converts with pytz: a name both know
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, pytz.UnknownTimeZoneError):
        return "UTC"
    return name


def _remember_language(response: Response) -> Response:
    language = chosen_language()
    if language and request.cookies.get(LANG_COOKIE) != language:
        response.set_cookie(LANG_COOKIE, language, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    return response


def when(value: datetime | None) -> str:
    """``value`` as a human date and time in the reader's locale and timezone, to the minute.

    The locale's medium date and short time joined its own way: "Dec 8, 2026, 2:05 PM" (en),
    "8 déc. 2026, 14:05" (fr). A naive value is taken as UTC, which is how the database returns them.
    """
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    locale = get_locale() or Locale.parse(DEFAULT_LANGUAGE)
    pattern = str(locale.datetime_formats["medium"]).format(
        locale.time_formats["short"].pattern, locale.date_formats["medium"].pattern)
    return dates.format_datetime(value, pattern, tzinfo=get_timezone(), locale=locale)


def ago(value: datetime | timedelta | None) -> str:
    """How long ago (or how far ahead) ``value`` is from the app's clock: "5 minutes ago", "in 2 hours",
    "just now" within ten seconds."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value - get_clock().now()
    if abs(value) < JUST_NOW:
        return gettext("just now")  # "in 0 seconds" is what Babel would say
    return str(format_timedelta(value, add_direction=True))


def gettext(string: str, **variables: Any) -> str:
    """``string`` in the request's language, with ``%(name)s`` placeholders filled from ``variables``."""
    return str(flask_babel.gettext(string, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The form for ``num`` by the language's plural rule ("1 ticket", "2 tickets"); ``%(num)d`` is ``num``."""
    return str(flask_babel.ngettext(singular, plural, num, **variables))


def pgettext(context: str, string: str, **variables: Any) -> str:
    """``gettext`` for a word whose translation depends on what it describes: ``pgettext("ticket status",
    "Open")`` is "Ouvert" where a request's "Open" is "Ouverte"."""
    return str(flask_babel.pgettext(context, string, **variables))


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """``gettext`` deferred until the text is shown: for texts defined at import (an admin page's menu title)."""
    return flask_babel.lazy_gettext(string, **variables)


def translation_directories(app: Flask) -> list[str]:
    """The core's catalogs, then each enabled plugin's ``translations`` folder that exists."""
    from app.plugins import plugin_manager

    folders = [CORE_TRANSLATIONS]
    for _name, module in plugin_manager.state(app).pm.list_name_plugin():
        source = getattr(module, "__file__", None)
        if source:
            folder = Path(source).parent / "translations"
            if folder.is_dir() and folder not in folders:
                folders.append(folder)
    return [str(folder) for folder in folders]


def init_app(app: Flask) -> None:
    """Set up Flask-Babel for ``app``; call it after the plugin manager, whose plugins bring catalogs.

    Config set here: ``BABEL_DEFAULT_LOCALE`` (en), ``BABEL_DEFAULT_TIMEZONE`` (UTC),
    ``BABEL_TRANSLATION_DIRECTORIES`` (the core's and the plugins' folders).
    """
    if "babel" in app.extensions:
        raise RuntimeError("i18n.init_app was called twice on the same app")
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LANGUAGE
    app.config["BABEL_DEFAULT_TIMEZONE"] = "UTC"
    directories = translation_directories(app)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(directories)
    stale = [po for folder in directories for po in sorted(Path(folder).glob("*/LC_MESSAGES/*.po"))
             if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime]
    if stale:
        # Texts would silently stay English: say what to run (make run / make test do it themselves).
        log.warning("translations not compiled, so those texts show in English: %s; run `python -m app.i18n compile` "
                    "in the repository (make run and make test do)", ", ".join(str(po) for po in stale))
    # One Babel object per app: it caches the merged catalogs, which differ with the enabled plugins.
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(when=when, ago=ago)
    app.jinja_env.globals.update(current_locale=_current_locale, language_url=language_url)
    # The locale and timezone are chosen once per request; a request inside an app context already pushed (a
    # test's, a command's) shares its ``g``, so forget the previous request's choice first.
    app.before_request(refresh)
    app.after_request(_remember_language)


def _current_locale() -> Any:
    return get_locale() or Locale.parse(DEFAULT_LANGUAGE)


def language_url(language: str) -> str:
    """This page's URL in ``language``: its other query parameters (a report's dates) kept."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return request.path + "?" + urlencode([*args, ("lang", language)])


# gettext plural rules, as the catalogs' headers state them. Babel's CLDR data gives French and Italian a third
# form for millions ("1 000 000 de tickets"); Deskmate's texts never need it, and two forms keep every catalog
# (and every translator's work) to singular and plural. French counts 0 as singular.
PLURAL_FORMS = {"fr": (2, "(n > 1)"), "it": (2, "(n != 1)")}


def set_plural_forms(po: Path) -> None:
    """Give the catalog at ``po`` (``.../<language>/LC_MESSAGES/x.po``) Deskmate's plural rule for its language.

    ``make translations`` runs it after ``pybabel init``; ``pybabel update`` keeps the header afterwards.
    """
    from babel.messages.pofile import read_po, write_po

    language = po.parent.parent.name
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    count, rule = PLURAL_FORMS[language]
    catalog.mime_headers = [*[(key, value) for key, value in catalog.mime_headers if key != "Plural-Forms"],
                            ("Plural-Forms", f"nplurals={count}; plural={rule};")]
    for message in catalog:
        if message.id and isinstance(message.id, tuple) and isinstance(message.string, tuple):
            message.string = message.string[:2] + ("",) * (2 - len(message.string[:2]))
    with po.open("wb") as target:
        write_po(target, catalog, width=120)


def compile_catalogs(root: Path) -> list[Path]:
    """Compile every ``translations/*/LC_MESSAGES/*.po`` under ``root`` whose ``.mo`` is missing or older.

    What ``make run`` and ``make test`` do with ``pybabel compile``, for a bare ``pytest`` or a fresh checkout
    run another way. Returns the ``.mo`` files written.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for folder in (root / "app", root / "plugins"):
        for po in sorted(folder.glob("**/translations/*/LC_MESSAGES/*.po")):
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            with mo.open("wb") as target:
                write_mo(target, catalog)  # fuzzy entries left out, as pybabel compile does
            written.append(mo)
    return written


if __name__ == "__main__":
    # python -m app.i18n compile: build the .mo files (for a deployment that does not go through make);
    # python -m app.i18n plural-forms PO...: Deskmate's plural rule on catalogs `pybabel init` just made.
    import sys

    command, *paths = sys.argv[1:] or ["compile"]
    if command == "compile":
        for written in compile_catalogs(Path.cwd()):
            print(f"compiled {written}")
    elif command == "plural-forms":
        for name in paths:
            set_plural_forms(Path(name))
    else:
        sys.exit("usage: python -m app.i18n compile | plural-forms PO...")
