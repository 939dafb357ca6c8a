"""The admin page's forms: what was typed, read into the service's models, with each problem beside its field.

Nothing here writes. A form either becomes a valid model (then the page saves it) or a dict of plain-words
problems keyed by the field they concern (then the page shows the form again with everything as typed).
Times are typed in the reader's own timezone (the admin layout tells the server which one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from pydantic import ValidationError

from app.api import gettext, lazy_gettext
from plugins.breaking_news import incidents as service
from plugins.breaking_news import markup
from plugins.breaking_news.admin_api import QuickLinksIn
from plugins.breaking_news.models import SEVERITIES, STATUSES

MAX_QUICK_LINKS = 20
MAX_FEATURES, MAX_KEYWORDS = 30, 50
OPEN_STATUSES = tuple(status for status in STATUSES if status != "resolved")

SEVERITY_LABELS = {
    "information": lazy_gettext("Information"), "degraded": lazy_gettext("Degraded service"),
    "outage": lazy_gettext("Outage"), "maintenance": lazy_gettext("Scheduled maintenance"),
}
STATUS_LABELS = {
    "investigating": lazy_gettext("Investigating"), "identified": lazy_gettext("Cause identified"),
    "monitoring": lazy_gettext("Monitoring"), "resolved": lazy_gettext("Resolved"),
}
KIND_LABELS = {"article": lazy_gettext("Help article"), "notice": lazy_gettext("Short notice")}


@dataclass
class Form:
    """One form as typed (``values``), its problems by field (``errors``), and the model when it is valid."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    model: Any = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.model is not None


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def terms(value: str) -> list[str]:
    return [" ".join(term.split()) for term in value.split(",") if term.strip()]


def local_moment(value: str, zone: tzinfo) -> datetime | None:
    """A ``datetime-local`` field (``2026-12-08T14:05``) read in the reader's timezone; None when empty.

    Raises:
        ValueError: when the field is not a date and time.
    """
    value = value.strip()
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def input_value(moment: datetime | None, zone: tzinfo) -> str:
    """A stored time as a ``datetime-local`` input shows it, in the reader's timezone."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _check_terms(found: list[str], limit: int, problems: dict[str, str], name: str) -> None:
    wrong = [term for term in found if not 2 <= len(term) <= 100]
    if wrong and name == "keywords":
        problems[name] = gettext('Each keyword must be 2 to 100 characters long; “%(term)s” is not.',
                                 term=wrong[0][:40])
    elif wrong:
        problems[name] = gettext('Each affected feature must be 2 to 100 characters long; “%(term)s” is not.',
                                 term=wrong[0][:40])
    elif len(found) > limit:
        problems[name] = gettext("Give at most %(limit)s, separated by commas.", limit=limit)


def _check_model_errors(exc: ValidationError, known: set[str], problems: dict[str, str]) -> None:
    """Whatever the service's model still refuses, beside its field in plain words (never the raw message)."""
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        target = name if name in known else "form"
        problems.setdefault(target, gettext("This value cannot be used; please check it."))


def incident_form(form: Mapping[str, Any], zone: tzinfo, now: datetime) -> Form:
    """The "Publish an incident" form."""
    values: dict[str, Any] = {name: _text(form, name) for name in (
        "title", "body", "severity", "status", "affected_features", "keywords", "starts_at", "ends_at")}
    values["notify"] = bool(form.get("notify"))
    result = Form(values=values)
    problems = result.errors
    title = values["title"].strip()
    if not title:
        problems["title"] = gettext("Give the incident a title.")
    elif len(title) > 200:
        problems["title"] = gettext("The title is too long: at most %(limit)s characters.", limit=200)
    if len(values["body"]) > markup.MAX_SOURCE_CHARS:
        problems["body"] = gettext("The text is too long: at most %(limit)s characters.",
                                   limit=markup.MAX_SOURCE_CHARS)
    if values["severity"] not in SEVERITIES:
        problems["severity"] = gettext("Choose a severity.")
    if (values["status"] or "investigating") not in OPEN_STATUSES:
        problems["status"] = gettext("Choose a status.")
    features, keywords = terms(values["affected_features"]), terms(values["keywords"])
    _check_terms(features, MAX_FEATURES, problems, "affected_features")
    _check_terms(keywords, MAX_KEYWORDS, problems, "keywords")
    moments: dict[str, datetime | None] = {}
    for name in ("starts_at", "ends_at"):
        try:
            moments[name] = local_moment(values[name], zone)
        except ValueError:
            problems[name] = gettext("Enter a date and time, or leave it empty.")
    starts, ends = moments.get("starts_at"), moments.get("ends_at")
    if ends is not None and not {"starts_at", "ends_at"} & set(problems) and ends <= (starts or now):
        problems["ends_at"] = (gettext("The end must be after the start.") if starts else
                               gettext("The end is already past: leave it empty, or give a later time."))
    if problems:
        return result
    try:
        result.model = service.IncidentIn.model_validate({
            "title": title, "body": values["body"], "severity": values["severity"],
            "status": values["status"] or "investigating", "affected_features": features,
            "keywords": keywords, "starts_at": starts, "ends_at": ends, "notify_requesters": values["notify"]})
    except ValidationError as exc:
        _check_model_errors(exc, set(values), problems)
    return result


def update_form(form: Mapping[str, Any], *, resolve: bool) -> Form:
    """An open incident's "Post update" (a new status and a text) or "Resolve" (a note) form."""
    values: dict[str, Any] = {"status": _text(form, "status"), "body": _text(form, "body"),
                              "notify": bool(form.get("notify"))}
    result = Form(values=values)
    status = "resolved" if resolve else values["status"]
    if not resolve and status not in OPEN_STATUSES:
        result.errors["status"] = gettext("Choose a status.")
    if len(values["body"]) > markup.MAX_SOURCE_CHARS:
        result.errors["body"] = gettext("The text is too long: at most %(limit)s characters.",
                                        limit=markup.MAX_SOURCE_CHARS)
    if result.errors:
        return result
    try:
        result.model = service.UpdateIn.model_validate({
            "status": status, "body": values["body"],
            "notify_requesters": values["notify"] if resolve else None})
    except ValidationError as exc:
        _check_model_errors(exc, set(values), result.errors)
    return result


def quick_links_form(form: Mapping[str, Any], rows: int) -> Form:
    """A ticket form's quick links: ``kind-N``, ``title-N``, ``url-N``, ``text-N`` per row; blank rows ignored.

    Problems are keyed ``links-N`` and say which link (counted from 1 as the admin sees them) and what to do.
    """
    values: dict[str, Any] = {"form_id": _text(form, "form_id"), "links": []}
    result = Form(values=values)
    links: list[dict[str, Any]] = []
    for index in range(rows):
        row = {part: _text(form, f"{part}-{index}").strip() for part in ("kind", "title", "url", "text")}
        values["links"].append(row)
        if not any(row.values()):
            continue
        number = index + 1
        problem = None
        if row["kind"] not in KIND_LABELS:
            problem = gettext("Link %(number)s: choose a kind.", number=number)
        elif not row["title"]:
            problem = gettext("Link %(number)s: give it a title.", number=number)
        elif len(row["title"]) > 200:
            problem = gettext("Link %(number)s: the title is too long (at most %(limit)s characters).",
                              number=number, limit=200)
        elif row["kind"] == "article" and not row["url"]:
            problem = gettext("Link %(number)s: a help article needs its address.", number=number)
        elif row["url"] and markup.safe_url(row["url"]) is None:
            problem = gettext("Link %(number)s: the address must start with https:// (or http://).",
                              number=number)
        elif len(row["url"]) > 2000:
            problem = gettext("Link %(number)s: the address is too long.", number=number)
        elif len(row["text"]) > 500:
            problem = gettext("Link %(number)s: the text is too long (at most %(limit)s characters).",
                              number=number, limit=500)
        if problem:
            result.errors[f"links-{index}"] = problem
            continue
        link = {"kind": row["kind"], "title": row["title"], "text": row["text"]}
        if row["url"]:
            link["url"] = row["url"]
        links.append(link)
    if len(links) > MAX_QUICK_LINKS:
        result.errors["links"] = gettext("Give at most %(limit)s links.", limit=MAX_QUICK_LINKS)
    digits = values["form_id"].strip()
    if not (digits.isascii() and digits.isdigit() and 0 < int(digits) <= 2**63 - 1):
        result.errors["form_id"] = gettext("Enter the ticket form's number (a whole number, as in the "
                                           "helpdesk's form settings).")
    if result.errors:
        return result
    try:
        result.model = (int(digits), QuickLinksIn.model_validate({"links": links}))
    except ValidationError as exc:
        _check_model_errors(exc, {"links"}, result.errors)
    return result
