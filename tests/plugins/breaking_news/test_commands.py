"""``flask breaking-news``: allowing help-center origins, listing incidents."""

from __future__ import annotations

from tests.plugins.breaking_news.conftest import HELP_CENTER


def test_allow_origin_adds_and_removes_the_account_override(runner, news, clock):
    clock.advance(seconds=1)  # the account's version is the time of its last change
    result = runner.invoke(args=["breaking-news", "allow-origin", "https://Help.Globex.example/"])
    assert result.exit_code == 0, result.output
    assert "https://help.globex.example" in result.output
    assert news.active(Origin="https://help.globex.example").headers["Access-Control-Allow-Origin"] == (
        "https://help.globex.example")
    clock.advance(seconds=1)
    assert runner.invoke(args=["breaking-news", "allow-origin", "--remove",
                               "https://help.globex.example"]).exit_code == 0
    assert "Access-Control-Allow-Origin" not in news.active(Origin="https://help.globex.example").headers
    assert news.active(Origin=HELP_CENTER).headers["Access-Control-Allow-Origin"] == HELP_CENTER  # from the file


def test_allow_origin_refuses_what_is_not_an_origin(runner):
    result = runner.invoke(args=["breaking-news", "allow-origin", "javascript:alert(1)"])
    assert result.exit_code != 0
    assert "not an origin" in result.output


def test_list_shows_open_incidents_with_their_ticket_counts(runner, news):
    news.create(title="Chat is down")
    resolved = news.create(title="Old trouble")
    news.resolve(resolved["id"])
    output = runner.invoke(args=["breaking-news", "list"], env={"COLUMNS": "200"}).output
    assert "Chat is down" in output and "Old trouble" not in output
    assert "Old trouble" in runner.invoke(args=["breaking-news", "list", "--all"], env={"COLUMNS": "200"}).output
