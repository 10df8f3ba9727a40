"""Round-trip budgets of the hot services: a deterministic guard against N+1 queries creeping back.

Counted with SQLAlchemy's ``before_cursor_execute`` (every statement sent, BEGIN/COMMIT excluded), so the budget
does not depend on machine speed. The counts must not grow with the number of order lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, event, text

from oltp import db as oltp_db
from oltp.db import get_engine, session_scope
from oltp.orders import allocate, place_order
from oltp.tx import run_in_transaction

PLACE_ORDER_BUDGET = 4  # look-up, create, lock candidate balances, write allocation


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    with session_scope(eng) as s:
        seed_master_data(s, warehouses=3, items=12, customers=4, stock_per_item=1000)
    yield eng
    eng.dispose()


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(conn, cursor, statement, params, context, executemany):  # noqa: ARG001 - event signature
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@pytest.mark.parametrize("n_lines", [1, 3, 10])
def test_place_order_statements_do_not_grow_with_lines(engine: Engine, n_lines: int) -> None:
    lines = [{"item": f"ITEM{i + 1:03d}", "quantity": 2} for i in range(n_lines)]
    with count_statements(engine) as seen, session_scope(engine) as s:
        order = place_order(session=s, customer="CUST001", lines=lines)
    assert order.status == "allocated" and len(order.lines) == n_lines
    assert len(seen) <= PLACE_ORDER_BUDGET, seen


def test_place_order_without_allocation_and_replay_budget(engine: Engine) -> None:
    body = {"customer": "CUST002", "lines": [{"item": "ITEM001", "quantity": 1}] * 3}
    with count_statements(engine) as seen, session_scope(engine) as s:
        first = place_order(session=s, allocate=False, idempotency_key="budget-1", **body)
    assert first.status == "new"
    assert len(seen) <= 2, seen  # look-up + create
    with count_statements(engine) as seen, session_scope(engine) as s:
        again = place_order(session=s, allocate=False, idempotency_key="budget-1", **body)
    assert again == first
    assert len(seen) <= 3, seen  # look-up finds the key, then the order is read back


def test_allocate_budget(engine: Engine) -> None:
    with session_scope(engine) as s:
        order = place_order(
            session=s, customer="CUST001", allocate=False, lines=[{"item": "ITEM002", "quantity": 1}] * 5
        )
    with count_statements(engine) as seen, session_scope(engine) as s:
        result = allocate(session=s, order_id=order.id)
    assert result.status == "allocated"
    # lock order, lines (+ ranking data), lock candidates, write allocation, read back (head + lines)
    assert len(seen) <= 6, seen


def _backend_pids(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return [c.execute(text("select pg_backend_pid()")).scalar_one()]


def test_dead_pooled_connection_is_replaced(engine: Engine, pg_uri: str, monkeypatch) -> None:
    # The engine no longer pings on every checkout; a pooled connection killed behind its back must still not
    # fail the caller's next transaction.
    pid = _backend_pids(engine)[0]
    with psycopg.connect(pg_uri, autocommit=True) as admin:
        assert admin.execute("select pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    order = run_in_transaction(
        engine,
        lambda s: place_order(session=s, customer="CUST001", lines=[{"item": "ITEM003", "quantity": 1}]),
        retries=0,
    )
    with engine.connect() as c:
        assert c.execute(text("select count(*) from orders where id = :o"), {"o": order.id}).scalar_one() == 1

    # A connection idle past the threshold is pinged on checkout, so even a plain session survives.
    monkeypatch.setattr(oltp_db, "PING_AFTER_IDLE_S", 0.0)
    pid = _backend_pids(engine)[0]
    with psycopg.connect(pg_uri, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(%s)", (pid,))
    with session_scope(engine) as s:
        assert s.execute(text("select pg_backend_pid()")).scalar_one() != pid
