"""Inventory: adjustments, cycle counts, stock queries and the ledger invariant."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, text

from oltp.db import get_engine, session_scope
from oltp.inventory import adjust, cycle_count, get_inventory, ledger_balance_mismatches
from oltp.orders import place_order
from stockyard.errors import NotFoundError, ValidationError


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    yield eng
    eng.dispose()


@pytest.fixture
def codes(engine: Engine) -> dict:
    with session_scope(engine) as s:
        return seed_master_data(s, warehouses=2, items=5, stock_per_item=50)


def _ledger_rows(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(text("select count(*) from inventory_ledger")).scalar_one()


def test_opening_stock_and_queries(engine: Engine, codes: dict) -> None:
    with session_scope(engine) as s:
        everything = get_inventory(session=s)
        assert len(everything) == 5 * 2
        assert all(r["on_hand"] == 50 and r["reserved"] == 0 and r["available"] == 50 for r in everything)
        assert [r["warehouse"] for r in get_inventory(session=s, item="ITEM002")] == ["WH1", "WH2"]
        assert {r["item"] for r in get_inventory(session=s, warehouse="WH2")} == set(codes["items"])
        with pytest.raises(NotFoundError) as info:
            get_inventory(session=s, item="NOPE")
        assert info.value.field == "item"
        with pytest.raises(NotFoundError):
            get_inventory(session=s, warehouse="NOPE")
        assert ledger_balance_mismatches(s) == []


def test_adjust_and_count(engine: Engine, codes: dict) -> None:
    loc = codes["pick_face"][("WH1", "ITEM001")]
    with session_scope(engine) as s:
        out = adjust(
            session=s, warehouse="WH1", location=loc, item="ITEM001", delta=-7, reason="scrap", note="damaged"
        )
    assert out["on_hand"] == 43
    with session_scope(engine) as s:
        place_order(
            session=s, customer="CUST001", warehouse="WH1", lines=[{"item": "ITEM001", "quantity": 40}]
        )
    with session_scope(engine) as s:
        counted = cycle_count(session=s, location=loc, item="ITEM001", counted_quantity=41)
    assert (counted["delta"], counted["on_hand"], counted["reserved"], counted["available"]) == (
        -2,
        41,
        40,
        1,
    )
    with session_scope(engine) as s:
        assert cycle_count(session=s, location=loc, item="ITEM001", counted_quantity=41)["delta"] == 0
        assert ledger_balance_mismatches(s) == []
    with engine.connect() as c:
        reasons = c.execute(
            text(
                "select reason, quantity_delta from inventory_ledger where reason <> 'opening_balance' order by id"
            )
        ).all()
        counted_events = c.execute(
            text("select count(*) from events where event_type = 'inventory.counted'")
        ).scalar_one()
    assert [tuple(r) for r in reasons] == [("scrap", -7), ("cycle_count", -2)]
    assert counted_events == 2


def test_errors_write_nothing(engine: Engine, codes: dict) -> None:
    loc = codes["pick_face"][("WH1", "ITEM001")]
    with session_scope(engine) as s:
        place_order(
            session=s, customer="CUST001", warehouse="WH1", lines=[{"item": "ITEM001", "quantity": 30}]
        )
    before = _ledger_rows(engine)
    cases = [
        ({"warehouse": "NOPE", "location": loc, "item": "ITEM001", "delta": 1}, NotFoundError, "warehouse"),
        ({"warehouse": "WH1", "location": "NOPE", "item": "ITEM001", "delta": 1}, NotFoundError, "location"),
        ({"warehouse": "WH1", "location": loc, "item": "NOPE", "delta": 1}, NotFoundError, "item"),
        ({"warehouse": "WH1", "location": loc, "item": "ITEM001", "delta": 0}, ValidationError, "delta"),
        ({"warehouse": "WH1", "location": loc, "item": "ITEM001", "delta": -21}, ValidationError, "delta"),
        (
            {"warehouse": "WH1", "location": loc, "item": "ITEM001", "delta": 1, "reason": "ship"},
            ValidationError,
            "reason",
        ),
    ]
    for kwargs, error, field in cases:
        with pytest.raises(error) as info, session_scope(engine) as s:
            adjust(session=s, **kwargs)
        assert info.value.field == field
    with pytest.raises(ValidationError) as info, session_scope(engine) as s:
        cycle_count(session=s, location=loc, item="ITEM001", counted_quantity=29)
    assert info.value.field == "counted_quantity"
    with pytest.raises(ValidationError), session_scope(engine) as s:
        cycle_count(session=s, location=loc, item="ITEM001", counted_quantity=-1)
    assert _ledger_rows(engine) == before
    with session_scope(engine) as s:
        assert get_inventory(session=s, item="ITEM001", warehouse="WH1")[0]["on_hand"] == 50
