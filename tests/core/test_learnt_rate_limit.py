"""The helpdesk budget keeps to the limit the helpdesk states in its answers, not to the configured plan number.

Real HTTP against the helpdesk emulator, whose limit a test changes at run time through ``/__sandbox/config``.
"""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from app.accounts import active_accounts
from app.db import storage
from app.ratelimit import BudgetExhausted, RateBudget, learnt_limit, limit_from_headers
from app.zendesk import Zendesk, zendesk_clients
from tests.core.test_admin import sign_in
from tests.sandbox_fixtures import Emulator


@pytest.fixture
def app_config(app_config):
    app_config["zendesk_rate_limit_per_minute"] = 400  # the plan the operator believed the account had
    app_config["sidebar_warm_cache"] = False
    return app_config


def client_of(app) -> Zendesk:
    with app.app_context():
        return zendesk_clients.for_account(active_accounts(app)[0], app)


def set_helpdesk_limit(helpdesk: Emulator, per_minute: int) -> None:
    helpdesk.call("POST", "/__sandbox/config", json={"rate_limit": per_minute})


def test_the_budget_follows_the_limit_the_helpdesk_states(app, helpdesk, account_id, clock):
    client = client_of(app)
    budget = client.session.budget
    assert budget.per_minute == 400 and learnt_limit(storage.engine(app), account_id) is None

    client.call("GET", "/tickets.json")  # the emulator states its Enterprise limit, 700
    assert budget.per_minute == 700
    assert budget.capacity == pytest.approx(700 * 0.85 * 0.1)
    learnt = learnt_limit(storage.engine(app), account_id)
    assert learnt is not None and learnt[0] == 700

    set_helpdesk_limit(helpdesk, 2500)  # the High Volume add-on bought mid-day
    client.zenpy.users.me()  # zenpy's calls ride the same session, so they teach the budget too
    assert budget.per_minute == 2500
    assert budget.rate_per_second == pytest.approx((2500 * 0.85 * 0.9) / 60)

    # Another process's budget for the same account follows from its next call, without an answer of its own.
    other = RateBudget(storage.engine(app), account_id, per_minute=400, share=0.85, now=clock.now)
    other.acquire(max_wait_seconds=0)
    assert other.per_minute == 2500

    set_helpdesk_limit(helpdesk, 200)  # downgraded to Team: the budget shrinks at once
    client.call("GET", "/tickets.json")
    assert budget.per_minute == 200 and budget.capacity == pytest.approx(200 * 0.85 * 0.1)
    assert (learnt_limit(storage.engine(app), account_id) or (0,))[0] == 200
    other.acquire(max_wait_seconds=0)
    assert other.per_minute == 200


def test_a_shrunken_limit_caps_the_tokens_already_in_the_bucket(app, helpdesk, account_id):
    client = client_of(app)
    set_helpdesk_limit(helpdesk, 2500)
    client.call("GET", "/tickets.json")
    full = client.session.budget.capacity
    set_helpdesk_limit(helpdesk, 200)
    client.call("GET", "/tickets.json")
    budget = client.session.budget
    assert budget.capacity < full / 10
    # The bucket filled at the bigger limit cannot spend more than the new capacity in a burst.
    taken = 0
    with pytest.raises(BudgetExhausted):
        for _ in range(int(full)):
            budget.acquire(max_wait_seconds=0)
            taken += 1
    assert taken <= budget.capacity + 1


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, None),
    ({"X-Rate-Limit": "700"}, 700),
    ({"x-rate-limit": " 2500 "}, 2500),
    ({"X-Rate-Limit": "plenty"}, None),
    ({"X-Rate-Limit": "0"}, None),  # would stop every call
    ({"X-Rate-Limit": "-5"}, None),
    ({"X-Rate-Limit": "7e2"}, None),
    ({"X-Rate-Limit": "100000000"}, None),  # would let Deskmate flood the account
    ({"ratelimit-limit": "400"}, 400),  # the name some list endpoints use
    ({"X-Rate-Limit": "garbage", "ratelimit-limit": "400"}, 400),
])
def test_only_a_sane_stated_limit_is_believed(headers, expected):
    assert limit_from_headers(CaseInsensitiveDict(headers)) == expected


def test_an_answer_without_a_limit_leaves_the_budget_alone(app, account_id, clock):
    budget = RateBudget(storage.engine(app), account_id, per_minute=400, share=0.85, now=clock.now)
    for headers in ({}, {"X-Rate-Limit": "nonsense"}, {"X-Rate-Limit": "3"}):
        stated = limit_from_headers(CaseInsensitiveDict(headers))
        if stated is not None:
            budget.learn(stated)
    assert budget.per_minute == 400 and budget.learnt_at is None
    assert learnt_limit(storage.engine(app), account_id) is None


def test_metrics_and_the_admin_home_show_the_learnt_limit(app, helpdesk, client, admin_token):
    metric = 'deskmate_zendesk_rate_limit_per_minute{account="acme",source="configured"} 400.0'
    assert metric in client.get("/metrics").text
    client_of(app).call("GET", "/tickets.json")
    text = client.get("/metrics").text
    assert 'deskmate_zendesk_rate_limit_per_minute{account="acme",source="learnt"} 700.0' in text
    assert 'source="configured"' not in text

    sign_in(client, admin_token)
    home = client.get("/admin/?lang=fr").get_data(as_text=True)
    assert "API du helpdesk" in home and "700" in home
    assert "apprises des réponses du helpdesk" in home
