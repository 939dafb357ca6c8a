"""Reading rules from YAML, TOML or JSON, and refusing bad ones with the line (or index) of each mistake.

The accepted shape (YAML shown; TOML and JSON hold the same structure)::

    default_segment: user
    segments:
      premium_partner: {group: Tier 2, tier: Tier 2, priority: high, tags: [deskmate_premium_partner, tier_2]}
      user: {group: Tier 1, tier: Tier 1, tags: [deskmate_user]}
    rules:
      - name: premium partner organization
        segment: premium_partner
        organization: {tags: [premium_partner]}
      - name: partner email domain
        segment: premium_partner
        requester: {email_domain: [partner.example]}
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml

from plugins.routing.rules import PRIORITIES, Condition, Rule, RuleSet, Segment, normalise

FORMATS = ("yaml", "toml", "json")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TAG = re.compile(r"^[^\s,]{1,80}$")
DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
ATTRIBUTES = {
    "organization": ("id", "tags", "fields"),
    "requester": ("tags", "fields", "email_domain"),
    "ticket": ("form", "brand", "channel", "tags", "fields"),
}
SEGMENT_KEYS = ("group", "tier", "priority", "tags")
RULE_KEYS = ("name", "segment", *ATTRIBUTES)

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class RuleProblem:
    """One mistake: where (line when the source has lines, and the path) and what.

    ``message`` is in English (the API, logs); ``template`` and ``params`` let a page say it in the reader's
    language (``message == template % params``; the template is marked for translation with ``N_``).
    """

    path: str
    message: str
    line: int | None = None
    template: str | None = None
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        where = f"line {self.line} ({self.path})" if self.line else self.path
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "path": self.path, "message": self.message}


class RulesError(ValueError):
    """The rules were refused; ``problems`` lists every mistake found."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def N_(template: str) -> str:
    """Mark a problem's template for the catalogs; it is translated when a page shows it."""
    return template


def problem_of(path: str, template: str, line: int | None = None, **params: Any) -> RuleProblem:
    return RuleProblem(path, template % params, line, template, params)


# What a list of values holds, for "x is not a valid <what>" (translated where shown).
WHAT = {"tag": N_("tag"), "domain": N_("email domain (like partner.example)"),
        "channel": N_("channel (web, email, api...)")}


def _path_text(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top)"


def load_text(text: str, fmt: str) -> tuple[Any, dict[Path, int]]:
    """Decode ``text`` and map each path in it to its line (when the format has lines to point at)."""
    if fmt == "yaml":
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", None) or str(exc)
            raise RulesError([problem_of("(syntax)", N_("not valid YAML: %(problem)s"), line,
                                         problem=problem)]) from None
        lines: dict[Path, int] = {}
        if node is not None:
            _yaml_lines(node, (), lines)
        return data, lines
    if fmt == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            raise RulesError([problem_of("(syntax)", N_("not valid TOML: %(problem)s"),
                                         int(match.group(1)) if match else None, problem=str(exc))]) from None
        return data, _toml_lines(text)
    if fmt == "json":
        try:
            return json.loads(text), {}
        except json.JSONDecodeError as exc:
            raise RulesError([problem_of("(syntax)", N_("not valid JSON: %(problem)s"), exc.lineno,
                                         problem=exc.msg)]) from None
    raise RulesError([problem_of("(format)", N_("unknown format %(format)r; use one of %(formats)s"),
                                 format=fmt, formats=", ".join(FORMATS))])


def _yaml_lines(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, str(key_node.value))
            _yaml_lines(value_node, child, lines)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, (*path, index), lines)


def _toml_lines(text: str) -> dict[Path, int]:
    """Lines of TOML tables and keys: ``[[rules]]`` headers by position, then the keys inside them."""
    lines: dict[Path, int] = {}
    table: Path = ()
    rule_index = -1
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[["):
            name = line.strip("[] ")
            if name == "rules":
                rule_index += 1
                table = ("rules", rule_index)
                lines[table] = number
            continue
        if line.startswith("["):
            parts = [part.strip().strip('"') for part in line.strip("[] ").split(".")]
            in_rule = parts[0] == "rules" and rule_index >= 0
            table = ("rules", rule_index, *parts[1:]) if in_rule else tuple(parts)
            lines.setdefault(table, number)
            continue
        key = re.match(r'^"?([\w.-]+)"?\s*=', line)
        if key:
            lines.setdefault((*table, key.group(1)), number)
    return lines


class _Checker:
    """Validates decoded rules, collecting every problem with its line."""

    def __init__(self, lines: dict[Path, int]) -> None:
        self.lines = lines
        self.problems: list[RuleProblem] = []

    def problem(self, path: Path, template: str, **params: Any) -> None:
        line = None
        for end in range(len(path), -1, -1):  # the nearest enclosing element that has a line
            line = self.lines.get(path[:end])
            if line is not None:
                break
        self.problems.append(problem_of(_path_text(path), template, line, **params))

    def mapping(self, value: Any, path: Path, allowed: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(path, N_("expected a mapping of %(keys)s"), keys=", ".join(allowed))
            return None
        for key in value:
            if key not in allowed:
                self.problem((*path, str(key)), N_("unknown key %(key)r; expected one of %(keys)s"), key=key,
                             keys=", ".join(allowed))
        return value

    def string_list(self, value: Any, path: Path, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        out = []
        for index, item in enumerate(items):
            where = (*path, index) if isinstance(value, list) else path
            text = normalise(item) if isinstance(item, (str, int)) and not isinstance(item, bool) else None
            if text and what == "domain":
                text = text.lstrip("@")
            if not text or not pattern.match(text):
                self.problem(where, N_("%(value)r is not a valid %(what)s"), value=item, what=WHAT[what])
            else:
                out.append(text)
        if not items:
            self.problem(path, N_("give at least one %(what)s"), what=WHAT[what])
        return tuple(out)

    def id_list(self, value: Any, path: Path) -> tuple[int, ...]:
        items = value if isinstance(value, list) else [value]
        out = []
        for index, item in enumerate(items):
            where = (*path, index) if isinstance(value, list) else path
            is_id = isinstance(item, int) or (isinstance(item, str) and item.isdigit())
            if isinstance(item, bool) or not is_id:
                self.problem(where, N_("%(value)r is not an id (a positive whole number)"), value=item)
            else:
                out.append(int(item))
        if not items:
            self.problem(path, N_("give at least one id"))
        return tuple(out)

    def field_values(self, value: Any, path: Path) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        out = []
        for index, item in enumerate(items):
            where = (*path, index) if isinstance(value, list) else path
            if isinstance(item, (dict, list)) or item is None or normalise(item) == "":
                self.problem(where, N_("%(value)r is not a field value (text, a number or true/false)"), value=item)
            else:
                out.append(normalise(item))
        if not items:
            self.problem(path, N_("give at least one value"))
        return tuple(out)


def parse_rules(text: str, fmt: str, *, version: str = "file") -> RuleSet:
    """Decode and validate a rule set.

    Raises:
        RulesError: with every problem found, each pointing at its line (YAML, TOML) or index path (JSON).
    """
    data, lines = load_text(text, fmt)
    return build_rules(data, lines, version=version)


def build_rules(data: Any, lines: dict[Path, int] | None = None, *, version: str = "file") -> RuleSet:
    """Validate decoded rules (a dict as the admin API receives it). Raises ``RulesError``."""
    check = _Checker(lines or {})
    top = check.mapping(data, (), ("default_segment", "segments", "rules"))
    if top is None:
        raise RulesError(check.problems)
    segments = _segments(check, top.get("segments"))
    default = top.get("default_segment", "user")
    if not isinstance(default, str) or default not in segments:
        check.problem(("default_segment",), N_("default segment %(segment)r is not one of the segments (%(known)s)"),
                      segment=default, known=", ".join(segments) or "-")
    rules = _rules(check, top.get("rules", []), segments)
    if check.problems:
        raise RulesError(check.problems)
    return RuleSet(default_segment=str(default), segments=segments, rules=tuple(rules), version=version)


def _segments(check: _Checker, value: Any) -> dict[str, Segment]:
    segments: dict[str, Segment] = {}
    if not isinstance(value, dict) or not value:
        check.problem(("segments",), N_("define at least one segment (a mapping of names to their settings)"))
        return segments
    for name, spec in value.items():
        path: Path = ("segments", str(name))
        if not NAME.match(str(name)):
            check.problem(path, N_("segment name %(name)r must be lower-case letters, digits and underscores"),
                          name=name)
        body = check.mapping(spec if spec is not None else {}, path, SEGMENT_KEYS)
        if body is None:
            continue
        group, tier, priority = body.get("group"), body.get("tier"), body.get("priority")
        if group is not None and (not isinstance(group, str) or not group.strip()):
            check.problem((*path, "group"), N_("group must be the name of a helpdesk group (or left out)"))
        if tier is not None and not isinstance(tier, str):
            check.problem((*path, "tier"), N_("tier must be text"))
        if priority is not None and priority not in PRIORITIES:
            check.problem((*path, "priority"), N_("priority must be one of %(priorities)s or left out"),
                          priorities=", ".join(PRIORITIES))
        tags = check.string_list(body["tags"], (*path, "tags"), TAG, "tag") if body.get("tags") else ()
        segments[str(name)] = Segment(
            name=str(name), group=group.strip() if isinstance(group, str) else None,
            tier=tier if isinstance(tier, str) else (group if isinstance(group, str) else None),
            priority=priority if priority in PRIORITIES else None, tags=tags)
    return segments


def _rules(check: _Checker, value: Any, segments: dict[str, Segment]) -> list[Rule]:
    rules: list[Rule] = []
    if not isinstance(value, list):
        check.problem(("rules",), N_("rules must be a list (first match wins)"))
        return rules
    names: set[str] = set()
    for index, spec in enumerate(value):
        path: Path = ("rules", index)
        body = check.mapping(spec, path, RULE_KEYS)
        if body is None:
            continue
        name, segment = body.get("name"), body.get("segment")
        if not isinstance(name, str) or not name.strip():
            check.problem((*path, "name"), N_("every rule needs a name (it is shown as the reason's source)"))
        elif name in names:
            check.problem((*path, "name"), N_("another rule is already named %(name)r"), name=name)
        else:
            names.add(name)
        if segment not in segments:
            check.problem((*path, "segment"), N_("unknown segment %(segment)r; known: %(known)s"), segment=segment,
                          known=", ".join(segments))
        conditions = _conditions(check, body, path)
        if not conditions and not any(key in body for key in ATTRIBUTES):
            check.problem(path, N_("a rule needs at least one condition (organization, requester or ticket)"))
        rules.append(Rule(name=str(name), segment=str(segment), conditions=tuple(conditions),
                          line=check.lines.get(path)))
    return rules


def _conditions(check: _Checker, body: dict[str, Any], path: Path) -> list[Condition]:
    conditions: list[Condition] = []
    for subject, attributes in ATTRIBUTES.items():
        if subject not in body:
            continue
        where: Path = (*path, subject)
        block = check.mapping(body[subject], where, attributes)
        if block is None:
            continue
        if not block:
            check.problem(where, N_("give at least one of %(keys)s"), keys=", ".join(attributes))
        for attribute, value in block.items():
            if attribute not in attributes:
                continue
            at: Path = (*where, attribute)
            if attribute == "fields":
                keys = tuple(str(k) for k in value) if isinstance(value, dict) else ()
                for key, wanted in (check.mapping(value, at, keys) or {}).items():
                    accepted = check.field_values(wanted, (*at, str(key)))
                    conditions.append(Condition(subject, "fields", accepted, key=str(key)))
            elif attribute in ("id", "form", "brand"):
                conditions.append(Condition(subject, attribute, check.id_list(value, at)))
            elif attribute == "email_domain":
                domains = check.string_list(value, at, DOMAIN, "domain")
                conditions.append(Condition(subject, attribute, domains))
            elif attribute == "channel":
                channels = check.string_list(value, at, NAME, "channel")
                conditions.append(Condition(subject, attribute, channels))
            else:
                conditions.append(Condition(subject, attribute, check.string_list(value, at, TAG, "tag")))
    return conditions
