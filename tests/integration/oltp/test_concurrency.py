"""Concurrent orders on scarce stock: no oversell, no deadlock, books balanced."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from factories.oltp import seed_master_data
from sqlalchemy import Engine, text

from oltp.db import get_engine, session_scope
from oltp.inventory import get_inventory, ledger_balance_mismatches
from oltp.orders import cancel_order, place_order
from oltp.tx import run_in_transaction

THREADS = 16


@pytest.fixture
def engine(pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri, pool_size=THREADS + 2)
    yield eng
    eng.dispose()


def test_sixteen_clients_never_oversell(engine: Engine) -> None:
    # ITEM001 and ITEM002: 100 units each, in WH1 only; 16 clients x 5 orders x 5 units = 400 requested of each.
    with session_scope(engine) as s:
        seed_master_data(s, warehouses=2, items=2, stock_per_item=100, stocked_warehouses=1)
    barrier = threading.Barrier(THREADS)

    def client(n: int) -> list[int]:
        barrier.wait()
        ids = []
        for k in range(5):
            # Half the orders list the items in the opposite order: lock order must not depend on line order.
            items = ["ITEM001", "ITEM002"] if (n + k) % 2 else ["ITEM002", "ITEM001"]
            lines = [{"item": i, "quantity": 5} for i in items]
            order = run_in_transaction(
                engine,
                lambda s, lines=lines, n=n: place_order(
                    session=s, customer=f"CUST00{n % 4 + 1}", lines=lines
                ),
                retries=0,  # a deadlock or serialization failure must surface, not be retried away
            )
            ids.append(order.id)
        return ids

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(client, range(THREADS)))
    assert sum(len(r) for r in results) == THREADS * 5
    with session_scope(engine) as s:
        inv = {r["item"]: r for r in get_inventory(session=s)}
        assert inv["ITEM001"]["reserved"] == 100 and inv["ITEM002"]["reserved"] == 100
        assert ledger_balance_mismatches(s) == []
        allocated = s.execute(
            text(
                "select i.code, sum(l.quantity_allocated) from order_lines l join items i on i.id = l.item_id group by 1"
            )
        ).all()
        reserved_rows = s.execute(
            text("select sum(quantity) from reservations where status = 'active'")
        ).scalar_one()
    assert dict(allocated) == {"ITEM001": 100, "ITEM002": 100}
    assert reserved_rows == 200


def test_mixed_orders_cancels_and_receipts(engine: Engine) -> None:
    from oltp.supply import create_purchase_order, receive_purchase_order

    with session_scope(engine) as s:
        seed_master_data(s, warehouses=2, items=3, stock_per_item=40)
        pos = [
            create_purchase_order(
                session=s,
                supplier="SUP1",
                warehouse=f"WH{k % 2 + 1}",
                lines=[{"item": "ITEM001", "quantity": 5}, {"item": "ITEM003", "quantity": 4}],
            )["id"]
            for k in range(16)
        ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for k in range(4):
                if n % 4 == 3:  # 4 receivers, each receiving 4 purchase orders (new lots in ITEM003)
                    po = pos[(n // 4) * 4 + k]
                    run_in_transaction(
                        engine,
                        lambda s, po=po: receive_purchase_order(
                            session=s,
                            po_id=po,
                            lines=[
                                {"item": "ITEM001", "quantity": 5},
                                {"item": "ITEM003", "quantity": 4, "lot_code": f"L{po}"},
                            ],
                        ),
                        retries=0,
                    )
                    continue
                lines = [{"item": "ITEM001", "quantity": 7}, {"item": "ITEM003", "quantity": 3}]
                if k % 2:
                    lines.reverse()
                order = run_in_transaction(
                    engine,
                    lambda s, lines=lines: place_order(session=s, customer="CUST001", lines=lines),
                    retries=0,
                )
                if (n + k) % 3 == 0:
                    run_in_transaction(
                        engine, lambda s, o=order.id: cancel_order(session=s, order_id=o), retries=0
                    )
        except BaseException as exc:  # collected to fail the test with the real error
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(engine) as s:
        assert ledger_balance_mismatches(s) == []
        inv = {r["item"]: r for r in get_inventory(session=s)}
        for row in get_inventory(session=s):
            assert 0 <= row["reserved"] <= row["on_hand"]
        totals: dict[str, int] = {}
        for row in get_inventory(session=s):
            totals[row["item"]] = totals.get(row["item"], 0) + row["on_hand"]
        mismatch = s.execute(
            text(
                """
                select b.id from inventory_balances b
                left join (select balance_id, sum(quantity) q from reservations where status = 'active'
                           group by balance_id) r on r.balance_id = b.id
                where b.reserved <> coalesce(r.q, 0)
                """
            )
        ).all()
        allocated = dict(
            s.execute(
                text(
                    "select i.code, sum(l.quantity_allocated) from order_lines l join items i on i.id = l.item_id group by 1"
                )
            ).all()
        )
        reserved: dict[str, int] = {}
        for row in get_inventory(session=s):
            reserved[row["item"]] = reserved.get(row["item"], 0) + row["reserved"]
    assert inv  # stock exists
    assert totals["ITEM001"] == 80 + 16 * 5 and totals["ITEM003"] == 80 + 16 * 4  # every receipt booked once
    assert mismatch == []
    assert allocated == {k: reserved.get(k, 0) for k in allocated}
