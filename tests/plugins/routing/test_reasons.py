"""Why a ticket was routed, as data: the sidebar says it in the agent's language, never in stored English."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.events import TicketSnapshot
from plugins.routing.models import RoutingDecision
from plugins.routing.rules import WHY_LABELS, Classification, Facts, OrganizationFacts, Why
from plugins.routing.rules_source import parse_rules
from plugins.routing.sidebar import panel, why_text

I18N = Path(__file__).resolve().parents[3] / "plugins" / "routing" / "sidebar_ui" / "i18n"
RULES = """\
default_segment: user
segments:
  premium_partner: {group: Tier 2}
  user: {group: Tier 1}
rules:
  - name: partners
    segment: premium_partner
    organization: {tags: [premium_partner]}
    ticket: {channel: [web]}
  - name: named partner
    segment: premium_partner
    organization: {id: [42]}
"""


def classify(org: OrganizationFacts | None) -> Classification:
    result = parse_rules(RULES, "yaml").classify(Facts(ticket=TicketSnapshot(id=1, channel="web"),
                                                       organization=org, requester=None))
    assert isinstance(result, Classification)
    return result


def decision(**values) -> RoutingDecision:
    return RoutingDecision(ticket_id=1, status="applied", segment="premium_partner", group_name="Tier 2",
                           decided_at=datetime(2026, 12, 7, 9, 30, tzinfo=UTC), **values)


def test_a_match_keeps_each_reason_as_kind_and_value_and_the_english_words_beside():
    result = classify(OrganizationFacts(id=7, tags=frozenset({"premium_partner"}), fields={}))
    assert result.why == (Why("organization_tag", "premium_partner"), Why("channel", "web"))
    assert result.reason == "organization tag premium_partner and channel web"
    default = classify(OrganizationFacts(id=8, tags=frozenset(), fields={}))
    assert default.why == (Why("default", "user"),)
    assert default.reason == "no rule matched: default segment user"


def test_sidebar_reason_is_a_translated_text_built_from_the_stored_reasons():
    row = decision(reason="organization tag premium_partner and channel web",
                   reasons=[{"kind": "organization_tag", "value": "premium_partner"},
                            {"kind": "channel", "value": "web"}])
    [reason] = [block["text"] for block in panel(row)["blocks"]
                if block["type"] == "text" and block["text"]["t"] == "routing.reason"]
    assert reason == {"t": "routing.reason", "args": {"reason": {"t": "routing.why.and", "args": {
        "first": {"t": "routing.why.organization_tag", "args": {"value": "premium_partner"},
                  "default": "organization tag premium_partner"},
        "second": {"t": "routing.why.channel", "args": {"value": "web"}, "default": "channel web"}}}}}


def test_sidebar_names_the_organization_and_translates_the_default_segment():
    named = why_text([{"kind": "organization", "value": "42"}], {42: "Studio Aurora"})
    assert named["args"] == {"value": "Studio Aurora"}
    default = why_text([{"kind": "default", "value": "user"}])
    assert default["args"] == {"value": {"t": "routing.segment.user", "default": "user"}}


def test_a_decision_stored_before_reasons_were_data_shows_its_words():
    row = decision(reason="organization tag premium_partner", reasons=[])
    texts = [b["text"] for b in panel(row)["blocks"] if b["type"] == "text"]
    assert texts[0] == {"t": "routing.reason", "args": {"reason": "organization tag premium_partner"}}


@pytest.mark.parametrize("language", ["en", "fr", "it"])
def test_every_kind_of_reason_has_its_words_in_each_language(language):
    catalog = json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))
    english = json.loads((I18N / "en.json").read_text(encoding="utf-8"))
    for kind in [*WHY_LABELS, "and"]:
        key = f"routing.why.{kind}"
        assert key in catalog, key
        # the same placeholders as English: a translation that drops {value} would hide the reason
        assert set(re.findall(r"\{(\w+)\}", catalog[key])) == set(re.findall(r"\{(\w+)\}", english[key])), key
    assert set(english) <= set(catalog)
