"""A 1,000-requester release survives a worker killed with SIGKILL half-way: everyone is told exactly once.

Real processes: ``flask worker`` subprocesses against a PostgreSQL database and the helpdesk emulator over
HTTP (the benchmark's machinery, ``bench.release``, at a rate limit high enough to keep the test short).
What the requesters got is counted in the emulator: comments and follow-ups carrying each notice's key.
"""

from __future__ import annotations

import pytest

from tests.conftest import create_pg_database, database_kind, drop_pg_database


@pytest.mark.slow
@pytest.mark.skipif(database_kind() != "postgresql", reason="runs in the PostgreSQL pass of make test")
def test_worker_killed_half_way_through_a_release_tells_everyone_exactly_once():
    from bench.release import run

    url = create_pg_database()
    try:
        result = run(1000, worker_count=2, rate_limit=100_000, kill_after=400, poll_seconds=0.2, timeout=600,
                     database_url=url, extra_settings={"zendesk_rate_limit_per_minute": 100_000,
                                                       "worker_lease_seconds": 10, "zendesk_timeout_seconds": 5,
                                                       "worker_poll_seconds": 0.1})
    finally:
        drop_pg_database(url)
    summary = {key: value for key, value in result.items() if key != "by_endpoint"}
    print(summary)
    assert result["killed_workers"] == 1, summary
    assert (result["told_once"], result["told_twice"], result["never_told"]) == (1000, 0, 0), summary
    assert result["failed"] == 0, summary
    # The killed worker held claimed notices; another worker took them over after the lease ran out.
    assert result["retried"] >= 1, summary
