"""Rate limits, the stats endpoint and injected faults of the helpdesk emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from sandbox.testing import RunningHelpdesk, start_helpdesk
from sandbox.timeutil import ManualClock
from sandbox.zendesk import HelpdeskState

RATE_HEADERS = (
    "X-Rate-Limit",
    "X-Rate-Limit-Remaining",
    "rate-limit",
    "rate-limit-remaining",
    "rate-limit-reset",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
)


@pytest.fixture
def clocked() -> Iterator[tuple[RunningHelpdesk, ManualClock]]:
    clock = ManualClock(1_700_000_000.0)
    running = start_helpdesk(HelpdeskState(clock=clock, rate_limit=3, job_delay=0))
    yield running, clock
    running.server.stop()
    running.state.close()


def test_every_answer_carries_rate_limit_headers(helpdesk: RunningHelpdesk) -> None:
    ok = helpdesk.api("GET", "/tickets.json")
    missing = helpdesk.api("GET", "/tickets/1.json")
    anonymous = requests.get(f"{helpdesk.url}/api/v2/tickets.json", timeout=5)
    for response in (ok, missing, anonymous):
        assert all(h in response.headers for h in RATE_HEADERS), response.headers
    assert ok.headers["X-Rate-Limit"] == "700"
    assert int(missing.headers["X-Rate-Limit-Remaining"]) == 698


def test_a_limit_changed_at_run_time_is_stated_by_the_next_answer(helpdesk: RunningHelpdesk) -> None:
    assert helpdesk.api("GET", "/tickets.json").headers["X-Rate-Limit"] == "700"
    assert helpdesk.control("POST", "/config", json={"rate_limit": 2500}).status_code == 200
    answer = helpdesk.api("GET", "/tickets.json")
    assert answer.headers["X-Rate-Limit"] == answer.headers["ratelimit-limit"] == "2500"
    refused = helpdesk.control("POST", "/config", json={"rate_limit": "lots"})
    assert refused.status_code == 400 and "rate_limit" in refused.json()["description"]
    assert helpdesk.api("GET", "/tickets.json").headers["X-Rate-Limit"] == "2500"


def test_over_the_limit_answers_429_with_integer_retry_after(
    clocked: tuple[RunningHelpdesk, ManualClock],
) -> None:
    helpdesk, clock = clocked
    for _ in range(3):
        assert helpdesk.api("GET", "/tickets.json").status_code == 200
        clock.advance(10)
    limited = helpdesk.api("GET", "/tickets.json")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "30"  # the first call leaves the 60 s window in 30 s
    assert limited.headers["X-Rate-Limit-Remaining"] == "0"
    assert limited.json()["error"] == "APIRateLimitExceeded"
    clock.advance(30)
    assert helpdesk.api("GET", "/tickets.json").status_code == 200
    stats = helpdesk.control("GET", "/stats").json()
    assert stats["rate_limited"] == 1 and stats["responses_429"] == 1


def test_sandbox_end_user_endpoints_do_not_spend_the_budget(
    clocked: tuple[RunningHelpdesk, ManualClock],
) -> None:
    helpdesk, _ = clocked
    for n in range(5):
        created = helpdesk.control(
            "POST",
            "/tickets",
            json={"requester_email": f"fan{n}@example.org", "subject": "Playback", "body": "It stutters"},
        )
        assert created.status_code == 201
        assert created.json()["ticket"]["via"]["channel"] == "web"
    assert helpdesk.api("GET", "/tickets.json").json()["count"] == 5
    assert helpdesk.control("GET", "/stats").json()["api_calls"] == 1


def test_incremental_export_has_its_own_limit(helpdesk: RunningHelpdesk) -> None:
    helpdesk.state.create_ticket({"comment": {"body": "x"}})
    answers = [helpdesk.api("GET", "/incremental/tickets/cursor.json?start_time=0") for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert answers[10].status_code == 429 and int(answers[10].headers["Retry-After"]) >= 1
    assert helpdesk.api("GET", "/tickets.json").status_code == 200


def test_stats_count_calls_per_endpoint_and_reset(helpdesk: RunningHelpdesk) -> None:
    ticket = helpdesk.state.create_ticket({"comment": {"body": "x"}})
    helpdesk.api("GET", f"/tickets/{ticket['id']}.json")
    helpdesk.api("GET", f"/tickets/{ticket['id']}")
    helpdesk.api("PUT", f"/tickets/{ticket['id']}.json", json={"ticket": {"status": "open"}})
    stats = helpdesk.control("GET", "/stats").json()
    assert stats["by_endpoint"] == {
        "GET /api/v2/tickets/<int:ticket_id>": 2,
        "PUT /api/v2/tickets/<int:ticket_id>": 1,
    }
    assert stats["api_calls"] == 3 and stats["tickets_created"] == 1 and stats["api_calls_per_ticket"] == 3.0
    assert helpdesk.control("POST", "/stats/reset").json()["api_calls"] == 0


def test_429_storm_then_recovery(helpdesk: RunningHelpdesk) -> None:
    helpdesk.control("POST", "/faults", json={"storm_seconds": 30})
    stormed = helpdesk.api("GET", "/tickets.json")
    assert stormed.status_code == 429 and 1 <= int(stormed.headers["Retry-After"]) <= 30
    assert helpdesk.control("GET", "/stats").json()["storm_429"] == 1
    helpdesk.control("DELETE", "/faults")
    assert helpdesk.api("GET", "/tickets.json").status_code == 200


def test_5xx_window(helpdesk: RunningHelpdesk) -> None:
    helpdesk.state.faults.set(error_seconds=30, error_status=503)
    failed = helpdesk.api("GET", "/tickets.json")
    assert failed.status_code == 503 and failed.headers["Retry-After"].isdigit()
    helpdesk.state.faults.set(error_seconds=0)
    assert helpdesk.api("GET", "/tickets.json").status_code == 200


def test_dropped_connections_close_without_an_answer(helpdesk: RunningHelpdesk) -> None:
    helpdesk.state.faults.set(drop_share=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.get(
            f"{helpdesk.url}/api/v2/tickets.json",
            timeout=5,
            auth=(f"{helpdesk.state.admin_email}/token", helpdesk.state.api_token),
        )
    assert helpdesk.control("GET", "/stats").json()["dropped"] == 1
    helpdesk.control("DELETE", "/faults")
    assert helpdesk.api("GET", "/tickets.json").status_code == 200


def test_latency_applies_to_matching_paths_only(helpdesk: RunningHelpdesk) -> None:
    helpdesk.control("POST", "/faults", json={"latency_ms": 300, "latency_paths": ["/api/v2/search"]})
    started = time.monotonic()
    helpdesk.api("GET", "/tickets.json")
    fast = time.monotonic() - started
    started = time.monotonic()
    helpdesk.api("GET", "/search.json?query=type:ticket")
    slow = time.monotonic() - started
    assert fast < 0.25 <= 0.3 <= slow


def test_unknown_fault_setting_is_refused(helpdesk: RunningHelpdesk) -> None:
    refused = helpdesk.control("POST", "/faults", json={"meteor_strike": True})
    assert refused.status_code == 400 and "meteor_strike" in refused.json()["description"]
