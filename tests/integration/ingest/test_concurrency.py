"""Rows committed out of id order by concurrent transactions are not skipped."""

from __future__ import annotations

from pathlib import Path

import psycopg

from ingest.run import ingest_table
from integration.ingest.ingest_helpers import assert_reconciled

TABLES = ["oltp__events", "oltp__orders", "oltp__inventory_ledger"]


def _ingest(uri: str, lake: Path) -> None:
    for t in TABLES:
        ingest_table(t, uri=uri, lake_root=lake)


def test_late_commit_with_lower_id_is_not_skipped(seeded: str, lake: Path) -> None:
    _ingest(seeded, lake)
    slow = psycopg.connect(seeded)
    fast = psycopg.connect(seeded, autocommit=True)
    try:
        # The slow transaction takes the lower ids first and commits last.
        slow.execute(
            "insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at) "
            "values ('order', 'slow', 'order.created', '{}', now())"
        )
        slow.execute(
            "insert into orders (order_number, customer_id, ordered_at) select 'SLOW', min(id), now() from customers"
        )
        slow.execute(
            "insert into inventory_ledger (occurred_at, warehouse_id, location_id, item_id, quantity_delta, reason) "
            "select now(), min(warehouse_id), min(id), (select min(id) from items), 5, 'receipt' from locations"
        )
        fast.execute(
            "insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at) "
            "values ('order', 'fast', 'order.created', '{}', now())"
        )
        fast.execute(
            "insert into orders (order_number, customer_id, ordered_at) select 'FAST', min(id), now() from customers"
        )
        ids = {
            r[0]: r[1]
            for r in fast.execute("select aggregate_id, id from events where aggregate_id in ('slow','fast')")
        }
        assert ids == {"fast": ids["fast"]}  # the slow row is not visible yet
        _ingest(seeded, lake)  # runs while the slow transaction is open
        slow.commit()
    finally:
        slow.close()
        fast.close()
    with psycopg.connect(seeded) as conn:
        slow_id, fast_id = conn.execute(
            "select (select id from events where aggregate_id = 'slow'), (select id from events where aggregate_id = 'fast')"
        ).fetchone()
    assert slow_id < fast_id  # really out of order
    _ingest(seeded, lake)
    assert_reconciled(seeded, lake, TABLES)
