"""Segments and rules: an ordered list, first match wins, and every match explains itself.

A rule holds conditions on the ticket's organization, its requester and the ticket itself; all of a rule's
conditions must hold, and a condition listing several values holds when any of them does. Conditions are
evaluated in three values: a condition on data not cached yet is *unknown*, and a rule that may still match
because of it makes the whole classification wait until the data is fetched (``NeedsData``). A rule that
already fails on known data never waits, so most tickets are decided without any helpdesk call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.api import TicketSnapshot

PRIORITIES = ("low", "normal", "high", "urgent")
SUBJECTS = ("organization", "requester", "ticket")


def priority_rank(priority: str | None) -> int:
    """0 for no priority, then low..urgent as 1..4."""
    return PRIORITIES.index(priority) + 1 if priority in PRIORITIES else 0


def normalise(value: Any) -> str:
    """How field values compare: booleans as true/false, everything else as trimmed lower-case text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip().lower()


@dataclass(frozen=True)
class Segment:
    """Where a class of tickets goes: a group (by name), a tier label, a priority, and tags."""

    name: str
    group: str | None
    tier: str | None
    priority: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class OrganizationFacts:
    """What is known of the ticket's organization; ``None`` members are not known yet."""

    id: int
    tags: frozenset[str] | None = None
    fields: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RequesterFacts:
    """What is known of the requester; ``email_known`` tells a known absent email from an unknown one."""

    id: int
    email: str | None = None
    email_known: bool = False
    tags: frozenset[str] | None = None
    fields: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Facts:
    """Everything a rule may look at for one ticket."""

    ticket: TicketSnapshot
    organization: OrganizationFacts | None
    requester: RequesterFacts | None


@dataclass(frozen=True)
class Why:
    """One reason a rule matched, as data: ``kind`` (``organization_tag``, ``domain``, ...), the value that
    matched and, for a field, its key. Pages and the sidebar translate it; ``words()`` is the English log form."""

    kind: str
    value: str
    key: str | None = None

    def words(self) -> str:
        label = WHY_LABELS.get(self.kind, self.kind.replace("_", " "))
        if self.kind in ("rule", "default"):
            return f"{label}{self.value}"
        return f"{label} {self.key} = {self.value}" if self.key is not None else f"{label} {self.value}"

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "value": self.value, **({"key": self.key} if self.key is not None else {})}


# The English words of each kind of reason (the stored ``reason`` text, logs and the API keep these).
WHY_LABELS = {
    "organization": "organization", "organization_tag": "organization tag",
    "organization_field": "organization field", "domain": "domain", "requester_tag": "requester tag",
    "requester_field": "requester field", "ticket_tag": "ticket tag", "ticket_field": "ticket field",
    "channel": "channel", "ticket_form": "ticket form", "brand": "brand", "rule": "",
    "default": "no rule matched: default segment ",
}


def reason_words(why: tuple[Why, ...]) -> str:
    return " and ".join(part.words() for part in why)


@dataclass(frozen=True)
class Condition:
    """One test: ``subject`` (organization, requester, ticket), ``attribute`` and the accepted values."""

    subject: str
    attribute: str  # id, tags, fields, email_domain, form, brand, channel
    values: tuple[Any, ...]
    key: str | None = None  # the field's key for ``fields``

    def evaluate(self, facts: Facts) -> tuple[bool | None, Why | None]:
        """(True, why) when it holds, (False, None) when it does not, (None, None) when not yet known."""
        if self.subject == "organization":
            return self._organization(facts.organization)
        if self.subject == "requester":
            return self._requester(facts.requester)
        return self._ticket(facts.ticket)

    def _organization(self, org: OrganizationFacts | None) -> tuple[bool | None, Why | None]:
        if org is None:
            return False, None
        if self.attribute == "id":
            return (True, Why("organization", str(org.id))) if org.id in self.values else (False, None)
        if self.attribute == "tags":
            return _tags_match(org.tags, self.values, "organization_tag")
        return _field_match(org.fields, self.key, self.values, "organization_field")

    def _requester(self, requester: RequesterFacts | None) -> tuple[bool | None, Why | None]:
        if requester is None:
            return False, None
        if self.attribute == "email_domain":
            if not requester.email_known:
                return None, None
            domain = (requester.email or "").rsplit("@", 1)[-1].lower() if requester.email else ""
            for wanted in self.values:
                if domain and (domain == wanted or domain.endswith("." + wanted)):
                    return True, Why("domain", str(wanted))
            return False, None
        if self.attribute == "tags":
            return _tags_match(requester.tags, self.values, "requester_tag")
        return _field_match(requester.fields, self.key, self.values, "requester_field")

    def _ticket(self, ticket: TicketSnapshot) -> tuple[bool | None, Why | None]:
        if self.attribute == "tags":
            return _tags_match(frozenset(tag.lower() for tag in ticket.tags), self.values, "ticket_tag")
        if self.attribute == "fields":
            return _field_match(ticket.custom_fields, self.key, self.values, "ticket_field")
        actual: Any = {"form": ticket.form_id, "brand": ticket.brand_id,
                       "channel": ticket.channel}[self.attribute]
        if self.attribute == "channel":
            actual = normalise(actual)
            # Webhook events call the API channel "web_service" where the REST API says "api".
            candidates = {actual, "api"} if actual == "web_service" else {actual}
            hit = next((value for value in self.values if value in candidates), None)
            return (True, Why("channel", str(hit))) if hit is not None else (False, None)
        kind = "ticket_form" if self.attribute == "form" else "brand"
        return (True, Why(kind, str(actual))) if actual in self.values else (False, None)


def _tags_match(tags: frozenset[str] | None, wanted: tuple[Any, ...],
                kind: str) -> tuple[bool | None, Why | None]:
    if tags is None:
        return None, None
    hit = next((tag for tag in wanted if tag in tags), None)
    return (True, Why(kind, str(hit))) if hit is not None else (False, None)


def _field_match(fields: Mapping[str, Any] | None, key: str | None, wanted: tuple[Any, ...],
                 kind: str) -> tuple[bool | None, Why | None]:
    if fields is None:
        return None, None
    actual = fields.get(str(key))
    values = actual if isinstance(actual, list) else [actual]  # multi-select fields hold lists
    for value in values:
        text = normalise(value)
        if text and text in wanted:
            return True, Why(kind, text, str(key))
    return False, None


@dataclass(frozen=True)
class Rule:
    """A named rule: when all its conditions hold, the ticket belongs to ``segment``."""

    name: str
    segment: str
    conditions: tuple[Condition, ...]
    line: int | None = None

    def evaluate(self, facts: Facts) -> tuple[bool | None, tuple[Why, ...]]:
        reasons: list[Why] = []
        unknown = False
        for condition in self.conditions:
            holds, why = condition.evaluate(facts)
            if holds is False:
                return False, ()  # one known failure settles it, whatever else is unknown
            if holds is None:
                unknown = True
            elif why:
                reasons.append(why)
        if unknown:
            return None, ()
        return True, tuple(reasons) or (Why("rule", self.name),)

    def uses(self, subject: str) -> bool:
        return any(condition.subject == subject for condition in self.conditions)


@dataclass(frozen=True)
class Classification:
    """The outcome: the segment, the rule that matched (None for the default) and why, as data."""

    segment: Segment
    rule: str | None
    why: tuple[Why, ...]

    @property
    def reason(self) -> str:
        """The reason in English words (stored beside ``why`` for logs and the API)."""
        return reason_words(self.why)


@dataclass(frozen=True)
class NeedsData:
    """Classification must wait: these records are not cached (or only partly)."""

    organization_id: int | None
    requester_id: int | None


@dataclass(frozen=True)
class RuleSet:
    """A validated rule set (see ``rules_source.parse_rules``)."""

    default_segment: str
    segments: Mapping[str, Segment]
    rules: tuple[Rule, ...]
    version: str = "file"
    meta: Mapping[str, Any] = field(default_factory=dict)

    def classify(self, facts: Facts, *, final: bool = False) -> Classification | NeedsData:
        """The first rule that matches decides; an unknown that could change the answer means waiting.

        ``final`` decides anyway, taking what is still unknown as not matching (after a fetch came back
        without the record, for example).
        """
        for rule in self.rules:
            holds, why = rule.evaluate(facts)
            if holds is None and not final:
                return self._needs(facts)
            if holds:
                return Classification(self.segments[rule.segment], rule.name, why)
        return Classification(self.segments[self.default_segment], None,
                              (Why("default", self.default_segment),))

    def _needs(self, facts: Facts) -> NeedsData:
        # Ask for everything the rules could look at, so that one fetch is enough.
        org = facts.organization
        requester = facts.requester
        org_unknown = org is not None and (org.tags is None or org.fields is None)
        requester_unknown = requester is not None and (
            requester.tags is None or requester.fields is None or not requester.email_known)
        fetch_organization = org is not None and org_unknown and self.uses("organization")
        fetch_requester = requester is not None and requester_unknown and self.uses("requester")
        return NeedsData(organization_id=org.id if org is not None and fetch_organization else None,
                         requester_id=requester.id if requester is not None and fetch_requester else None)

    def uses(self, subject: str) -> bool:
        return any(rule.uses(subject) for rule in self.rules)

    def group_names(self) -> set[str]:
        return {segment.group for segment in self.segments.values() if segment.group}

    def to_dict(self) -> dict[str, Any]:
        """The rule set as JSON (the shape the admin API also accepts)."""
        return {
            "default_segment": self.default_segment,
            "segments": {
                name: {"group": s.group, "tier": s.tier, "priority": s.priority, "tags": list(s.tags)}
                for name, s in self.segments.items()},
            "rules": [_rule_dict(rule) for rule in self.rules],
        }


def _rule_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"name": rule.name, "segment": rule.segment}
    for condition in rule.conditions:
        block = out.setdefault(condition.subject, {})
        if condition.attribute == "fields":
            block.setdefault("fields", {})[condition.key] = list(condition.values)
        else:
            block[condition.attribute] = list(condition.values)
    return out
