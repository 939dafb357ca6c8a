"""The rules: first match wins, every match explains itself, and mistakes are refused with their line."""

from __future__ import annotations

import pytest

from app.events import TicketSnapshot
from plugins.routing.rules import Classification, Facts, NeedsData, OrganizationFacts, RequesterFacts
from plugins.routing.rules_source import RulesError, parse_rules
from plugins.routing.rules_store import load_file
from plugins.routing.settings import DEFAULT_RULES_FILE

RULES = """\
default_segment: user
segments:
  premium_partner: {group: Tier 2, priority: high, tags: [tier_2]}
  broadcaster: {group: Broadcast desk, tags: [broadcast]}
  user: {group: Tier 1}
rules:
  - name: live events on the partner form
    segment: broadcaster
    ticket: {form: [77], channel: [email, web]}
  - name: gold partners
    segment: premium_partner
    organization: {fields: {partner_level: [gold, platinum]}}
  - name: vip requesters
    segment: premium_partner
    requester: {tags: [vip]}
"""


def facts(*, form: int | None = None, channel: str = "web", org: OrganizationFacts | None = None,
          requester: RequesterFacts | None = None) -> Facts:
    return Facts(ticket=TicketSnapshot(id=1, form_id=form, channel=channel), organization=org,
                 requester=requester)


def classify(rules_text: str, given: Facts) -> Classification | NeedsData:
    return parse_rules(rules_text, "yaml").classify(given)


def test_first_matching_rule_wins():
    gold = OrganizationFacts(id=5, tags=frozenset(), fields={"partner_level": "Gold"})
    result = classify(RULES, facts(form=77, org=gold))
    assert isinstance(result, Classification)
    assert (result.segment.name, result.rule) == ("broadcaster", "live events on the partner form")
    assert result.reason == "ticket form 77 and channel web"


def test_organization_field_match_explains_itself():
    gold = OrganizationFacts(id=5, tags=frozenset(), fields={"partner_level": "Gold"})
    result = classify(RULES, facts(org=gold))
    assert isinstance(result, Classification)
    assert result.reason == "organization field partner_level = gold"


def test_no_match_falls_back_to_the_default_segment():
    result = classify(RULES, facts(requester=RequesterFacts(id=9, email="a@b.example", email_known=True,
                                                            tags=frozenset(), fields={})))
    assert isinstance(result, Classification)
    assert (result.segment.name, result.rule, result.segment.group) == ("user", None, "Tier 1")


def test_unknown_organization_makes_the_ticket_wait_for_data():
    result = classify(RULES, facts(org=OrganizationFacts(id=5), requester=RequesterFacts(id=9)))
    assert result == NeedsData(organization_id=5, requester_id=9)


def test_a_rule_already_decided_by_known_data_needs_no_fetch():
    # The first rule matches on the ticket alone: the unknown organization and requester do not matter.
    result = classify(RULES, facts(form=77, org=OrganizationFacts(id=5), requester=RequesterFacts(id=9)))
    assert isinstance(result, Classification)
    assert result.segment.name == "broadcaster"


def test_final_classification_takes_the_unknown_as_no_match():
    rules = parse_rules(RULES, "yaml")
    result = rules.classify(facts(org=OrganizationFacts(id=5)), final=True)
    assert isinstance(result, Classification)
    assert result.segment.name == "user"


def test_email_domain_matches_subdomains_but_not_lookalikes():
    text = RULES.replace("requester: {tags: [vip]}", "requester: {email_domain: [partner.example]}")
    for email, expected in (("a@partner.example", "premium_partner"),
                            ("a@eu.partner.example", "premium_partner"), ("a@notpartner.example", "user")):
        requester = RequesterFacts(id=9, email=email, email_known=True, tags=frozenset(), fields={})
        result = classify(text, facts(requester=requester))
        assert isinstance(result, Classification)
        assert result.segment.name == expected, email


def test_shipped_rules_are_valid():
    rules = load_file(DEFAULT_RULES_FILE)
    assert set(rules.segments) == {"premium_partner", "user"}
    assert rules.segments["premium_partner"].group == "Tier 2"


@pytest.mark.parametrize(("broken", "line", "words"), [
    ("    segment: broadcaster\n", 8, "unknown segment 'brodcaster'"),
    ("    ticket: {form: [77], channel: [email, web]}\n", 9, "unknown key 'from'"),
    ("  premium_partner: {group: Tier 2, priority: high, tags: [tier_2]}\n", 3, "priority must be one of"),
])
def test_invalid_rules_are_refused_with_the_line_of_the_mistake(broken, line, words):
    replacement = (broken.replace("broadcaster", "brodcaster").replace("form:", "from:")
                   .replace("priority: high", "priority: sky-high"))
    with pytest.raises(RulesError) as refused:
        parse_rules(RULES.replace(broken, replacement), "yaml")
    [problem] = refused.value.problems
    assert problem.line == line
    assert words in problem.message
    assert str(problem).startswith(f"line {line} (")


def test_yaml_syntax_error_points_at_its_line():
    with pytest.raises(RulesError) as refused:
        parse_rules("segments:\n  user: {group: Tier 1\nrules: []\n", "yaml")
    assert refused.value.problems[0].line == 3
    assert "not valid YAML" in refused.value.problems[0].message


def test_toml_rules_point_at_the_rule_table():
    text = """\
default_segment = "user"

[segments.user]
group = "Tier 1"

[[rules]]
name = "ok"
segment = "user"
ticket = { channel = ["email"] }

[[rules]]
name = "broken"
segment = "nobody"
ticket = { channel = ["email"] }
"""
    with pytest.raises(RulesError) as refused:
        parse_rules(text, "toml")
    [problem] = refused.value.problems
    assert (problem.line, problem.path) == (13, "rules[1].segment")


def test_json_rules_point_at_the_index():
    with pytest.raises(RulesError) as refused:
        parse_rules('{"segments": {"user": {}}, "rules": [{"name": "a", "segment": "user"}]}', "json")
    assert str(refused.value.problems[0]) == (
        "rules[0]: a rule needs at least one condition (organization, requester or ticket)")


def test_every_problem_is_reported_at_once():
    text = RULES.replace("segment: broadcaster", "segment: nope").replace("tags: [vip]", "tags: [not a tag]")
    with pytest.raises(RulesError) as refused:
        parse_rules(text, "yaml")
    assert [problem.line for problem in refused.value.problems] == [8, 15]
