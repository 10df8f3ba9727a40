"""Inserts, updates and deletes between runs land in bronze; a run with no changes writes nothing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import psycopg
from deltalake import DeltaTable

from ingest.run import ingest_table, run_ingest
from ingest.state import read_watermark
from integration.ingest.ingest_helpers import CORE, add_orders, assert_reconciled, settings_for


def _versions(lake: Path) -> dict[str, int]:
    bronze = lake / "bronze"
    return {p.name: DeltaTable(str(p)).version() for p in bronze.iterdir() if (p / "_delta_log").is_dir()}


def test_full_then_incremental_with_updates_and_deletes(seeded: str, lake: Path) -> None:
    settings = settings_for(seeded, lake)
    report = run_ingest(settings, feeds=False)
    assert report.ok, report.failed
    # every registered table exists in bronze after the first run, even empty ones
    assert (lake / "bronze" / "oltp__pick_tasks" / "_delta_log").is_dir()
    assert (lake / "bronze" / "sim__expected_demand" / "_delta_log").is_dir()
    assert_reconciled(seeded, lake, CORE + ["oltp__items", "oltp__customers"])

    with psycopg.connect(seeded) as conn:
        conn.execute(
            "update order_lines set quantity_cancelled = 1 where id in (select min(id) from order_lines)"
        )
        deleted = conn.execute(
            "delete from order_lines where id = (select max(id) from order_lines) returning id"
        ).fetchone()[0]
        conn.execute(
            "insert into order_status_history (order_id, to_status, changed_at) select id, 'allocated', now() from orders limit 3"
        )
    add_orders(seeded, 4)
    report = run_ingest(settings, tables=CORE, feeds=False)
    assert report.ok, report.failed
    written = {r.table: r.rows_written for r in report.results}
    assert written["oltp__orders"] == 4
    assert written["oltp__order_lines"] == 8 + 1 + 1  # new lines, one update, one tombstone
    assert written["oltp__order_status_history"] == 3
    assert_reconciled(seeded, lake, CORE)

    lines = pl.read_delta(str(lake / "bronze" / "oltp__order_lines"))
    tomb = lines.filter(pl.col("id") == deleted)
    assert tomb["_is_deleted"].to_list() == [True] and tomb["_op"].to_list() == ["delete"]
    updated = lines.filter(pl.col("quantity_cancelled") == 1)
    assert updated["_op"].to_list() == ["update"]
    assert lines.filter(pl.col("id").is_duplicated()).height == 0
    ledger = pl.read_delta(str(lake / "bronze" / "oltp__inventory_ledger"))
    assert ledger["_partition_date"].null_count() == 0
    assert ledger.schema["occurred_at"] == pl.Datetime("us", "UTC")
    assert lines.schema["unit_price"] == pl.Decimal(14, 4)


def test_rerun_without_changes_writes_nothing(seeded: str, lake: Path) -> None:
    settings = settings_for(seeded, lake)
    assert run_ingest(settings, feeds=False).ok
    before = _versions(lake)
    report = run_ingest(settings, feeds=False)
    assert report.ok
    assert _versions(lake) == before
    assert all(r.rows_written == 0 for r in report.results)


def test_watermark_is_in_the_commit(seeded: str, lake: Path) -> None:
    result = ingest_table("events", uri=seeded, lake_root=lake)
    wm = read_watermark(str(lake / "bronze" / "oltp__events"))
    assert wm is not None and wm.xid > 0 and result.watermark == wm.describe()
    history = DeltaTable(str(lake / "bronze" / "oltp__events")).history()
    assert "stockyard.watermark" in history[0]
