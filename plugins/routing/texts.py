"""The routing admin page's words in the reader's language: why a ticket was routed, segments, statuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.api import gettext, lazy_gettext

# The same reasons as the sidebar's routing.why.* texts, for server pages.
WHY = {
    "organization": lazy_gettext("organization %(value)s"),
    "organization_tag": lazy_gettext("organization tag %(value)s"),
    "organization_field": lazy_gettext("organization field %(key)s is %(value)s"),
    "domain": lazy_gettext("email domain %(value)s"),
    "requester_tag": lazy_gettext("requester tag %(value)s"),
    "requester_field": lazy_gettext("requester field %(key)s is %(value)s"),
    "ticket_tag": lazy_gettext("ticket tag %(value)s"),
    "ticket_field": lazy_gettext("ticket field %(key)s is %(value)s"),
    "channel": lazy_gettext("channel %(value)s"),
    "ticket_form": lazy_gettext("ticket form %(value)s"),
    "brand": lazy_gettext("brand %(value)s"),
    "rule": lazy_gettext("rule %(value)s"),
    "default": lazy_gettext("no rule matched, so the default segment: %(value)s"),
}
SEGMENTS = {"premium_partner": lazy_gettext("Premium partner"), "user": lazy_gettext("User")}
STATUSES = {
    "waiting": lazy_gettext("Waiting for customer data"), "pending": lazy_gettext("Update queued"),
    "applied": lazy_gettext("Applied"), "unchanged": lazy_gettext("Already in place"),
    "failed": lazy_gettext("Update failed"), "skipped": lazy_gettext("Not applied: ticket closed"),
}
TICKET_STATUSES = {
    "new": lazy_gettext("new"), "open": lazy_gettext("open"), "pending": lazy_gettext("pending"),
    "hold": lazy_gettext("on hold"), "solved": lazy_gettext("solved"), "closed": lazy_gettext("closed"),
}
PRIORITIES = {"low": lazy_gettext("Low"), "normal": lazy_gettext("Normal"), "high": lazy_gettext("High"),
              "urgent": lazy_gettext("Urgent")}


def segment_label(name: str | None) -> str:
    if not name:
        return ""
    found = SEGMENTS.get(name)
    return str(found) if found is not None else name.replace("_", " ")


def status_label(status: str | None) -> str:
    found = STATUSES.get(status or "")
    return str(found) if found is not None else (status or "").replace("_", " ")


def priority_label(priority: str | None) -> str:
    found = PRIORITIES.get(priority or "")
    return str(found) if found is not None else (priority or "")


def why_words(reasons: list[Any], fallback: str | None,
              organization_names: Mapping[int, str] | None = None) -> str:
    """The stored reasons in the reader's words, joined by the language's "and"; the stored words otherwise."""
    parts = []
    for reason in reasons or []:
        if not isinstance(reason, dict) or reason.get("kind") not in WHY:
            return fallback or ""
        value = str(reason.get("value", ""))
        if reason["kind"] == "default":
            value = segment_label(value)
        elif reason["kind"] == "organization" and value.isdigit() and organization_names:
            value = organization_names.get(int(value), value)
        parts.append(str(WHY[reason["kind"]]) % {"value": value, "key": str(reason.get("key") or "")})
    if not parts:
        return fallback or ""
    text = parts[0]
    for part in parts[1:]:
        text = gettext("%(first)s and %(second)s", first=text, second=part)
    return text


def note_words(notes: list[Any], fallback: str | None, group_names: Mapping[int, str] | None = None) -> str:
    """The stored notes (``decide.note_words``'s data) in the reader's words; the stored words otherwise."""
    said = []
    for note in notes or []:
        kind = note.get("kind") if isinstance(note, dict) else None
        if kind == "group_unknown":
            said.append(gettext("No group named “%(group)s” in the helpdesk: the group was left as it is.",
                                group=note.get("group", "")))
        elif kind == "group_kept_assigned":
            said.append(gettext("The group was left as it is: an agent has the ticket (an agent's choice is "
                                "never undone)."))
        elif kind == "group_kept":
            group_id = note.get("group_id")
            group = (group_names or {}).get(group_id) if isinstance(group_id, int) else None
            said.append(gettext("The group was left as it is: the ticket is in %(group)s (an agent's choice is "
                                "never undone).", group=group or gettext("group %(id)s", id=group_id)))
        elif kind == "not_applied":
            status = str(note.get("status") or "")
            found = TICKET_STATUSES.get(status.lower())
            said.append(gettext("Not applied: the ticket is %(status)s.",
                                status=str(found) if found is not None else status))
        else:
            return fallback or ""
    return " ".join(said) if said else (fallback or "")


def problem_words(problem: Any) -> str:
    """A refused rule's problem (``rules_source.RuleProblem``) in the reader's words, with its line."""
    if problem.template:
        params = dict(problem.params)
        if "what" in params:
            params["what"] = gettext(params["what"])
        message = gettext(problem.template) % params
    else:
        message = problem.message
    if problem.line:
        return gettext("Line %(line)s (%(path)s): %(message)s", line=problem.line, path=problem.path,
                       message=message)
    return gettext("%(path)s: %(message)s", path=problem.path, message=message)
