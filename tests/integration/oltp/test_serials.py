"""Serial numbers: captured on receipt, required and consumed by shipping, brought back by returns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, text

from oltp.db import get_engine, session_scope
from oltp.inventory import ledger_balance_mismatches
from oltp.orders import place_order
from oltp.picking import confirm_pick, release_wave
from oltp.returns import receive_return
from oltp.serials import get_serials
from oltp.shipments import ship
from oltp.supply import create_purchase_order, receive_purchase_order
from stockyard.errors import ConflictError, ValidationError


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    with session_scope(eng) as s:
        # ITEM002 (ambient) is serialised; its 10 opening units were booked without serials (legacy stock).
        seed_master_data(s, warehouses=1, items=3, stock_per_item=10)
        s.execute(text("update items set is_serialised = true where code = 'ITEM002'"))
    yield eng
    eng.dispose()


def _receive(engine: Engine, item: str, quantity: int, serials: list[str] | None = None) -> dict:
    with session_scope(engine) as s:
        po = create_purchase_order(
            session=s, supplier="SUP1", warehouse="WH1", lines=[{"item": item, "quantity": quantity}]
        )
        line: dict = {"item": item, "quantity": quantity}
        if serials is not None:
            line["serials"] = serials
        return receive_purchase_order(session=s, po_id=po["id"], lines=[line])


def _picked_order(engine: Engine, item: str, quantity: int) -> int:
    with session_scope(engine) as s:
        order = place_order(
            session=s, customer="CUST001", warehouse="WH1", lines=[{"item": item, "quantity": quantity}]
        )
        wave = release_wave(session=s, warehouse="WH1", order_ids=[order.id])
        assert wave is not None
        for task in wave.tasks:
            confirm_pick(session=s, task_id=task.id, quantity=task.quantity)
        return order.id


def _serials(engine: Engine, status: str | None = None) -> list[str]:
    with session_scope(engine) as s:
        return [r["serial"] for r in get_serials(session=s, item="ITEM002", status=status)]


def _counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as c:
        return tuple(
            c.execute(text(f"select count(*) from {t}")).scalar_one()
            for t in ("shipments", "inventory_ledger", "events", "serial_numbers", "receipts")
        )


def test_legacy_stock_ships_untracked_until_serials_are_captured(engine: Engine) -> None:
    order_id = _picked_order(engine, "ITEM002", 2)
    with session_scope(engine) as s:
        shipped = ship(session=s, order_id=order_id, carrier="PARCELNET", service="GROUND")
    assert shipped.status == "shipped" and _serials(engine) == []


def test_serial_lifecycle(engine: Engine) -> None:
    received = _receive(engine, "ITEM002", 3, ["SN-A", "SN-B", "SN-C"])
    assert received["lines"][0]["serials"] == ["SN-A", "SN-B", "SN-C"]
    assert _serials(engine, "in_stock") == ["SN-A", "SN-B", "SN-C"]

    # Scanned serials ship and carry the shipment.
    first = _picked_order(engine, "ITEM002", 2)
    with session_scope(engine) as s:
        shipment = ship(
            session=s,
            order_id=first,
            carrier="PARCELNET",
            service="GROUND",
            lines=[{"item": "ITEM002", "quantity": 2, "serials": ["SN-C", "SN-A"]}],
        )
        rows = {r["serial"]: r for r in get_serials(session=s, item="ITEM002")}
    assert rows["SN-A"]["status"] == rows["SN-C"]["status"] == "shipped"
    assert rows["SN-A"]["shipment_id"] == shipment.id and rows["SN-A"]["location"] is None
    assert rows["SN-B"]["status"] == "in_stock"

    # Under serial control, three units cannot leave with one serial in stock: typed error, nothing written.
    second = _picked_order(engine, "ITEM002", 3)
    before = _counts(engine)
    with pytest.raises(ValidationError) as info, session_scope(engine) as s:
        ship(session=s, order_id=second, carrier="PARCELNET", service="GROUND")
    assert info.value.field == "serials" and "ITEM002" in info.value.message
    assert _counts(engine) == before
    with pytest.raises(ValidationError) as scanned, session_scope(engine) as s:
        ship(
            session=s,
            order_id=second,
            carrier="PARCELNET",
            service="GROUND",
            lines=[{"item": "ITEM002", "quantity": 1, "serials": ["SN-A"]}],  # already shipped
        )
    assert scanned.value.field == "lines[0].serials" and scanned.value.value == "SN-A"

    # Receipts of a controlled item without serials get generated ones; then the order can ship.
    more = _receive(engine, "ITEM002", 2)
    generated = more["lines"][0]["serials"]
    assert len(generated) == 2 and all(x.startswith(f"ITEM002-R{more['receipt_id']}-") for x in generated)
    with session_scope(engine) as s:
        ship(session=s, order_id=second, carrier="PARCELNET", service="GROUND")
    assert _serials(engine, "in_stock") == []

    # Returns: a scanned unit is restocked (available again), an unscanned scrap takes the next one shipped.
    with session_scope(engine) as s:
        ret = receive_return(
            session=s,
            order_id=first,
            lines=[
                {"item": "ITEM002", "quantity": 1, "disposition": "restock", "serials": ["SN-C"]},
                {"item": "ITEM002", "quantity": 1, "disposition": "scrap"},
            ],
        )
    assert [ln["serials"] for ln in ret["lines"]] == [["SN-C"], ["SN-A"]]
    assert _serials(engine, "returned") == ["SN-C"] and _serials(engine, "scrapped") == ["SN-A"]
    with pytest.raises(ValidationError) as wrong, session_scope(engine) as s:
        receive_return(
            session=s,
            order_id=second,
            lines=[{"item": "ITEM002", "quantity": 1, "disposition": "restock", "serials": ["SN-C"]}],
        )
    assert wrong.value.field == "lines[0].serials"
    with session_scope(engine) as s:
        assert ledger_balance_mismatches(s) == []


@pytest.mark.parametrize(
    ("item", "quantity", "serials", "error"),
    [
        ("ITEM001", 1, ["X-1"], ValidationError),  # not serialised
        ("ITEM002", 2, ["X-1"], ValidationError),  # one per unit
        ("ITEM002", 2, ["X-1", "X-1"], ValidationError),  # repeated
        ("ITEM002", 1, ["SN-A"], ConflictError),  # already recorded
    ],
)
def test_receipt_serial_errors_write_nothing(
    engine: Engine, item: str, quantity: int, serials: list[str], error: type
) -> None:
    _receive(engine, "ITEM002", 1, ["SN-A"])
    with session_scope(engine) as s:
        po = create_purchase_order(
            session=s, supplier="SUP1", warehouse="WH1", lines=[{"item": item, "quantity": quantity}]
        )
    before = _counts(engine)
    with pytest.raises(error) as info, session_scope(engine) as s:
        receive_purchase_order(
            session=s, po_id=po["id"], lines=[{"item": item, "quantity": quantity, "serials": serials}]
        )
    assert info.value.field == "lines[0].serials"
    assert _counts(engine) == before
