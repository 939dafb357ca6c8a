"""The helpdesk budget: shared by every process through the database, never over the limit in any minute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.db import storage
from app.ratelimit import BudgetExhausted, RateBudget


class SimulatedTime:
    """Time that passes only when a budget sleeps, so minutes of demand run in milliseconds."""

    def __init__(self, start):
        self.now_value = start

    def now(self):
        return self.now_value

    def sleep(self, seconds: float) -> None:
        self.now_value += timedelta(seconds=seconds)


def test_three_processes_never_exceed_the_share_of_the_limit_in_any_minute(app, account_id, clock):
    sim = SimulatedTime(clock.now())
    budgets = [RateBudget(storage.engine(app), account_id, per_minute=700, share=0.85, now=sim.now,
                          sleep=sim.sleep) for _ in range(3)]
    taken = []
    for n in range(1300):  # about two simulated minutes of continuous demand
        budgets[n % 3].acquire(max_wait_seconds=1e9)
        taken.append(sim.now())
    allowed = 700 * 0.85
    start = 0
    for end, moment in enumerate(taken):
        while taken[start] <= moment - timedelta(seconds=60):
            start += 1
        assert end - start + 1 <= allowed + 1e-9, f"{end - start + 1} calls within one minute"
    elapsed = (taken[-1] - taken[0]).total_seconds()
    # And the budget is used, not wasted: the bucket refills at 90% of the allowed rate (the other 10% is its
    # burst capacity, which is what keeps every sliding minute under the limit).
    assert 1300 / elapsed > allowed / 60 * 0.88


def test_a_429_blocks_every_process_until_retry_after(app, account_id, clock):
    sim = SimulatedTime(clock.now())
    first, second = (RateBudget(storage.engine(app), account_id, per_minute=700, share=0.85, now=sim.now,
                                sleep=sim.sleep) for _ in range(2))
    first.acquire(max_wait_seconds=0)
    first.block(30)
    with pytest.raises(BudgetExhausted) as raised:
        second.acquire(max_wait_seconds=5)
    assert raised.value.retry_at >= sim.now() + timedelta(seconds=29)
    assert "429" in str(raised.value)
    sim.sleep(31)
    second.acquire(max_wait_seconds=5)


def test_an_empty_budget_defers_instead_of_waiting_long(app, account_id, clock):
    sim = SimulatedTime(clock.now())
    budget = RateBudget(storage.engine(app), account_id, per_minute=60, share=1.0, now=sim.now, sleep=sim.sleep)
    for _ in range(int(budget.capacity)):
        budget.acquire(max_wait_seconds=0)
    with pytest.raises(BudgetExhausted):
        budget.acquire(max_wait_seconds=0)


def test_spare_says_how_full_the_bucket_is_without_taking(app, account_id, clock):
    sim = SimulatedTime(clock.now())
    budget = RateBudget(storage.engine(app), account_id, per_minute=600, share=1.0, now=sim.now, sleep=sim.sleep)
    assert budget.spare() == 1.0
    for _ in range(int(budget.capacity * 0.6)):
        budget.acquire(max_wait_seconds=0)
    assert 0.35 < budget.spare() < 0.45
    assert 0.35 < budget.spare() < 0.45  # asking takes nothing
    budget.block(10)
    assert budget.spare() == 0.0
