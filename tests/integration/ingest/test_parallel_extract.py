"""Full loads split over helper connections on one exported snapshot, and the threaded (prefetching) stream."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from ingest import extract
from ingest.run import ingest_table
from ingest.tables import get_table
from integration.ingest.ingest_helpers import add_orders, assert_reconciled

LEDGER = "oltp__inventory_ledger"
LINES = "oltp__order_lines"


def _ids(conn, table, sql: str, parallel) -> list[int]:  # noqa: ANN001
    schema = pa.schema([pa.field("id", pa.int64())])
    reader = extract.stream_query(
        conn, sql, schema, lambda b: [b.column(0).cast(pa.int64())], parallel=parallel
    )
    return sorted(reader.read_all().column("id").to_pylist())


def test_split_read_sees_exactly_the_snapshot(seeded: str) -> None:
    add_orders(seeded, 150, lines=3)
    table = get_table("inventory_ledger")
    conn = extract.connect(seeded)
    try:
        with extract.open_snapshot(conn, seeded) as snap:
            before = extract.read_query(conn, "select id from inventory_ledger").column("id").to_pylist()
            # Committed after the snapshot was taken: neither the main nor the helper connections may see it.
            add_orders(seeded, 5)
            sql, parallel = extract.parallel_sources(
                conn, snap, table, lambda w: f"select id from inventory_ledger where {w}", "true", 3, 0
            )
            assert len(parallel) == 2 and "ctid" in sql
            assert _ids(conn, table, sql, parallel) == sorted(before)
        # The helpers were closed with the stream; the main connection is free again.
        with psycopg.connect(seeded) as pg:
            assert pg.execute("select count(*) from inventory_ledger").fetchone()[0] == len(before) + 10
    finally:
        conn.close()


def test_small_tables_are_not_split(seeded: str) -> None:
    conn = extract.connect(seeded)
    try:
        with extract.open_snapshot(conn, seeded) as snap:
            sql, parallel = extract.parallel_sources(
                conn, snap, get_table("orders"), lambda w: f"select id from orders where {w}", "true"
            )
            assert parallel == [] and "ctid" not in sql
    finally:
        conn.close()


def test_full_loads_split_over_connections_reconcile(
    seeded: str, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(extract, "PARALLEL_STREAMS", 3)
    add_orders(seeded, 80, lines=3)
    for name in ("inventory_ledger", "order_lines"):
        assert ingest_table(name, uri=seeded, lake_root=lake).rows_read > 200
    assert_reconciled(seeded, lake, [LEDGER, LINES])
    # Incremental runs after a split first load take only the new rows.
    add_orders(seeded, 4)
    assert ingest_table("inventory_ledger", uri=seeded, lake_root=lake).rows_read == 8
    assert_reconciled(seeded, lake, [LEDGER])


def test_a_failing_stream_raises_and_releases_its_connections(seeded: str) -> None:
    conn = extract.connect(seeded)
    try:
        schema = pa.schema([pa.field("x", pa.int64())])
        # The division fails on the server part-way through the stream (in the producer thread).
        sql = "select (1 / (g - 3000))::int8 as x from generate_series(1, 5000) g"

        def finish(b: pa.RecordBatch) -> list[pa.Array]:
            return [b.column(0)]

        with pytest.raises(Exception, match="division by zero"):
            extract.stream_query(conn, sql, schema, finish).read_all()
        assert extract.read_query(conn, "select 1::int8 as one").column("one").to_pylist() == [1]
    finally:
        conn.close()
