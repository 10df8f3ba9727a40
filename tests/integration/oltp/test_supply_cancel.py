"""Cancelling purchase orders and transfers: allowed states, what stays booked, errors that write nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, text

from oltp.db import get_engine, session_scope
from oltp.inventory import get_inventory, ledger_balance_mismatches
from oltp.supply import (
    cancel_purchase_order,
    cancel_transfer,
    create_purchase_order,
    create_transfer,
    receive_purchase_order,
    ship_transfer,
)
from stockyard.errors import ConflictError, NotFoundError


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    with session_scope(eng) as s:
        seed_master_data(s, warehouses=2, items=3, stock_per_item=20, stocked_warehouses=1)
    yield eng
    eng.dispose()


def _events(engine: Engine, event_type: str) -> int:
    with engine.connect() as c:
        return c.execute(
            text("select count(*) from events where event_type = :e"), {"e": event_type}
        ).scalar_one()


def _on_hand(engine: Engine, warehouse: str) -> int:
    with session_scope(engine) as s:
        return sum(r["on_hand"] for r in get_inventory(session=s, item="ITEM001", warehouse=warehouse))


def test_cancel_open_and_partially_received_purchase_orders(engine: Engine) -> None:
    with session_scope(engine) as s:
        po = create_purchase_order(
            session=s, supplier="SUP1", warehouse="WH2", lines=[{"item": "ITEM001", "quantity": 10}]
        )["id"]
        part = create_purchase_order(
            session=s, supplier="SUP1", warehouse="WH2", lines=[{"item": "ITEM001", "quantity": 10}]
        )["id"]
        receive_purchase_order(session=s, po_id=part, lines=[{"item": "ITEM001", "quantity": 4}])
    with session_scope(engine) as s:
        cancelled = cancel_purchase_order(session=s, po_id=po, reason="duplicate")
        partly = cancel_purchase_order(session=s, po_id=part)
    assert cancelled["status"] == "cancelled" and partly["status"] == "cancelled"
    assert partly["lines"][0]["quantity_received"] == 4
    assert _on_hand(engine, "WH2") == 4  # what arrived stays on hand
    assert _events(engine, "purchase_order.cancelled") == 2
    for target, error in ((po, ConflictError), (987654, NotFoundError)):
        with pytest.raises(error) as info, session_scope(engine) as s:
            cancel_purchase_order(session=s, po_id=target)
        assert info.value.field == "po_id"
    with pytest.raises(ConflictError), session_scope(engine) as s:
        receive_purchase_order(session=s, po_id=po, lines=[{"item": "ITEM001", "quantity": 1}])
    assert _events(engine, "purchase_order.cancelled") == 2
    with session_scope(engine) as s:
        assert ledger_balance_mismatches(s) == []


def test_fully_received_purchase_order_cannot_be_cancelled(engine: Engine) -> None:
    with session_scope(engine) as s:
        po = create_purchase_order(
            session=s, supplier="SUP1", warehouse="WH1", lines=[{"item": "ITEM001", "quantity": 3}]
        )["id"]
        receive_purchase_order(session=s, po_id=po, lines=[{"item": "ITEM001", "quantity": 3}])
    with pytest.raises(ConflictError) as info, session_scope(engine) as s:
        cancel_purchase_order(session=s, po_id=po)
    assert "received" in info.value.message
    assert _events(engine, "purchase_order.cancelled") == 0


def test_cancel_transfer_only_before_it_ships(engine: Engine) -> None:
    with session_scope(engine) as s:
        open_tr = create_transfer(
            session=s, from_warehouse="WH1", to_warehouse="WH2", lines=[{"item": "ITEM001", "quantity": 5}]
        )["id"]
        moving = create_transfer(
            session=s, from_warehouse="WH1", to_warehouse="WH2", lines=[{"item": "ITEM001", "quantity": 5}]
        )["id"]
        ship_transfer(session=s, transfer_id=moving)
    with session_scope(engine) as s:
        assert cancel_transfer(session=s, transfer_id=open_tr, reason="not needed")["status"] == "cancelled"
    with pytest.raises(ConflictError), session_scope(engine) as s:
        ship_transfer(session=s, transfer_id=open_tr)
    for target, error in ((moving, ConflictError), (open_tr, ConflictError), (987654, NotFoundError)):
        with pytest.raises(error) as info, session_scope(engine) as s:
            cancel_transfer(session=s, transfer_id=target)
        assert info.value.field == "transfer_id"
    assert _events(engine, "transfer.cancelled") == 1
    assert _on_hand(engine, "WH1") == 15  # only the shipped transfer moved stock
