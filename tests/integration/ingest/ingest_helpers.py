"""Helpers for ingest tests: FK-consistent OLTP rows with plain SQL, settings, reconciliation."""

from __future__ import annotations

from pathlib import Path

import psycopg

MASTER_SQL = """
insert into warehouses (code, name, lat, lon) values ('W1', 'Main', 50, 8), ('W2', 'South', 48, 11);
insert into zones (warehouse_id, code, temperature_class) select id, 'Z1', 'ambient' from warehouses;
insert into locations (warehouse_id, zone_id, code, aisle, bay, level, x, y, z, volume_capacity_m3,
                       weight_capacity_kg, location_type)
  select z.warehouse_id, z.id, 'L' || g, 1, g, 1, 0, 0, 0, 1, 100, 'pick_face'
  from zones z, generate_series(1, 5) g;
insert into items (code, name, category, family, unit_cost, list_price)
  select 'I' || g, 'Item ' || g, 'cat', 'fam', g * 1.25, g * 2.5 from generate_series(1, 20) g;
insert into customers (code, name, lat, lon) select 'C' || g, 'Customer ' || g, 50, 8 from generate_series(1, 20) g;
"""


def add_orders(uri: str, n: int, lines: int = 2) -> None:
    """Insert ``n`` orders with ``lines`` lines each and one ledger row and one event per line."""
    with psycopg.connect(uri) as conn:
        conn.execute(
            """
            with o as (
              insert into orders (order_number, customer_id, warehouse_id, ordered_at)
              select 'O-' || gen_random_uuid(), (select min(id) from customers) + (g %% 20),
                     (select min(id) from warehouses), now() - (g || ' hours')::interval
              from generate_series(1, %(n)s) g
              returning id, ordered_at
            ), l as (
              insert into order_lines (order_id, line_number, item_id, quantity_ordered, unit_price)
              select o.id, k, (select min(id) from items) + ((o.id + k) %% 20), 1 + (o.id %% 5), 9.99
              from o, generate_series(1, %(lines)s) k
              returning id, order_id, item_id, quantity_ordered
            ), e as (
              insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at)
              select 'order', l.order_id::text, 'order.line_added',
                     jsonb_build_object('line', l.id, 'qty', l.quantity_ordered), now()
              from l returning id
            )
            insert into inventory_ledger (occurred_at, warehouse_id, location_id, item_id, quantity_delta, reason)
            select now() - (l.id || ' minutes')::interval, (select min(id) from warehouses),
                   (select min(id) from locations), l.item_id, -l.quantity_ordered, 'pick'
            from l
            """,
            {"n": n, "lines": lines},
        )


CORE = [
    "oltp__orders",
    "oltp__order_lines",
    "oltp__events",
    "oltp__inventory_ledger",
    "oltp__order_status_history",
]


def settings_for(uri: str, lake: Path):
    """Settings pointing at the test database and lake."""
    from stockyard.settings import Settings

    return Settings(home=lake.parent / "home", pg_dsn=uri, lake_root=lake)


def assert_reconciled(uri: str, lake: Path, tables: list[str]) -> None:
    """Every table's live rows and key checksum equal the source's."""
    from ingest.reconcile import reconcile

    results = reconcile(uri, lake, tables)
    bad = [r for r in results if not r.ok]
    assert not bad, bad
