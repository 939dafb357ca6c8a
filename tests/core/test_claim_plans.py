"""Claims read the partial claim indexes with their real bound parameters, on SQLite and PostgreSQL, also once
psycopg runs them as prepared statements (issue 16: with the states as bound parameters PostgreSQL's generic plan
walked the primary key past a whole backlog, 35-50 ms per claim at 200,000 pending events, and the work item
claim read the whole table).

The plans are the ones the database used for the statements ``inbox.claim`` and ``workqueue.claim`` sent: on
PostgreSQL through auto_explain (its log lines sent to this client), on SQLite by EXPLAIN QUERY PLAN of each
statement captured with its parameters.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import inbox, workqueue
from app.accounts import upsert_account
from app.db import storage
from app.models import InboundEvent, WorkItem

BACKLOG = 1000
HISTORY = 20_000  # done rows kept for the retention window, before the backlog


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = []
    app_config["sidebar_warm_cache"] = False
    return app_config


@pytest.fixture
def backlog(app, clock, account_id):
    """A busy account with ``HISTORY`` done events and work items, then ``BACKLOG`` due (and as many work
    items scheduled for tomorrow); a quiet account with 5 due events and work items."""
    quiet = upsert_account(app, subdomain="quiet", now=clock.now(), zendesk_account_id=4242).id
    now = clock.now() - timedelta(minutes=1)
    later = clock.now() + timedelta(days=1)

    def event(account: int, n: int) -> dict:
        return {"account_id": account, "source": "zendesk", "event_type": "ticket.updated", "ticket_id": n,
                "event_key": f"e{n}", "payload": {}, "state": "pending", "attempts": 0, "received_at": now,
                "next_attempt_at": now}

    def item(account: int, n: int, due) -> dict:
        return {"account_id": account, "kind": "test.noop", "idempotency_key": f"w{n}", "payload": {},
                "state": "pending", "attempts": 0, "max_attempts": 8, "next_attempt_at": due, "created_at": now,
                "updated_at": now}

    engine = storage.engine(app)
    with engine.begin() as connection:  # the history first, as in a live queue: done rows of older ids
        stamp = sa.bindparam("stamp", now - timedelta(hours=1), type_=InboundEvent.__table__.c.received_at.type)
        connection.execute(sa.text(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :history) "
            "INSERT INTO inbound_events (account_id, source, event_type, ticket_id, event_key, payload, "
            "state, attempts, received_at, next_attempt_at, processed_at) SELECT :account, 'zendesk', "
            "'ticket.updated', g, 'old' || g, '{}', 'done', 1, :stamp, :stamp, :stamp FROM s"
        ).bindparams(stamp), {"account": account_id, "history": HISTORY})
        connection.execute(sa.text(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :history) "
            "INSERT INTO work_items (account_id, kind, idempotency_key, payload, state, attempts, "
            "max_attempts, next_attempt_at, created_at, updated_at, finished_at) SELECT :account, 'test.noop', "
            "'old' || g, '{}', 'done', 1, 8, :stamp, :stamp, :stamp, :stamp FROM s"
        ).bindparams(stamp), {"account": account_id, "history": HISTORY})
    with storage.session(app) as session:
        session.execute(sa.insert(InboundEvent), [event(account_id, n) for n in range(BACKLOG)]
                        + [event(quiet, n) for n in range(5)])
        session.execute(sa.insert(WorkItem), [item(account_id, n, now) for n in range(BACKLOG)]
                        + [item(account_id, BACKLOG + n, later) for n in range(BACKLOG)]
                        + [item(quiet, n, now) for n in range(5)])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE inbound_events")
            connection.exec_driver_sql("ANALYZE work_items")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return quiet


def assert_reads_open_rows_only(plan: str, table: str) -> None:
    """The claim's rows (each account's subquery, ``<table>_<n>``) come from a partial index of the open rows,
    not from walking the primary key or the whole table past the done history and the backlog."""
    inner = rf"{table} {table}_\d+"
    assert re.search(rf"(Index|Bitmap Index) Scan (using|on) ix_{table}_(claim|due)", plan), plan
    assert not re.search(rf"(Seq Scan on|Index Scan using pk_{table} on) {inner}\b", plan), plan


def claim_both(engine, clock, n: int) -> None:
    assert inbox.claim(engine, worker_id=f"w{n}", now=clock.now(), lease_seconds=60, limit=20)
    assert workqueue.claim(engine, worker_id=f"w{n}", now=clock.now(), lease_seconds=60, limit=20)


def test_claims_use_the_claim_indexes_on_postgresql_also_as_prepared_statements(app, clock, backlog):
    engine = storage.engine(app)
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements and PostgreSQL's generic plans")
    # One connection for every claim: prepared statements and their cached plans belong to a connection.
    single = sa.create_engine(engine.url.render_as_string(hide_password=False), poolclass=sa.pool.StaticPool)
    plans: list[str] = []
    try:
        with single.connect() as connection:
            connection.exec_driver_sql("LOAD 'auto_explain'")
            connection.exec_driver_sql("SET auto_explain.log_min_duration = 0")
            connection.exec_driver_sql("SET client_min_messages = log")
            connection.connection.driver_connection.add_notice_handler(  # type: ignore[union-attr]
                lambda notice: plans.append(notice.message_primary or ""))
            connection.commit()
        for n in range(10):  # psycopg prepares from the sixth run; PostgreSQL may then choose a generic plan
            claim_both(single, clock, n)
        event_plans = [plan for plan in plans if plan.count("UPDATE inbound_events") and "SKIP LOCKED" in plan]
        work_plans = [plan for plan in plans if plan.count("UPDATE work_items") and "SKIP LOCKED" in plan]
        assert len(event_plans) == len(work_plans) == 10
        for plan in event_plans[5:]:
            assert_reads_open_rows_only(plan, "inbound_events")
        for plan in work_plans[5:]:
            assert_reads_open_rows_only(plan, "work_items")

        # The generic plan, whatever PostgreSQL would choose: the parameters are unknown to the planner.
        plans.clear()
        with single.connect() as connection:
            connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            connection.commit()
        claim_both(single, clock, 10)
        generic_events = [plan for plan in plans if "UPDATE inbound_events" in plan and "SKIP LOCKED" in plan]
        generic_work = [plan for plan in plans if "UPDATE work_items" in plan and "SKIP LOCKED" in plan]
        assert len(generic_events) == len(generic_work) == 1
        assert re.search(r"next_attempt_at <= \$\d+", generic_events[0]), generic_events[0]  # truly generic
        assert_reads_open_rows_only(generic_events[0], "inbound_events")
        assert_reads_open_rows_only(generic_work[0], "work_items")
    finally:
        single.dispose()


def test_claims_use_the_claim_indexes_on_sqlite_with_bound_parameters(app, clock, backlog):
    engine = storage.engine(app)
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner")
    sent: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _executemany):
        if statement.startswith(("UPDATE", "SELECT")) and ("FROM inbound_events" in statement
                                                           or "FROM work_items" in statement):
            sent.append((statement, tuple(parameters)))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        claim_both(engine, clock, 0)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    plans = {}
    with engine.connect() as connection:
        for statement, parameters in sent:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans[statement] = "\n".join(str(row[-1]) for row in rows)
    claims = {statement: plan for statement, plan in plans.items() if statement.startswith("UPDATE")}
    assert len(claims) == 2
    for statement, plan in claims.items():
        table = "inbound_events" if statement.startswith("UPDATE inbound_events") else "work_items"
        # One index search per account with due rows (the busy one and the quiet one), never a scan.
        assert plan.count(f"SEARCH {table} USING INDEX ix_{table}_claim") == 2, plan
        assert f"SCAN {table}" not in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # read in claim order: no sort of the account's whole backlog
    for statement, plan in plans.items():  # which accounts have due rows: a partial index too
        if statement.startswith("SELECT accounts.id"):
            assert re.search(r"SEARCH (inbound_events|work_items) USING INDEX ix_\w+_(due|claim)", plan), plan


def test_a_claim_stops_at_now_and_still_takes_lapsed_leases(app, clock, backlog, account_id):
    """Items scheduled for later are not read; a running item whose worker died is claimed again."""
    engine = storage.engine(app)
    first = workqueue.claim(engine, worker_id="dead", now=clock.now(), lease_seconds=60, limit=10)
    assert {item.account_id for item in first} == {account_id, backlog}
    taken = set()
    for n in range(2 * BACKLOG // 200 + 2):
        taken |= {item.id for item in workqueue.claim(engine, worker_id=f"w{n}", now=clock.now(), lease_seconds=60,
                                                      limit=200)}
    with storage.session(app) as session:
        running = dict(session.execute(sa.select(WorkItem.id, WorkItem.next_attempt_at)
                                       .where(WorkItem.state == "running")).all())
    # Every due item claimed once, nothing scheduled for later.
    assert len(taken) == BACKLOG + 5 - len(first) and not taken & {item.id for item in first}
    assert set(running) == taken | {item.id for item in first}
    assert max(running.values()) <= clock.now()
    clock.advance(seconds=61)
    again = workqueue.claim(engine, worker_id="alive", now=clock.now(), lease_seconds=60, limit=10)
    # Every item's lease has lapsed now; the oldest due are the dead worker's, of both accounts.
    assert {item.id for item in again} == {item.id for item in first}


def test_the_queue_models_match_the_migrations(app):
    """The claim indexes are in migration 0006_retention as in ``app.models``."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.db import Base

    def ours(name, kind):
        return kind != "table" or name in ("inbound_events", "work_items")

    with storage.engine(app).connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": lambda name, kind, parent: ours(name, kind),
            "include_object": lambda obj, name, kind, reflected, compare_to: ours(name, kind)})
        assert compare_metadata(context, Base.metadata) == []
        indexes = {index["name"]: index for index in sa.inspect(connection).get_indexes("inbound_events")
                   + sa.inspect(connection).get_indexes("work_items")}
    assert indexes["ix_inbound_events_claim"]["column_names"] == ["account_id", "id"]
    assert indexes["ix_work_items_claim"]["column_names"] == ["account_id", "next_attempt_at", "id"]
