"""Outbox: one event per change, written in the change's transaction (so a rollback leaves none)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, text

from oltp.db import get_engine, session_scope
from oltp.events import emit
from oltp.inventory import adjust
from oltp.orders import place_order


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    yield eng
    eng.dispose()


def _events(engine: Engine) -> list[tuple]:
    with engine.connect() as c:
        return [
            tuple(r) for r in c.execute(text("select event_type, aggregate_id, txid from events order by id"))
        ]


def test_emit_serialises_and_records_txid(engine: Engine) -> None:
    when = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    with session_scope(engine) as s:
        emit(s, "order", 7, "order.created", {"day": dt.date(2024, 5, 1), "n": 1}, when)
        txid = s.execute(text("select pg_current_xact_id()::text::bigint")).scalar_one()
    with engine.connect() as c:
        row = c.execute(text("select aggregate_id, payload, occurred_at, txid from events")).one()
    assert row.aggregate_id == "7" and row.payload == {"day": "2024-05-01", "n": 1}
    assert row.occurred_at == when and row.txid == txid


def test_rolled_back_service_writes_no_event(engine: Engine) -> None:
    with session_scope(engine) as s:
        seed_master_data(s, warehouses=1, items=2, stock_per_item=10)
    before = _events(engine)
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        place_order(session=s, customer="CUST001", lines=[{"item": "ITEM001", "quantity": 3}])
        adjust(session=s, warehouse="WH1", location="WH1-AMB-P1", item="ITEM001", delta=5)
        raise RuntimeError("caller fails after the services ran")
    assert _events(engine) == before
    with session_scope(engine) as s:
        order = place_order(session=s, customer="CUST001", lines=[{"item": "ITEM001", "quantity": 3}])
    new = _events(engine)[len(before) :]
    assert [(e[0], e[1]) for e in new] == [
        ("order.created", str(order.id)),
        ("order.allocated", str(order.id)),
    ]
    assert new[0][2] == new[1][2]  # same transaction
