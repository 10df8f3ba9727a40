"""Bronze layout (monthly partitions, old daily tables rewritten) and the range-restricted merge's correctness."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake

from ingest import extract, run
from ingest.run import ingest_table
from ingest.state import commit_properties, read_watermark
from integration.ingest.ingest_helpers import add_orders, assert_reconciled

LEDGER = "oltp__inventory_ledger"
LINES = "oltp__order_lines"


def _add_old_ledger_rows(uri: str) -> None:
    """Ledger rows spread over three months (plus the helper's recent ones)."""
    with psycopg.connect(uri) as conn:
        conn.execute(
            "insert into inventory_ledger (occurred_at, warehouse_id, location_id, item_id, quantity_delta, reason) "
            "select timestamptz '2024-01-31 23:30:00+00' + (g * interval '20 days'), (select min(id) from warehouses), "
            "(select min(id) from locations), (select min(id) from items), 1, 'receipt' from generate_series(0, 2) g"
        )


def test_append_tables_are_partitioned_by_month_with_the_event_date_kept(seeded: str, lake: Path) -> None:
    _add_old_ledger_rows(seeded)
    ingest_table("inventory_ledger", uri=seeded, lake_root=lake)
    table = DeltaTable(str(lake / "bronze" / LEDGER))
    assert table.metadata().partition_columns == ["_partition_month"]
    ledger = pl.read_delta(str(lake / "bronze" / LEDGER))
    assert ledger["_partition_date"].null_count() == 0
    assert (ledger["_partition_date"] == ledger["occurred_at"].dt.date()).all()
    assert (ledger["_partition_month"] == ledger["_partition_date"].dt.month_start()).all()
    months = {dict(p)["_partition_month"] for p in table.partitions()}
    assert {"2024-01-01", "2024-02-01", "2024-03-01"} <= months
    assert_reconciled(seeded, lake, [LEDGER])


def test_daily_partitioned_table_is_rewritten_monthly_keeping_rows_and_watermark(
    seeded: str, lake: Path
) -> None:
    _add_old_ledger_rows(seeded)
    ingest_table("inventory_ledger", uri=seeded, lake_root=lake)
    uri = str(lake / "bronze" / LEDGER)
    # Recreate the table as the previous release wrote it: daily partitions, no _partition_month.
    old = DeltaTable(uri)
    wm = read_watermark(old)
    data = old.to_pyarrow_table().drop_columns(["_partition_month"])
    write_deltalake(
        uri,
        data,
        mode="overwrite",
        schema_mode="overwrite",
        partition_by=["_partition_date"],
        commit_properties=commit_properties(wm),
    )
    assert DeltaTable(uri).metadata().partition_columns == ["_partition_date"]
    add_orders(seeded, 3)
    result = ingest_table("inventory_ledger", uri=seeded, lake_root=lake)
    assert result.rows_written == 6  # only the new rows: the watermark survived the rewrite
    table = DeltaTable(uri)
    assert table.metadata().partition_columns == ["_partition_month"]
    ledger = pl.read_delta(uri)
    assert ledger["id"].is_duplicated().sum() == 0
    assert (ledger["_partition_month"] == ledger["_partition_date"].dt.month_start()).all()
    assert_reconciled(seeded, lake, [LEDGER])


def _many_line_files(seeded: str, lake: Path, monkeypatch: pytest.MonkeyPatch) -> DeltaTable:
    add_orders(seeded, 1500, lines=2)  # 3,000+ lines
    # Tiny files so the table spans several (deltalake cuts files per 1,024-row write batch at the earliest).
    monkeypatch.setattr(run, "MERGE_FILE_SIZE_MIN", 1)
    monkeypatch.setattr(run, "MERGE_FILE_SIZE_MAX", 1)
    # No safety margin on the time horizon: the rows were just written, and the next run must not re-read them
    # all as its overlap window (nothing else writes to this database).
    monkeypatch.setattr(extract, "TIME_HORIZON_MARGIN", dt.timedelta(0))
    ingest_table("order_lines", uri=seeded, lake_root=lake)
    table = DeltaTable(str(lake / "bronze" / LINES))
    assert len(table.file_uris()) >= 3
    return table


def _last_merge_metrics(lake: Path) -> dict:
    return DeltaTable(str(lake / "bronze" / LINES)).history(1)[0]["operationMetrics"]


@pytest.mark.parametrize("max_ranges", [32, 1])
def test_merge_restricted_to_key_ranges_lands_old_and_new_changes(
    seeded: str, lake: Path, monkeypatch: pytest.MonkeyPatch, max_ranges: int
) -> None:
    _many_line_files(seeded, lake, monkeypatch)
    monkeypatch.setattr(run, "RANGE_BUCKET", 64)  # the test table's ids fit one default bucket
    monkeypatch.setattr(run, "MAX_RANGES", max_ranges)  # 1: the ranges are joined into one
    with psycopg.connect(seeded) as conn:
        oldest, newest = conn.execute("select min(id), max(id) from order_lines").fetchone()
        conn.execute("update order_lines set quantity_cancelled = 1 where id in (%s, %s)", (oldest, newest))
        conn.execute("delete from order_lines where id = %s", (oldest + 1,))
    add_orders(seeded, 2)
    result = ingest_table("order_lines", uri=seeded, lake_root=lake)
    assert result.rows_written == 2 + 1 + 4  # two updates, one tombstone, four new lines
    lines = pl.read_delta(str(lake / "bronze" / LINES))
    assert lines.filter(pl.col("id").is_in([oldest, newest]))["quantity_cancelled"].to_list() == [1, 1]
    assert lines.filter(pl.col("id") == oldest + 1)["_is_deleted"].to_list() == [True]
    assert lines["id"].is_duplicated().sum() == 0
    assert_reconciled(seeded, lake, [LINES])
    metrics = _last_merge_metrics(lake)
    if max_ranges > 1:
        # the first and the last file were opened, the files between them were skipped
        assert metrics["num_target_files_skipped_during_scan"] >= 1


def test_recent_update_rewrites_only_the_files_it_touches(
    seeded: str, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _many_line_files(seeded, lake, monkeypatch)
    n_files = len(before.file_uris())
    with psycopg.connect(seeded) as conn:
        conn.execute(
            "update order_lines set quantity_cancelled = 1 where id > (select max(id) from order_lines) - 10"
        )
    assert ingest_table("order_lines", uri=seeded, lake_root=lake).rows_written == 10
    metrics = _last_merge_metrics(lake)
    assert metrics["num_source_rows"] == 10
    assert metrics["num_target_files_scanned"] <= 2 < n_files
    assert metrics["num_target_rows_copied"] < 3000
    assert_reconciled(seeded, lake, [LINES])


def test_merge_table_records_its_file_size(seeded: str, lake: Path) -> None:
    ingest_table("order_lines", uri=seeded, lake_root=lake)
    config = DeltaTable(str(lake / "bronze" / LINES)).metadata().configuration
    assert int(config["delta.targetFileSize"]) == run.MERGE_FILE_SIZE_MIN  # a small table: the floor


def test_numeric_values_are_exact_in_bronze(seeded: str, lake: Path) -> None:
    with psycopg.connect(seeded) as conn:
        conn.execute(
            "update order_lines set unit_price = 1234567890.1234 where id = (select min(id) from order_lines)"
        )
        conn.execute(
            "update order_lines set unit_price = 0.0001 where id = (select max(id) from order_lines)"
        )
    ingest_table("order_lines", uri=seeded, lake_root=lake)
    prices = DeltaTable(str(lake / "bronze" / LINES)).to_pyarrow_table().column("unit_price")
    assert prices.type == pa.decimal128(14, 4)
    values = set(prices.to_pylist())
    from decimal import Decimal

    assert {Decimal("1234567890.1234"), Decimal("0.0001")} <= values
    assert pc.min(prices).as_py() >= 0


def test_status_history_backfilled_txid_matches_xmin(pg_uri: str, lake: Path) -> None:
    from integration.ingest.ingest_helpers import MASTER_SQL
    from oltp.migrate import downgrade, upgrade

    downgrade(pg_uri, "0003")
    with psycopg.connect(pg_uri) as conn:
        conn.execute(MASTER_SQL)
    add_orders(pg_uri, 2)
    with psycopg.connect(pg_uri) as conn:
        conn.execute(
            "insert into order_status_history (order_id, to_status, changed_at) select id, 'allocated', now() from orders"
        )
        before = dict(conn.execute("select id, xmin::text::int8 from order_status_history").fetchall())
    upgrade(pg_uri)
    with psycopg.connect(pg_uri) as conn:
        after = dict(conn.execute("select id, txid from order_status_history").fetchall())
        conn.execute(
            "insert into order_status_history (order_id, to_status, changed_at) select id, 'picked', now() from orders"
        )
        fresh = conn.execute(
            "select distinct txid = pg_current_xact_id()::text::int8 from order_status_history where to_status = 'picked'"
        ).fetchall()
    assert after == before  # the 64-bit xid of each row's writer (epoch 0 on a test cluster)
    assert fresh == [(True,)]
    ingest_table("order_status_history", uri=pg_uri, lake_root=lake)
    assert_reconciled(pg_uri, lake, ["oltp__order_status_history"])
    assert (
        dt.date.today()
        >= pl.read_delta(str(lake / "bronze" / "oltp__order_status_history"))["_partition_date"].max()
    )
