"""The sample account is deterministic and realistic; the spike generator drives tickets and replies."""

from __future__ import annotations

from click.testing import CliRunner

from sandbox.cli import main
from sandbox.load import run_spike
from sandbox.seed import seed_helpdesk, seed_slack
from sandbox.slack import SlackState
from sandbox.testing import RunningHelpdesk, WebhookReceiver
from sandbox.zendesk import HelpdeskState


def test_seed_builds_the_documented_account() -> None:
    state = HelpdeskState()
    facts = seed_helpdesk(state, now=1_760_000_000.0)
    premium = [o for o in facts["organizations"] if o["partner_tier"] == "premium"]
    assert len(facts["organizations"]) == 12 and len(premium) == 4
    assert all(o["tags"] == ["premium_partner"] for o in premium)
    assert {"studio-aurora.example", "kinonord.example"} <= {d for o in premium for d in o["domain_names"]}
    assert set(facts["groups"]) == {"Tier 1", "Tier 2", "Billing"}
    assert len(facts["agents"]) == 8 and all(
        a["email"].endswith("@deskmate.example") for a in facts["agents"]
    )
    assert facts["end_users"] == 60 and facts["tickets"] == 300
    tickets = list(state.tickets.values())
    assert {t["status"] for t in tickets} == {"new", "open", "pending", "hold", "solved", "closed"}
    assert {lang for t in tickets for lang in ("en", "it", "es", "de", "fr") if lang in t["tags"]} == {
        "en",
        "it",
        "es",
        "de",
        "fr",
    }
    assert any("premium_partner" in t["tags"] for t in tickets)  # inherited from the organization
    replied = [t for t in tickets if t["_first_reply_ts"] is not None]
    assert 100 < len(replied) < 300
    policy = next(iter(state.sla_policies.values()))
    assert {m["target"] for m in policy["policy_metrics"]} == {90}
    no_org = [u for u in state.users.values() if u["role"] == "end-user" and u["organization_id"] is None]
    assert no_org and all(u["email"].endswith("@mail.example") for u in no_org)
    again = HelpdeskState()
    assert seed_helpdesk(again, now=1_760_000_000.0) == facts
    assert [t["subject"] for t in again.tickets.values()] == [t["subject"] for t in tickets]
    state.close()
    again.close()


def test_slack_members_match_helpdesk_agents() -> None:
    slack = SlackState()
    helpdesk = HelpdeskState()
    seed_helpdesk(helpdesk)
    seed_slack(slack)
    for agent in helpdesk.agents():
        if agent["role"] == "agent":
            assert slack.user_by_email(agent["email"]) is not None
    helpdesk.close()


def test_spike_creates_tickets_fires_webhooks_and_replies(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    seed_helpdesk(helpdesk.state, tickets=0)
    helpdesk.state.create_webhook(
        {"name": "d", "endpoint": webhook_receiver.url, "subscriptions": ["zen:event-type:ticket.created"]}
    )
    reports: list[dict] = []
    summary = run_spike(
        helpdesk.url,
        total=40,
        minutes=1 / 30,
        premium_share=0.5,
        reply_share=0.5,
        workers=4,
        progress=reports.append,
        progress_every=0.5,
        reply_delay=(0.0, 0.2),
    )
    assert summary["tickets_created"] == 40 and summary["errors"] == 0
    assert 5 <= summary["agent_replies"] <= 35 and 5 <= summary["premium_tickets"] <= 35
    assert summary["deskmate_api_calls"] == 0  # the generator never spends API quota
    assert reports[-1] == summary
    webhook_receiver.wait_for(40)
    premium_orgs = {o["id"] for o in helpdesk.state.organizations.values() if "premium_partner" in o["tags"]}
    spiked = [t for t in helpdesk.state.tickets.values() if "live_event" in t["tags"]]
    assert sum(1 for t in spiked if t["organization_id"] in premium_orgs) == summary["premium_tickets"]


def test_load_command_prints_progress(helpdesk: RunningHelpdesk) -> None:
    seed_helpdesk(helpdesk.state, tickets=0)
    result = CliRunner().invoke(
        main,
        [
            "load",
            "--url",
            helpdesk.url,
            "--spike",
            "10",
            "--minutes",
            "0.02",
            "--reply-share",
            "0",
            "--workers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"tickets_created": 10' in result.output.splitlines()[-1]
