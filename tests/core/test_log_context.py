"""Every log line says what it is about: the account, the event and its ticket, the work item's key.

The lines are read as the JSON log writes them (``DESKMATE_LOG_FORMAT=json``): the production handler's filter
and formatter, attached to the root logger for the test.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from app.db import storage
from app.logs import ContextFilter, JSONFormatter, TextFormatter, log_context
from app.models import InboundEvent, WorkItem
from app.web import require_admin
from tests.conftest import ticket_event


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["tests.core.logging_plugin"]
    app_config["sidebar_warm_cache"] = False
    return app_config


class JsonLines:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def saying(self, text: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if text in line["message"]]


@pytest.fixture
def json_log() -> Iterator[JsonLines]:
    captured = JsonLines()
    handler = logging.StreamHandler(captured.stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield captured
    root.removeHandler(handler)
    root.setLevel(level)


def test_one_events_lines_all_carry_its_account_event_and_ticket(app, post_webhook, worker, json_log):
    assert post_webhook(ticket_event(7)).status_code == 202
    assert post_webhook(ticket_event(8)).status_code == 202
    worker.run_until_idle()
    with storage.session(app) as session:
        event_ids = dict(session.execute(sa.select(InboundEvent.ticket_id, InboundEvent.id)).tuples().all())
    for ticket_id in (7, 8):
        event_lines = [line for line in json_log.lines() if line.get("event_id") == event_ids[ticket_id]]
        messages = [line["message"] for line in event_lines]
        assert "heard ticket.created" in messages  # the plugin's own line
        assert any(m.startswith(f"event {event_ids[ticket_id]} handled in") for m in messages)  # the worker's
        for line in event_lines:
            assert line["account"] == "acme", line
            # Every line about the event names its ticket; only the look-up of Deskmate's own helpdesk user,
            # made for each account before the event is read, is about the account alone.
            if line["logger"] != "app.zendesk":
                assert line["ticket_id"] == ticket_id, line
    # The deliveries' account did not outlive them on the thread that answered them.
    logging.getLogger("tests.probe").warning("after the deliveries")
    assert "account" not in json_log.saying("after the deliveries")[0]
    # No line of the event's handling went without its event id, and none outlived it.
    for line in json_log.saying("heard"):
        assert "event_id" in line
    assert not any("event_id" in line for line in json_log.saying("saying hello"))


def test_a_work_items_lines_carry_its_key(app, post_webhook, worker, json_log):
    post_webhook(ticket_event(7))
    post_webhook(ticket_event(8))
    worker.run_until_idle()
    with storage.session(app) as session:
        ids = dict(session.execute(sa.select(WorkItem.idempotency_key, WorkItem.id)).tuples().all())
    said = json_log.saying("saying hello")
    assert sorted((line["work_key"], line["ticket_id"]) for line in said) == [
        ("logging_plugin:say:7", 7), ("logging_plugin:say:8", 8)]
    for line in said:
        assert line["account"] == "acme" and line["work_kind"] == "logging_plugin.say"
        assert line["work_item_id"] == ids[line["work_key"]]
    (batch,) = json_log.saying("a batch of 2")
    assert sorted(batch["work_keys"]) == ["logging_plugin:batch:7", "logging_plugin:batch:8"]
    assert "work_key" not in batch and batch["account"] == "acme"


def test_a_timer_pass_lines_carry_its_account_and_timer(app, worker, json_log):
    assert worker.run_timers({"tidy"}) == 1
    (line,) = json_log.saying("tidying up")
    assert (line["account"], line["timer"]) == ("acme", "logging_plugin:tidy")


def test_a_web_requests_lines_carry_its_account(app, client, admin_token, json_log):
    @require_admin
    def probe() -> Any:
        logging.getLogger("tests.probe").warning("probed")
        return {}

    app.add_url_rule("/admin/api/log-probe", "log_probe", probe)
    assert client.get("/admin/api/log-probe", headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200
    (line,) = json_log.saying("probed")
    assert line["account"] == "acme"
    logging.getLogger("tests.probe").warning("after the request")
    assert "account" not in json_log.saying("after the request")[0]  # nothing outlives its request


def test_a_field_passed_with_the_line_wins_and_the_text_format_shows_the_context():
    record = logging.makeLogRecord({"msg": "hello", "levelno": logging.INFO, "levelname": "INFO",
                                    "ticket_id": 99})
    with log_context(account="acme", ticket_id=7, work_key="k:1"):
        ContextFilter().filter(record)
    assert (record.account, record.ticket_id, record.work_key) == ("acme", 99, "k:1")
    assert TextFormatter().format(record).endswith("hello [account=acme ticket_id=99 work_key=k:1]")
