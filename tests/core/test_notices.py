"""Requester notices against the helpdesk emulator: told once, on the right ticket, in their language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts import get_account
from app.db import storage
from app.models import RequesterNoticeRecord, WorkItem
from app.notices import (
    NoticeTemplate,
    NoticeTemplates,
    RequesterNotice,
    notify_requesters,
    render,
    summarise,
)
from app.plugins import PluginContext
from tests.sandbox_fixtures import Emulator, wait_for

TEMPLATES = NoticeTemplates({
    "en": NoticeTemplate("{title} is here", "Hi {first_name}, {title} shipped: {changelog_url}"),
    "fr": NoticeTemplate("{title} est disponible",
                         "Bonjour {first_name}, {title} est sorti : {changelog_url}"),
}, default_locale="en")


def user(helpdesk: Emulator, name: str, locale: str = "en-US") -> int:
    email = name.lower().replace(" ", ".") + "@viewers.example"
    return int(helpdesk.api("POST", "/users.json", json={"user": {"name": name, "email": email,
                                                                 "locale": locale}})["user"]["id"])


def ticket(helpdesk: Emulator, requester_id: int, subject: str = "Please add 4K downloads") -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets",
                           json={"requester_id": requester_id, "subject": subject, "body": "Could you?"})
    return int(answer["ticket"]["id"])


def close(helpdesk: Emulator, ticket_id: int) -> None:
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", json={"ticket": {"status": "closed"}})


def comments(helpdesk: Emulator, ticket_id: int) -> list[str]:
    return [c["body"] for c in helpdesk.api("GET", f"/tickets/{ticket_id}/comments.json")["comments"]]


def notify(app, account_id, clock, notices) -> list[str]:
    with storage.session(app) as session:
        ctx = PluginContext(app, "tests", get_account(account_id, app), session, None)
        return notify_requesters(ctx, notices).recorded


def released(requester_id: int, *ticket_ids: int, subject_key: str = "feature_request:42") -> RequesterNotice:
    return RequesterNotice(requester_id=requester_id, kind="released", subject_key=subject_key,
                           ticket_ids=ticket_ids, templates=TEMPLATES,
                           context={"title": "4K downloads", "changelog_url": "https://example.com/changelog"})


def records(app) -> list[RequesterNoticeRecord]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(RequesterNoticeRecord).order_by(RequesterNoticeRecord.id)))


def tickets_created(helpdesk: Emulator) -> int:
    return int(helpdesk.call("GET", "/__sandbox/state")["tickets"])


def test_notice_is_a_public_comment_on_the_most_recent_open_ticket_in_the_requester_language(
        app, helpdesk, worker, account_id, clock):
    ana = user(helpdesk, "Ana Martin", locale="fr")
    older, newer = ticket(helpdesk, ana), ticket(helpdesk, ana)
    notify(app, account_id, clock, [released(ana, older, newer)])
    worker.run_until_idle()
    assert comments(helpdesk, newer)[-1] == (
        "Bonjour Ana, 4K downloads est sorti : https://example.com/changelog")
    assert comments(helpdesk, older) == ["Could you?"]
    [record] = records(app)
    assert (record.channel, record.ticket_id, record.locale) == ("comment", newer, "fr")
    last = helpdesk.api("GET", f"/tickets/{newer}/comments.json")["comments"][-1]
    assert last["public"] is True


def test_requester_whose_tickets_are_all_closed_gets_a_follow_up_ticket(app, helpdesk, worker, account_id,
                                                                        clock):
    bob = user(helpdesk, "Bob Stone")
    first, second = ticket(helpdesk, bob), ticket(helpdesk, bob)
    close(helpdesk, first)
    close(helpdesk, second)
    notify(app, account_id, clock, [released(bob, first, second)])
    worker.run_until_idle()
    [record] = records(app)
    assert (record.channel, record.source_ticket_id) == ("followup", second)
    followup = helpdesk.api("GET", f"/tickets/{record.ticket_id}.json")["ticket"]
    assert followup["requester_id"] == bob
    assert followup["subject"] == "4K downloads is here"
    assert followup["via"]["source"]["rel"] == "follow_up"
    assert comments(helpdesk, record.ticket_id) == ["Hi Bob, 4K downloads shipped: https://example.com/changelog"]


def test_ticket_closed_after_the_notice_was_recorded_gets_a_follow_up(app, helpdesk, worker, account_id,
                                                                      clock):
    cleo = user(helpdesk, "Cleo")
    only = ticket(helpdesk, cleo)
    notify(app, account_id, clock, [released(cleo, only)])
    close(helpdesk, only)  # the decision is made at delivery, from the ticket's current status
    worker.run_until_idle()
    [record] = records(app)
    assert (record.channel, record.source_ticket_id) == ("followup", only)


def test_recording_the_same_notices_again_tells_nobody_twice(app, helpdesk, worker, account_id, clock):
    ana, bob = user(helpdesk, "Ana"), user(helpdesk, "Bob")
    ana_ticket, bob_ticket = ticket(helpdesk, ana), ticket(helpdesk, bob)
    assert len(notify(app, account_id, clock, [released(ana, ana_ticket), released(bob, bob_ticket)])) == 2
    worker.run_until_idle()
    helpdesk.call("POST", "/__sandbox/stats/reset")
    assert notify(app, account_id, clock, [released(ana, ana_ticket), released(bob, bob_ticket)]) == []
    worker.run_until_idle()
    assert helpdesk.stats()["api_calls"] == 0
    assert len(comments(helpdesk, ana_ticket)) == len(comments(helpdesk, bob_ticket)) == 2


def test_same_person_gets_one_notice_per_subject(app, helpdesk, worker, account_id, clock):
    ana = user(helpdesk, "Ana")
    only = ticket(helpdesk, ana)
    notify(app, account_id, clock,
           [released(ana, only), released(ana, only, subject_key="feature_request:43")])
    worker.run_until_idle()
    assert len(comments(helpdesk, only)) == 3


@pytest.mark.parametrize("closed", [False, True], ids=["comment", "follow-up"])
def test_delivery_retried_after_a_lost_answer_is_not_sent_twice(app, helpdesk, worker, account_id, clock,
                                                                closed):
    dan = user(helpdesk, "Dan")
    only = ticket(helpdesk, dan)
    if closed:
        close(helpdesk, only)
    notify(app, account_id, clock, [released(dan, only)])
    worker.run_until_idle()
    before = tickets_created(helpdesk)
    # A worker that told the requester and died before recording it: the item runs again as a retry.
    with storage.session(app) as session:
        session.execute(sa.update(RequesterNoticeRecord).values(delivered_at=None, channel=None,
                                                                ticket_id=None))
        session.execute(sa.update(WorkItem).values(state="pending", attempts=1))
    worker.run_until_idle()
    assert tickets_created(helpdesk) == before
    [record] = records(app)
    assert record.delivered_at is not None
    told = comments(helpdesk, record.ticket_id)
    assert len([body for body in told if body.startswith("Hi Dan")]) == 1


def test_rate_limit_storm_defers_notices_without_spending_attempts(app, helpdesk, worker, account_id, clock):
    people = [user(helpdesk, f"Viewer {n}") for n in range(3)]
    notices = [released(person, ticket(helpdesk, person)) for person in people]
    helpdesk.faults(storm_seconds=2)
    notify(app, account_id, clock, notices)
    worker.run_until_idle()
    with storage.session(app) as session:
        assert summarise(session, account_id)["pending"] == 3
        assert {item.attempts for item in session.scalars(sa.select(WorkItem))} == {0}

    def settled() -> bool:
        clock.advance(seconds=5)
        worker.run_until_idle()
        with storage.session(app) as session:
            return summarise(session, account_id)["delivered"] == 3

    wait_for(settled, timeout=15, message="every notice delivered after the storm")


def test_undeliverable_notice_fails_visibly_and_can_be_retried(app, helpdesk, worker, account_id, clock,
                                                              client,
                                                              admin_headers):
    eve = user(helpdesk, "Eve")
    gone = ticket(helpdesk, eve)
    helpdesk.api("DELETE", f"/tickets/{gone}.json")
    notify(app, account_id, clock, [released(eve, gone)])
    worker.run_until_idle()
    listed = client.get("/admin/api/requester-notices?subject_key=feature_request:42",
                        headers=admin_headers).get_json()
    assert listed["summary"]["failed"] == 1
    [notice] = listed["notices"]
    assert notice["state"] == "failed"
    assert "none of tickets" in notice["last_error"]
    answer = client.post("/admin/api/requester-notices/retry", json={"subject_key": "feature_request:42"},
                         headers=admin_headers)
    assert answer.get_json() == {"retried": 1}
    assert client.get("/admin/api/requester-notices?state=pending",
                      headers=admin_headers).get_json()["summary"]["pending"] == 1


def test_notices_admin_api_refuses_a_bad_state_and_a_missing_token(client, admin_headers):
    assert client.get("/admin/api/requester-notices?state=sent", headers=admin_headers).status_code == 400
    assert client.get("/admin/api/requester-notices").status_code == 401


def test_locale_falls_back_from_region_to_language_to_default():
    assert TEMPLATES.for_locale("fr-CA")[0] == "fr"
    assert TEMPLATES.for_locale("FR")[0] == "fr"
    assert TEMPLATES.for_locale("de-DE")[0] == "en"
    assert TEMPLATES.for_locale(None)[0] == "en"


def test_render_fills_known_placeholders_and_leaves_unknown_ones_visible():
    filled = render("Hi {name}, see {link} {unknown}", {"name": "Ana", "link": "x"})
    assert filled == "Hi Ana, see x {unknown}"
    assert render("{name.__class__}", {"name": "Ana"}) == "{name.__class__}"
    assert TEMPLATES.unknown_placeholders({"title", "changelog_url"}) == set()
    assert TEMPLATES.unknown_placeholders({"title"}) == {"changelog_url"}


def test_templates_without_their_default_locale_are_refused():
    with pytest.raises(ValueError, match="default locale"):
        NoticeTemplates({"fr": NoticeTemplate("s", "b")}, default_locale="en")
    with pytest.raises(ValueError, match="body"):
        NoticeTemplates.from_json({"locales": {"en": {"subject": "s", "body": " "}}})


def test_notices_summary_command_counts_and_lists_failures(app, helpdesk, worker, account_id, clock, runner):
    eve, fay = user(helpdesk, "Eve"), user(helpdesk, "Fay")
    gone, kept = ticket(helpdesk, eve), ticket(helpdesk, fay)
    helpdesk.api("DELETE", f"/tickets/{gone}.json")
    notify(app, account_id, clock, [released(eve, gone), released(fay, kept)])
    worker.run_until_idle()
    result = runner.invoke(args=["notices", "summary", "--subject", "feature_request:42",
                                 "--state", "failed"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    counts_row = next(line for line in result.output.splitlines() if line.count("│") >= 6 and "1" in line)
    assert [cell.strip() for cell in counts_row.split("│")[1:-1]] == ["1", "1", "0", "0", "1", "2"]
    assert str(eve) in result.output and "none of tickets" in result.output
    result = runner.invoke(args=["notices", "retry", "--subject", "feature_request:42"])
    assert "1 notice(s) will be tried again" in result.output


def test_notices_whose_claim_ran_out_are_handed_back_untold(app, helpdesk, worker, account_id, clock):
    from app import workqueue
    from app.worker import Worker

    gus = user(helpdesk, "Gus")
    only = ticket(helpdesk, gus)
    notify(app, account_id, clock, [released(gus, only)])
    # A worker claims the notice, then spends its whole lease elsewhere before reaching it.
    slow = Worker(app, worker_id="slow")
    claimed = workqueue.claim(storage.engine(app), worker_id="slow", now=clock.now(), lease_seconds=60,
                              limit=10)
    slow.work.held.update(item.id for item in claimed)  # what perform_work records for the lease keeper
    clock.advance(seconds=61)
    slow.work.perform_group(account_id, "zendesk.requester_notice", claimed)
    assert comments(helpdesk, only) == ["Could you?"]
    with storage.session(app) as session:
        item = session.scalar(sa.select(WorkItem))
        assert (item.state, item.attempts) == ("pending", 0)
    worker.run_until_idle()
    assert len(comments(helpdesk, only)) == 2


def test_a_long_batch_extends_a_claim_that_is_about_to_run_out(app, helpdesk, account_id, clock):
    from datetime import timedelta

    from app import workqueue
    from app.notice_delivery import _Leases

    hal = user(helpdesk, "Hal")
    notify(app, account_id, clock, [released(hal, ticket(helpdesk, hal))])
    [item] = workqueue.claim(storage.engine(app), worker_id="busy", now=clock.now(), lease_seconds=60,
                             limit=10)
    clock.advance(seconds=50)  # ten seconds of lease left, less than the margin one delivery may need
    with storage.session(app) as session:
        ctx = PluginContext(app, "core", get_account(account_id, app), session, None)
        assert _Leases(ctx, [item]).held(item.id)
    with storage.session(app) as session:
        locked_until = session.scalar(sa.select(WorkItem.locked_until))
    assert locked_until == clock.now() + timedelta(seconds=app.config["DESKMATE"].worker_lease_seconds)
    clock.advance(seconds=1000)
    with storage.session(app) as session:
        ctx = PluginContext(app, "core", get_account(account_id, app), session, None)
        assert not _Leases(ctx, [item]).held(item.id)  # ran out: not this worker's any more
