"""Dock appointments: compatible doors, no overlap (service and database), errors that write nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from oltp.db import get_engine, session_scope
from oltp.docks import book_appointment, cancel_appointment, list_appointments
from oltp.orders import place_order
from oltp.picking import confirm_pick, release_wave
from oltp.shipments import pack
from oltp.supply import cancel_purchase_order, create_purchase_order
from stockyard.errors import ConflictError, NotFoundError, ValidationError

T0 = dt.datetime(2024, 3, 4, 8, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    # Per warehouse: D1 inbound, D2 outbound, D3 both + reefer. ITEM001 ambient, ITEM004 frozen.
    with session_scope(eng) as s:
        seed_master_data(s, warehouses=2, items=5, stock_per_item=50, stocked_warehouses=1)
    yield eng
    eng.dispose()


def _po(engine: Engine, item: str = "ITEM001", warehouse: str = "WH1") -> int:
    with session_scope(engine) as s:
        return create_purchase_order(
            session=s, supplier="SUP1", warehouse=warehouse, lines=[{"item": item, "quantity": 10}]
        )["id"]


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as c:
        return (
            c.execute(text("select count(*) from dock_appointments")).scalar_one(),
            c.execute(
                text("select count(*) from events where aggregate_type = 'dock_appointment'")
            ).scalar_one(),
        )


def test_inbound_bookings_fill_compatible_doors_then_conflict(engine: Engine) -> None:
    po1, po2, po3, po4 = (_po(engine) for _ in range(4))
    with session_scope(engine) as s:
        a = book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=po1, starts_at=T0
        )
        b = book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=po2, starts_at=T0 + H / 2
        )
    assert (a["door"], b["door"]) == ("D1", "D3")  # D2 is outbound only
    assert a["ends_at"] == T0 + H and a["status"] == "booked"
    before = _counts(engine)
    with pytest.raises(ConflictError) as info, session_scope(engine) as s:
        book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=po3, starts_at=T0 + H * 0.75
        )
    assert "D1" in info.value.message and "D3" in info.value.message and "08:00" in info.value.message
    assert _counts(engine) == before
    with session_scope(engine) as s:
        # Half-open slots: 09:00 starts when the 08:00-09:00 booking ends.
        c = book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=po3, starts_at=T0 + H
        )
        assert c["door"] == "D1"
        listed = list_appointments(session=s, warehouse="WH1", starts=T0, ends=T0 + 3 * H)
        assert [(x["door"], x["id"]) for x in listed] == [("D1", a["id"]), ("D1", c["id"]), ("D3", b["id"])]
        # Cancelling frees the slot for someone else.
        cancel_appointment(session=s, appointment_id=a["id"], reason="truck late")
        d = book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=po4, starts_at=T0, door="D1"
        )
        assert d["door"] == "D1"
    with pytest.raises(ConflictError), session_scope(engine) as s:
        cancel_appointment(session=s, appointment_id=a["id"])
    with pytest.raises(NotFoundError), session_scope(engine) as s:
        cancel_appointment(session=s, appointment_id=987654)


def test_cold_load_needs_reefer_door(engine: Engine) -> None:
    frozen = _po(engine, item="ITEM004")
    with pytest.raises(ValidationError) as info, session_scope(engine) as s:
        book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=frozen, starts_at=T0, door="D1"
        )
    assert info.value.field == "door" and "reefer" in info.value.message
    with session_scope(engine) as s:
        first = book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=frozen, starts_at=T0
        )
    assert first["door"] == "D3"
    other = _po(engine, item="ITEM004")
    with pytest.raises(ConflictError) as conflict, session_scope(engine) as s:
        # D1 is free but cannot take a frozen load, so the only reefer door's clash is reported.
        book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=other, starts_at=T0
        )
    assert "D3" in conflict.value.message and "D1" not in conflict.value.message


def test_outbound_shipment_booking(engine: Engine) -> None:
    with session_scope(engine) as s:
        order = place_order(
            session=s, customer="CUST001", warehouse="WH1", lines=[{"item": "ITEM001", "quantity": 2}]
        )
        wave = release_wave(session=s, warehouse="WH1", order_ids=[order.id])
        assert wave is not None
        for task in wave.tasks:
            confirm_pick(session=s, task_id=task.id, quantity=task.quantity)
        shipment = pack(session=s, order_id=order.id)
    with session_scope(engine) as s:
        booked = book_appointment(
            session=s, warehouse="WH1", direction="outbound", shipment_id=shipment.id, starts_at=T0, door="D2"
        )
    assert booked["door"] == "D2" and booked["shipment_id"] == shipment.id
    with pytest.raises(ConflictError) as info, session_scope(engine) as s:
        book_appointment(
            session=s,
            warehouse="WH1",
            direction="outbound",
            shipment_id=shipment.id,
            starts_at=T0 + H / 4,
            ends_at=T0 + 2 * H,
            door="D2",
        )
    assert info.value.field == "door" and "D2" in info.value.message and "08:00" in info.value.message
    with pytest.raises(ValidationError) as wrong_wh, session_scope(engine) as s:
        book_appointment(
            session=s, warehouse="WH2", direction="outbound", shipment_id=shipment.id, starts_at=T0
        )
    assert wrong_wh.value.field == "shipment_id"


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"direction": "sideways"}, ValidationError, "direction"),
        ({"purchase_order_id": None}, ValidationError, "purchase_order_id"),
        ({"starts_at": dt.datetime(2024, 3, 4, 8)}, ValidationError, "starts_at"),
        ({"ends_at": T0 - H}, ValidationError, "ends_at"),
        ({"duration_minutes": 0}, ValidationError, "duration_minutes"),
        ({"warehouse": "NOPE"}, NotFoundError, "warehouse"),
        ({"warehouse": "WH2"}, ValidationError, "purchase_order_id"),
        ({"purchase_order_id": 999999}, NotFoundError, "purchase_order_id"),
        ({"door": "D9"}, NotFoundError, "door"),
        ({"door": "D2"}, ValidationError, "door"),
    ],
)
def test_booking_errors_write_nothing(engine: Engine, kwargs: dict, error: type, field: str) -> None:
    po = _po(engine)
    before = _counts(engine)
    args = {"warehouse": "WH1", "direction": "inbound", "purchase_order_id": po, "starts_at": T0, **kwargs}
    with pytest.raises(error) as info, session_scope(engine) as s:
        book_appointment(session=s, **args)
    assert info.value.field == field
    assert _counts(engine) == before


def test_closed_purchase_order_cannot_book_and_cancel_frees_its_slots(engine: Engine) -> None:
    po = _po(engine)
    with session_scope(engine) as s:
        booked = book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=po, starts_at=T0
        )
        cancel_purchase_order(session=s, po_id=po, reason="supplier out of stock")
    with engine.connect() as c:
        status = c.execute(
            text("select status from dock_appointments where id = :a"), {"a": booked["id"]}
        ).scalar_one()
    assert status == "cancelled"
    with pytest.raises(ConflictError) as info, session_scope(engine) as s:
        book_appointment(session=s, warehouse="WH1", direction="inbound", purchase_order_id=po, starts_at=T0)
    assert info.value.field == "purchase_order_id"


def test_database_refuses_overlapping_active_appointments(engine: Engine) -> None:
    # The exclusion constraint is the last line of defence for writers that bypass the service.
    po = _po(engine)
    with session_scope(engine) as s:
        booked = book_appointment(
            session=s, warehouse="WH1", direction="inbound", purchase_order_id=po, starts_at=T0
        )
    insert = text(
        "insert into dock_appointments (warehouse_id, dock_door_id, direction, purchase_order_id, starts_at, "
        "ends_at, status) select warehouse_id, dock_door_id, direction, purchase_order_id, starts_at + interval "
        "'30 minutes', ends_at + interval '30 minutes', :status from dock_appointments where id = :a"
    )
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(insert, {"a": booked["id"], "status": "booked"})
    with engine.begin() as c:  # finished history may overlap
        c.execute(insert, {"a": booked["id"], "status": "completed"})
