"""The Slack emulator's channel view shows mrkdwn as Slack does: dates, emoji, emphasis, links, mentions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sandbox.slack.mrkdwn import format_date, message_time, mrkdwn
from sandbox.slack.render import render_block
from sandbox.slack.state import SlackState

# 2023-11-14 22:13:20 UTC, a Tuesday
STAMP = 1700000000
NOW = datetime(2023, 11, 14, 12, 0, tzinfo=UTC)
NAIROBI = timezone(timedelta(hours=3), "EAT")


@pytest.mark.parametrize(("template", "shown"), [
    ("{date_num}", "2023-11-14"),
    ("{date_slash}", "11/14/2023"),
    ("{date}", "November 14th, 2023"),
    ("{date_short}", "Nov 14, 2023"),
    ("{date_long}", "Tuesday, November 14th, 2023"),
    ("{time}", "10:13 PM"),
    ("{time_secs}", "10:13:20 PM"),
    ("{ago}", "in 10 hours"),
    ("{date_pretty}", "Today"),
    ("due {date_short_pretty} at {time}", "due today at 10:13 PM"),
    ("{date_long_pretty}", "Today"),
    ("{unknown} {date_num}", "{unknown} 2023-11-14"),
])
def test_each_documented_date_token_is_filled(template: str, shown: str) -> None:
    assert format_date(STAMP, template, now=NOW, tz=UTC) == shown


def test_dates_are_shown_in_the_readers_time_zone_with_yesterday_and_tomorrow() -> None:
    # In Nairobi the deadline falls on the 15th, the day after NOW's there.
    assert format_date(STAMP, "{date_short_pretty} at {time}", now=NOW, tz=NAIROBI) == "Tomorrow at 1:13 AM"
    assert format_date(STAMP, "{date_pretty}", now=NOW + timedelta(days=1), tz=UTC) == "Yesterday"
    assert format_date(STAMP, "{date_pretty}", now=NOW + timedelta(days=3), tz=UTC) == "November 14th, 2023"
    assert format_date(STAMP, "{ago}", now=NOW + timedelta(days=2), tz=UTC) == "1 day ago"


def test_the_sla_deadline_renders_as_a_date_with_its_fallback_as_a_tooltip() -> None:
    html = str(mrkdwn("*First reply due*\n<!date^1700000000^{date_short_pretty} at {time}|2023-11-14 22:13 UTC>",
                      now=NOW, tz=UTC))
    assert html == ('<b>First reply due</b><br><time title="2023-11-14 22:13 UTC">Today at 10:13 PM</time>')


def test_a_date_with_a_link_is_a_link_and_a_broken_date_shows_its_fallback() -> None:
    linked = str(mrkdwn("<!date^1700000000^{date_num}^https://example.com/x|fallback>", now=NOW, tz=UTC))
    assert linked.startswith('<a href="https://example.com/x"') and ">2023-11-14</time></a>" in linked
    assert str(mrkdwn("<!date^soon^{date}|at some point &amp; later>", now=NOW, tz=UTC)) == "at some point &amp; later"


def test_known_emoji_codes_are_emoji_and_unknown_ones_stay_as_typed() -> None:
    html = str(mrkdwn(":white_check_mark: done :alarm_clock: :red_circle: :not_an_emoji: at 10:30:45"))
    assert html == "✅ done ⏰ 🔴 :not_an_emoji: at 10:30:45"


def test_emphasis_code_and_strike() -> None:
    html = str(mrkdwn("*bold* _italic_ ~gone~ `a *literal* :x:` 2*3*4"))
    assert html == "<b>bold</b> <i>italic</i> <s>gone</s> <code>a *literal* :x:</code> 2*3*4"


def test_links_users_and_channels_by_name() -> None:
    state = SlackState(bot_token="xoxb-test", signing_secret="s")
    state.users["U0ANA"] = {"id": "U0ANA", "name": "ana", "real_name": "Ana Ruiz"}
    channel = next(c for c in state.channels.values() if c["name"] == "premium-partners")
    html = str(mrkdwn(f"*Taken by <@U0ANA>* in <#{channel['id']}> <https://h.example/t?a=1&amp;b=2|ticket &amp; more> "
                      "<mailto:ops@x.example> <!here> <!subteam^S0TIER2|@tier-2>", state))
    assert '<b>Taken by <span class="mention">@Ana Ruiz</span></b>' in html
    assert '<span class="mention">#premium-partners</span>' in html
    assert '<a href="https://h.example/t?a=1&amp;b=2" target="_blank" rel="noopener">ticket &amp; more</a>' in html
    assert '<a href="mailto:ops@x.example"' in html
    assert '<span class="mention">@here</span> <span class="mention">@tier-2</span>' in html


def test_slack_escapes_are_read_back_and_html_stays_inert() -> None:
    html = str(mrkdwn("&lt;!channel&gt; &amp; <script>alert(1)</script> <javascript:alert(1)|click>"))
    assert "&lt;!channel&gt; &amp; " in html and "<script" not in html
    assert "<a" not in html and html.endswith("click")


def test_fenced_blocks_keep_their_lines_and_no_formatting() -> None:
    assert str(mrkdwn("```\n*not bold*\nline 2\n```")) == "<pre>*not bold*\nline 2</pre>"


def test_plain_text_blocks_show_emoji_unless_told_not_to() -> None:
    state = SlackState(bot_token="xoxb-test", signing_secret="s")
    header = render_block({"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: Outage"}},
                          state)
    plain = render_block({"type": "header", "text": {"type": "plain_text", "text": ":x: *as typed*",
                                                     "emoji": False}}, state)
    assert "🚨 Outage" in str(header)
    assert ":x: *as typed*" in str(plain)


def test_message_times_use_slacks_clock() -> None:
    assert message_time(datetime(2023, 11, 14, 0, 5, tzinfo=UTC)) == "12:05 AM"
    assert message_time(datetime(2023, 11, 14, 12, 0, 7, tzinfo=UTC), seconds=True) == "12:00:07 PM"
