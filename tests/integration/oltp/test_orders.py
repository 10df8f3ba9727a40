"""Orders: placement, validation, idempotency, FEFO allocation with splits and backorders, cancellation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, text

from oltp.db import get_engine, session_scope
from oltp.inventory import get_inventory, ledger_balance_mismatches
from oltp.orders import allocate, cancel_order, get_order, place_order
from stockyard.errors import ConflictError, NotFoundError, ValidationError

WRITTEN_TABLES = ("orders", "order_lines", "reservations", "events", "order_status_history")


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    yield eng
    eng.dispose()


@pytest.fixture
def codes(engine: Engine) -> dict:
    with session_scope(engine) as s:
        return seed_master_data(s, warehouses=2, items=5, stock_per_item=100, stocked_warehouses=1)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t: c.execute(text(f"select count(*) from {t}")).scalar_one() for t in WRITTEN_TABLES}


def _reserved(engine: Engine, item: str) -> int:
    with session_scope(engine) as s:
        return sum(r["reserved"] for r in get_inventory(session=s, item=item))


def test_place_order_allocates_and_emits(engine: Engine, codes: dict) -> None:
    with session_scope(engine) as s:
        order = place_order(
            session=s, customer="CUST001", warehouse="WH1", lines=[{"item": "ITEM001", "quantity": 30}]
        )
    assert order.status == "allocated"
    assert order.customer == "CUST001" and order.warehouse == "WH1"
    assert order.lines[0].item == "ITEM001"
    assert (order.lines[0].allocated_quantity, order.lines[0].backordered_quantity) == (30, 0)
    assert order.to_dict()["lines"][0]["quantity"] == 30
    with session_scope(engine) as s:
        inv = get_inventory(session=s, item="ITEM001", warehouse="WH1")
        assert inv == [
            {"item": "ITEM001", "warehouse": "WH1", "on_hand": 100, "reserved": 30, "available": 70}
        ]
        assert get_order(session=s, order_id=order.id) == order
    with engine.connect() as c:
        events = (
            c.execute(
                text(
                    "select event_type from events where aggregate_type = 'order' and aggregate_id = :i order by id"
                ),
                {"i": str(order.id)},
            )
            .scalars()
            .all()
        )
    assert events == ["order.created", "order.allocated"]


def test_fefo_split_across_lots_and_warehouses_then_backorder(engine: Engine, pg_uri: str) -> None:
    with session_scope(engine) as s:
        seed_master_data(s, warehouses=2, items=5, stock_per_item=0)
        from oltp.inventory import adjust

        # ITEM003 is chilled: WH1 has 10 of a late lot on the pick face and 5 of an early lot in reserve,
        # WH2 has 20 of a lot without expiry.
        adjust(
            session=s,
            warehouse="WH1",
            location="WH1-CHL-P1",
            item="ITEM003",
            delta=10,
            lot_code="LATE",
            expiry_date=dt.date(2030, 1, 1),
        )
        adjust(
            session=s,
            warehouse="WH1",
            location="WH1-CHL-R1",
            item="ITEM003",
            delta=5,
            lot_code="EARLY",
            expiry_date=dt.date(2029, 1, 1),
        )
        adjust(session=s, warehouse="WH2", location="WH2-CHL-P1", item="ITEM003", delta=20)
    with session_scope(engine) as s:
        order = place_order(
            session=s, customer="CUST001", warehouse="WH1", lines=[{"item": "ITEM003", "quantity": 40}]
        )
    assert order.status == "partially_allocated"
    assert (order.lines[0].allocated_quantity, order.lines[0].backordered_quantity) == (35, 5)
    with engine.connect() as c:
        taken = c.execute(
            text(
                "select w.code, coalesce(lot.lot_code, '-'), r.quantity from reservations r "
                "join inventory_balances b on b.id = r.balance_id join warehouses w on w.id = b.warehouse_id "
                "left join lots lot on lot.id = b.lot_id order by r.id"
            )
        ).all()
    assert [tuple(t) for t in taken] == [("WH1", "EARLY", 5), ("WH1", "LATE", 10), ("WH2", "-", 20)]

    # New stock lets a second allocate() fill the backorder.
    with session_scope(engine) as s:
        from oltp.inventory import adjust

        adjust(session=s, warehouse="WH2", location="WH2-CHL-P1", item="ITEM003", delta=7)
        again = allocate(session=s, order_id=order.id)
    assert again.status == "allocated"
    assert (again.lines[0].allocated_quantity, again.lines[0].backordered_quantity) == (40, 0)
    with session_scope(engine) as s:
        assert ledger_balance_mismatches(s) == []


def test_no_stock_backorders(engine: Engine, codes: dict) -> None:
    with session_scope(engine) as s:
        order = place_order(
            session=s, customer="CUST001", lines=[{"item": "ITEM001", "quantity": 500}], warehouse="WH2"
        )
    # WH2 has no stock; WH1 gives its 100, the rest is backordered.
    assert order.status == "partially_allocated"
    assert order.lines[0].allocated_quantity == 100 and order.lines[0].backordered_quantity == 400
    with session_scope(engine) as s:
        none = place_order(session=s, customer="CUST001", lines=[{"item": "ITEM001", "quantity": 1}])
    assert none.status == "backordered"


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"customer": "NOPE"}, NotFoundError, "customer"),
        ({"warehouse": "NOPE"}, NotFoundError, "warehouse"),
        (
            {"lines": [{"item": "ITEM001", "quantity": 1}, {"item": "NOPE", "quantity": 1}]},
            NotFoundError,
            "lines[1].item",
        ),
        ({"lines": [{"item": "ITEM001", "quantity": 0}]}, ValidationError, "lines[0].quantity"),
        ({"lines": [{"item": "ITEM001", "quantity": -3}]}, ValidationError, "lines[0].quantity"),
        ({"lines": []}, ValidationError, "lines"),
        ({"priority": 9}, ValidationError, "priority"),
    ],
)
def test_place_order_errors_write_nothing(
    engine: Engine, codes: dict, kwargs: dict, error: type, field: str
) -> None:
    before = _counts(engine)
    args = {
        "customer": "CUST001",
        "warehouse": "WH1",
        "lines": [{"item": "ITEM001", "quantity": 1}],
        **kwargs,
    }
    with pytest.raises(error) as info, session_scope(engine) as s:
        place_order(session=s, **args)
    assert info.value.field == field
    if error is NotFoundError:
        assert "NOPE" in info.value.message
    assert _counts(engine) == before
    assert _reserved(engine, "ITEM001") == 0


def test_idempotency(engine: Engine, codes: dict) -> None:
    body = {"customer": "CUST001", "warehouse": "WH1", "lines": [{"item": "ITEM001", "quantity": 5}]}
    with session_scope(engine) as s:
        first = place_order(session=s, idempotency_key="k-1", **body)
    with session_scope(engine) as s:
        second = place_order(session=s, idempotency_key="k-1", **body)
    assert second.id == first.id
    before = _counts(engine)
    with pytest.raises(ConflictError) as info, session_scope(engine) as s:
        place_order(
            session=s, idempotency_key="k-1", **{**body, "lines": [{"item": "ITEM001", "quantity": 6}]}
        )
    assert info.value.field == "idempotency_key"
    assert _counts(engine) == before
    assert _reserved(engine, "ITEM001") == 5
    with pytest.raises(ConflictError), session_scope(engine) as s:
        place_order(session=s, order_number=first.order_number, **body)
    assert _counts(engine) == before


def test_cancel_releases_reservations(engine: Engine, codes: dict) -> None:
    with session_scope(engine) as s:
        order = place_order(
            session=s,
            customer="CUST002",
            warehouse="WH1",
            lines=[{"item": "ITEM001", "quantity": 10}, {"item": "ITEM003", "quantity": 60}],
        )
    assert _reserved(engine, "ITEM003") == 60
    with session_scope(engine) as s:
        cancelled = cancel_order(session=s, order_id=order.id, reason="customer changed mind")
    assert cancelled.status == "cancelled"
    assert all(ln.cancelled_quantity == ln.quantity and ln.allocated_quantity == 0 for ln in cancelled.lines)
    assert _reserved(engine, "ITEM001") == 0 and _reserved(engine, "ITEM003") == 0
    with pytest.raises(ConflictError), session_scope(engine) as s:
        cancel_order(session=s, order_id=order.id, reason="again")
    with pytest.raises(NotFoundError), session_scope(engine) as s:
        cancel_order(session=s, order_id=999999, reason="x")
    with engine.connect() as c:
        history = (
            c.execute(
                text("select to_status from order_status_history where order_id = :o order by id"),
                {"o": order.id},
            )
            .scalars()
            .all()
        )
        n_cancel = c.execute(
            text("select count(*) from events where event_type = 'order.cancelled'")
        ).scalar_one()
    assert history == ["new", "allocated", "cancelled"]
    assert n_cancel == 1
