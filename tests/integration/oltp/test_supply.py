"""Purchase orders with putaway, transfers between warehouses, and their errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, text

from oltp.db import get_engine, session_scope
from oltp.inventory import get_inventory, ledger_balance_mismatches
from oltp.supply import (
    create_purchase_order,
    create_transfer,
    receive_purchase_order,
    receive_transfer,
    ship_transfer,
)
from stockyard.errors import ConflictError, NotFoundError, ValidationError

T0 = dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC)


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    yield eng
    eng.dispose()


@pytest.fixture
def codes(engine: Engine) -> dict:
    with session_scope(engine) as s:
        return seed_master_data(s, warehouses=2, items=5, stock_per_item=20, stocked_warehouses=1)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as c:
        return c.execute(text(f"select count(*) from {table}")).scalar_one()


def test_purchase_order_receipt_and_putaway(engine: Engine, codes: dict) -> None:
    with session_scope(engine) as s:
        po = create_purchase_order(
            session=s,
            supplier="SUP1",
            warehouse="WH2",
            ordered_at=T0,
            lines=[
                {"item": "ITEM001", "quantity": 100, "unit_cost": 4.5},
                {"item": "ITEM004", "quantity": 30},
                {"item": "ITEM005", "quantity": 10},
            ],
        )
    assert po["status"] == "open" and po["po_number"].startswith("PO-")
    assert po["expected_at"] == T0 + dt.timedelta(days=5)  # SUP1's mean lead time
    with session_scope(engine) as s:
        rec = receive_purchase_order(
            session=s,
            po_id=po["id"],
            received_at=T0 + dt.timedelta(days=4),
            lines=[
                {"item": "ITEM001", "quantity": 60},
                {"item": "ITEM004", "quantity": 30, "lot_code": "F-1", "expiry_date": dt.date(2025, 1, 1)},
                {"item": "ITEM005", "quantity": 10},
            ],
        )
    assert rec["status"] == "partially_received"
    # WH2 had no stock: reserve locations of the item's temperature class (frozen, hazmat) are chosen.
    assert [ln["location"] for ln in rec["lines"]] == ["WH2-AMB-R1", "WH2-FRZ-R1", "WH2-HAZ-R1"]
    with session_scope(engine) as s:
        rec2 = receive_purchase_order(session=s, po_id=po["id"], lines=[{"item": "ITEM001", "quantity": 40}])
    assert rec2["status"] == "received" and rec2["lines"][0]["location"] == "WH2-AMB-R1"
    with session_scope(engine) as s:
        assert get_inventory(session=s, item="ITEM001", warehouse="WH2")[0]["on_hand"] == 100
        assert ledger_balance_mismatches(s) == []
    with pytest.raises(ConflictError), session_scope(engine) as s:
        receive_purchase_order(session=s, po_id=po["id"], lines=[{"item": "ITEM001", "quantity": 1}])
    with engine.connect() as c:
        events = c.execute(
            text("select event_type from events where aggregate_type = 'purchase_order' order by id")
        )
        assert events.scalars().all() == [
            "purchase_order.created",
            "purchase_order.received",
            "purchase_order.received",
        ]


def test_existing_pick_face_wins(engine: Engine, codes: dict) -> None:
    with session_scope(engine) as s:
        po = create_purchase_order(
            session=s, supplier="SUP2", warehouse="WH1", lines=[{"item": "ITEM002", "quantity": 5}]
        )
        rec = receive_purchase_order(session=s, po_id=po["id"], lines=[{"item": "ITEM002", "quantity": 5}])
    assert rec["lines"][0]["location"] == codes["pick_face"][("WH1", "ITEM002")]


def test_supply_errors_write_nothing(engine: Engine, codes: dict) -> None:
    with session_scope(engine) as s:
        po = create_purchase_order(
            session=s, supplier="SUP1", warehouse="WH1", lines=[{"item": "ITEM001", "quantity": 10}]
        )
    before = {
        t: _count(engine, t)
        for t in ("purchase_orders", "receipts", "inventory_ledger", "events", "transfers")
    }
    bad_creates = [
        ({"supplier": "NOPE"}, NotFoundError, "supplier"),
        ({"warehouse": "NOPE"}, NotFoundError, "warehouse"),
        ({"lines": [{"item": "NOPE", "quantity": 1}]}, NotFoundError, "lines[0].item"),
        ({"lines": [{"item": "ITEM001", "quantity": 0}]}, ValidationError, "lines[0].quantity"),
    ]
    for kwargs, error, field in bad_creates:
        args = {
            "supplier": "SUP1",
            "warehouse": "WH1",
            "lines": [{"item": "ITEM001", "quantity": 1}],
            **kwargs,
        }
        with pytest.raises(error) as info, session_scope(engine) as s:
            create_purchase_order(session=s, **args)
        assert info.value.field == field
    bad_receipts = [
        ([{"item": "ITEM001", "quantity": 11}], ValidationError, "lines[0].quantity"),
        ([{"item": "ITEM001", "quantity": -1}], ValidationError, "lines[0].quantity"),
        ([{"item": "ITEM002", "quantity": 1}], NotFoundError, "lines[0].item"),
    ]
    for lines, error, field in bad_receipts:
        with pytest.raises(error) as info, session_scope(engine) as s:
            receive_purchase_order(session=s, po_id=po["id"], lines=lines)
        assert info.value.field == field
    with pytest.raises(NotFoundError), session_scope(engine) as s:
        receive_purchase_order(session=s, po_id=999999, lines=[{"item": "ITEM001", "quantity": 1}])
    with pytest.raises(ValidationError), session_scope(engine) as s:
        create_transfer(
            session=s, from_warehouse="WH1", to_warehouse="WH1", lines=[{"item": "ITEM001", "quantity": 1}]
        )
    with session_scope(engine) as s:
        empty = create_transfer(
            session=s, from_warehouse="WH2", to_warehouse="WH1", lines=[{"item": "ITEM001", "quantity": 1}]
        )
    with pytest.raises(ValidationError), session_scope(engine) as s:
        ship_transfer(session=s, transfer_id=empty["id"])  # WH2 has no stock
    after = {t: _count(engine, t) for t in before}
    assert after == {**before, "transfers": before["transfers"] + 1, "events": before["events"] + 1}


def test_transfer_keeps_lots(engine: Engine, codes: dict) -> None:
    with session_scope(engine) as s:
        tr = create_transfer(
            session=s,
            from_warehouse="WH1",
            to_warehouse="WH2",
            created_at=T0,
            lines=[{"item": "ITEM003", "quantity": 15}, {"item": "ITEM001", "quantity": 50}],
        )
    with session_scope(engine) as s:
        shipped = ship_transfer(session=s, transfer_id=tr["id"], shipped_at=T0 + dt.timedelta(hours=2))
    # ITEM003: 10 of the early lot (-B) + 5 of the late one; ITEM001: only 20 exist.
    assert [ln["quantity_shipped"] for ln in shipped["lines"]] == [15, 20]
    assert shipped["status"] == "in_transit"
    with pytest.raises(ConflictError), session_scope(engine) as s:
        ship_transfer(session=s, transfer_id=tr["id"])
    with session_scope(engine) as s:
        received = receive_transfer(session=s, transfer_id=tr["id"], received_at=T0 + dt.timedelta(days=1))
    assert received["status"] == "received"
    with session_scope(engine) as s:
        inv = {(r["item"], r["warehouse"]): r["on_hand"] for r in get_inventory(session=s)}
        assert ledger_balance_mismatches(s) == []
    assert inv[("ITEM003", "WH2")] == 15 and inv[("ITEM003", "WH1")] == 5
    assert inv[("ITEM001", "WH2")] == 20 and inv[("ITEM001", "WH1")] == 0
    with engine.connect() as c:
        lots = c.execute(
            text(
                "select lot.lot_code, b.on_hand from inventory_balances b join lots lot on lot.id = b.lot_id "
                "join warehouses w on w.id = b.warehouse_id where w.code = 'WH2' order by 1"
            )
        ).all()
    assert [tuple(r) for r in lots] == [("ITEM003-A", 5), ("ITEM003-B", 10)]
