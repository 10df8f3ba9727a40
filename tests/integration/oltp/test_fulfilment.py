"""Picking, packing, shipping, tracking, delivery and returns, end to end through the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, text

from oltp.db import get_engine, session_scope
from oltp.inventory import get_inventory, ledger_balance_mismatches
from oltp.orders import cancel_order, get_order, place_order
from oltp.picking import confirm_pick, release_wave
from oltp.returns import receive_return
from oltp.shipments import deliver, pack, record_tracking_event, ship
from stockyard.errors import ConflictError, NotFoundError, ValidationError

T0 = dt.datetime(2024, 2, 1, 9, tzinfo=dt.UTC)


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    yield eng
    eng.dispose()


@pytest.fixture
def order_id(engine: Engine) -> int:
    with session_scope(engine) as s:
        seed_master_data(s, warehouses=2, items=5, stock_per_item=100, stocked_warehouses=1)
    with session_scope(engine) as s:
        # ITEM001 ambient (100 on one pick face), ITEM003 chilled (two lots: 50 pick face, 50 reserve).
        order = place_order(
            session=s,
            customer="CUST001",
            warehouse="WH1",
            ordered_at=T0,
            lines=[{"item": "ITEM001", "quantity": 10}, {"item": "ITEM003", "quantity": 60}],
        )
    return order.id


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as c:
        return c.execute(text(sql)).scalar_one()


def _inv(engine: Engine, item: str) -> dict:
    with session_scope(engine) as s:
        return get_inventory(session=s, item=item, warehouse="WH1")[0]


def test_full_flow(engine: Engine, order_id: int) -> None:
    with session_scope(engine) as s:
        wave = release_wave(session=s, warehouse="WH1", released_at=T0 + dt.timedelta(hours=1))
    assert wave is not None and wave.order_ids == (order_id,)
    zones = wave.tasks_by_zone()
    assert sorted(zones) == ["AMB", "CHL"]
    assert [t.quantity for t in zones["CHL"]] == [50, 10] or sorted(t.quantity for t in zones["CHL"]) == [
        10,
        50,
    ]
    with session_scope(engine) as s:
        assert release_wave(session=s, warehouse="WH1") is None  # nothing left to release
        assert get_order(session=s, order_id=order_id).status == "released"

    # Short pick on the ambient task: 8 of 10, the 2 missing units are released and backordered.
    amb = zones["AMB"][0]
    with session_scope(engine) as s:
        done = confirm_pick(session=s, task_id=amb.id, quantity=8, picked_at=T0 + dt.timedelta(hours=2))
    assert done.status == "short" and done.quantity_picked == 8
    assert _inv(engine, "ITEM001")["reserved"] == 8
    with pytest.raises(ConflictError), session_scope(engine) as s:
        confirm_pick(session=s, task_id=amb.id, quantity=8)
    for task in zones["CHL"]:
        with pytest.raises(ValidationError), session_scope(engine) as s:
            confirm_pick(session=s, task_id=task.id, quantity=task.quantity + 1)
        with session_scope(engine) as s:
            confirm_pick(
                session=s, task_id=task.id, quantity=task.quantity, picked_at=T0 + dt.timedelta(hours=2)
            )
    with session_scope(engine) as s:
        order = get_order(session=s, order_id=order_id)
    assert order.status == "picked"
    assert [(ln.picked_quantity, ln.backordered_quantity) for ln in order.lines] == [(8, 2), (60, 0)]

    # Shipping more than was picked is refused and writes nothing.
    ledger_before = _count(engine, "select count(*) from inventory_ledger")
    with pytest.raises(ValidationError) as info, session_scope(engine) as s:
        ship(
            session=s,
            order_id=order_id,
            carrier="PARCELNET",
            service="GROUND",
            lines=[{"item": "ITEM001", "quantity": 9}],
        )
    assert info.value.field == "lines[0].quantity"
    with pytest.raises(NotFoundError), session_scope(engine) as s:
        ship(session=s, order_id=order_id, carrier="NOPE", service="GROUND")
    assert _count(engine, "select count(*) from shipments") == 0
    assert _count(engine, "select count(*) from inventory_ledger") == ledger_before

    with session_scope(engine) as s:
        planned = pack(
            session=s,
            order_id=order_id,
            packed_at=T0 + dt.timedelta(hours=3),
            packages=[{"weight_kg": 20.0, "volume_m3": 0.1}, {"weight_kg": 15.5, "volume_m3": 0.05}],
        )
    assert planned.status == "planned" and planned.packages == 2
    shipped_at = T0 + dt.timedelta(hours=4)
    with session_scope(engine) as s:
        shipment = ship(
            session=s, order_id=order_id, carrier="PARCELNET", service="GROUND", shipped_at=shipped_at
        )
    assert shipment.id == planned.id and shipment.status == "shipped"
    assert shipment.weight_kg == pytest.approx(35.5)
    # Lane WH1 -> north (CUST001): base 5.00 + 0.80/kg, transit = GROUND's 3 days.
    assert shipment.cost == pytest.approx(5.0 + 0.8 * 35.5)
    assert shipment.promised_delivery_at == shipped_at + dt.timedelta(days=3)
    assert sorted((ln["item"], ln["quantity"]) for ln in shipment.lines) == [
        ("ITEM001", 8),
        ("ITEM003", 10),
        ("ITEM003", 50),
    ]
    assert _inv(engine, "ITEM001") == {
        "item": "ITEM001",
        "warehouse": "WH1",
        "on_hand": 92,
        "reserved": 0,
        "available": 92,
    }
    assert _inv(engine, "ITEM003")["on_hand"] == 40
    with session_scope(engine) as s:
        order = get_order(session=s, order_id=order_id)
        assert ledger_balance_mismatches(s) == []
    assert order.status == "shipped"
    assert [ln.shipped_quantity for ln in order.lines] == [8, 60]
    assert _count(engine, "select count(*) from inventory_ledger where reason = 'ship'") == 3
    assert _count(engine, "select count(*) from freight_charges") == 2

    # Tracking: idempotent on external id, status only moves forward.
    with session_scope(engine) as s:
        first = record_tracking_event(
            session=s,
            tracking_number=shipment.tracking_number,
            event_type="in_transit",
            occurred_at=shipped_at + dt.timedelta(hours=5),
            external_id="ev-1",
        )
    with session_scope(engine) as s:
        again = record_tracking_event(
            session=s,
            shipment_id=shipment.id,
            event_type="in_transit",
            occurred_at=shipped_at + dt.timedelta(hours=5),
            external_id="ev-1",
        )
    assert first["status"] == "in_transit" and again["duplicate"] and again["id"] == first["id"]
    assert _count(engine, "select count(*) from tracking_events") == 1
    assert _count(engine, "select count(*) from events where event_type = 'shipment.tracking_event'") == 1
    with pytest.raises(ValidationError), session_scope(engine) as s:
        record_tracking_event(
            session=s, shipment_id=shipment.id, event_type="teleported", occurred_at=shipped_at
        )
    with pytest.raises(NotFoundError), session_scope(engine) as s:
        record_tracking_event(
            session=s, tracking_number="NOPE", event_type="in_transit", occurred_at=shipped_at
        )
    with session_scope(engine) as s:
        done = record_tracking_event(
            session=s,
            shipment_id=shipment.id,
            event_type="delivered",
            occurred_at=shipped_at + dt.timedelta(days=2),
            external_id="ev-2",
        )
    assert done["status"] == "delivered"
    with session_scope(engine) as s:
        late = record_tracking_event(
            session=s,
            shipment_id=shipment.id,
            event_type="out_for_delivery",
            occurred_at=shipped_at + dt.timedelta(days=1),
            external_id="ev-0",
        )
        assert late["status"] == "delivered"
        assert get_order(session=s, order_id=order_id).status == "delivered"
    with pytest.raises(ConflictError), session_scope(engine) as s:
        deliver(session=s, shipment_id=shipment.id, delivered_at=shipped_at + dt.timedelta(days=3))

    # Returns: restock goes back on hand, more than shipped is refused.
    with pytest.raises(ValidationError) as info, session_scope(engine) as s:
        receive_return(
            session=s, order_id=order_id, lines=[{"item": "ITEM001", "quantity": 9, "disposition": "restock"}]
        )
    assert info.value.field == "lines[0].quantity"
    with pytest.raises(NotFoundError), session_scope(engine) as s:
        receive_return(
            session=s, order_id=order_id, lines=[{"item": "ITEM002", "quantity": 1, "disposition": "scrap"}]
        )
    with session_scope(engine) as s:
        rma = receive_return(
            session=s,
            order_id=order_id,
            received_at=shipped_at + dt.timedelta(days=5),
            lines=[
                {"item": "ITEM001", "quantity": 3, "disposition": "restock"},
                {"item": "ITEM001", "quantity": 2, "disposition": "scrap"},
            ],
        )
    assert rma["rma_number"].startswith("RMA-") and rma["warehouse"] == "WH1"
    assert _inv(engine, "ITEM001")["on_hand"] == 95
    with pytest.raises(ValidationError), session_scope(engine) as s:
        receive_return(
            session=s, order_id=order_id, lines=[{"item": "ITEM001", "quantity": 4, "disposition": "scrap"}]
        )
    assert _count(engine, "select count(*) from returns") == 1
    with session_scope(engine) as s:
        assert ledger_balance_mismatches(s) == []
    with engine.connect() as c:
        kinds = c.execute(text("select event_type, count(*) from events group by 1")).all()
    counts = dict(kinds)
    assert counts["wave.released"] == 1 and counts["pick.confirmed"] == 3 and counts["order.packed"] == 1
    assert counts["shipment.shipped"] == 1 and counts["shipment.delivered"] == 1
    assert counts["shipment.tracking_event"] == 3 and counts["return.received"] == 1


def test_ship_without_pack_and_cancel_after_pick(engine: Engine, order_id: int) -> None:
    with session_scope(engine) as s:
        wave = release_wave(session=s, warehouse="WH1", order_ids=[order_id])
    assert wave is not None
    with pytest.raises(NotFoundError), session_scope(engine) as s:
        release_wave(session=s, warehouse="WH1", order_ids=[424242])
    with pytest.raises(ValidationError), session_scope(engine) as s:
        ship(session=s, order_id=order_id, carrier="PARCELNET", service="GROUND")  # nothing picked yet
    first = wave.tasks[0]
    with session_scope(engine) as s:
        confirm_pick(session=s, task_id=first.id, quantity=first.quantity)
    with session_scope(engine) as s:
        shipment = ship(
            session=s,
            order_id=order_id,
            carrier="COLDLINK",
            service="REEFER",
            lines=[{"item": first.item, "quantity": 1}],
        )
    assert shipment.packages == 1 and [ln["quantity"] for ln in shipment.lines] == [1]
    with session_scope(engine) as s:
        cancelled = cancel_order(session=s, order_id=order_id, reason="rest not needed")
    assert cancelled.status == "cancelled"
    shipped_line = next(ln for ln in cancelled.lines if ln.item == first.item)
    assert shipped_line.shipped_quantity == 1 and shipped_line.cancelled_quantity == shipped_line.quantity - 1
    with session_scope(engine) as s:
        assert all(r["reserved"] == 0 for r in get_inventory(session=s))
        assert ledger_balance_mismatches(s) == []
    assert _count(engine, "select count(*) from pick_tasks where status = 'open'") == 0
