"""Incremental builds equal full rebuilds, and publish_bronze merges only what changed."""

from __future__ import annotations

import datetime as dt
import shutil

import psycopg

from stockyard.dbt import run_dbt
from stockyard.settings import Settings

INCREMENTAL_MARTS = [
    "fct_order_lines", "fct_orders", "fct_shipments", "fct_tracking_events", "fct_inventory_daily",
    "fct_demand_daily", "fct_otif_weekly", "fct_inventory_health", "dim_item_abc_xyz",
]  # fmt: skip


def test_incremental_build_equals_full_refresh(dbt_built, fingerprint, tmp_path):
    from factories.bronze import changed_rows, write_bronze

    from ingest.publish_pg import publish_bronze

    # Copy the built lake + warehouse, apply the last days of history as an increment.
    inc = Settings(home=tmp_path / "inc", pg_dsn=dbt_built.pg_uri)
    shutil.copytree(dbt_built.settings.lake_root, inc.lake_root)
    shutil.copy(dbt_built.settings.duckdb_path, inc.duckdb_path)
    before = dbt_built.history.as_of(dbt_built.cutoff)
    after = dbt_built.history.as_of()
    delta = changed_rows(before, after)
    assert {"orders", "order_lines", "shipments", "inventory_ledger"} <= set(delta)
    write_bronze(inc.lake_root, delta, ingested_at=dt.datetime.now(dt.UTC), mode="merge")

    run_dbt(["run"], inc, target="duckdb")
    incremental = fingerprint.duckdb(inc.duckdb_path, INCREMENTAL_MARTS)

    full = Settings(home=tmp_path / "full", pg_dsn=dbt_built.pg_uri)
    shutil.copytree(inc.lake_root, full.lake_root)
    run_dbt(
        ["build", "--full-refresh", "--exclude-resource-type", "test", "unit_test"], full, target="duckdb"
    )
    rebuilt = fingerprint.duckdb(full.duckdb_path, INCREMENTAL_MARTS)
    assert incremental["fct_order_lines"]["rows"] > 0
    fingerprint.assert_equal(incremental, rebuilt)

    # The PostgreSQL copy of bronze takes the same increment by merging, and equals Delta afterwards.
    results = {r.table: r for r in publish_bronze(inc.lake_root, dbt_built.pg_uri)}
    assert results["oltp__order_lines"].mode == "merged"
    assert results["oltp__order_lines"].rows == delta["order_lines"].num_rows
    assert results["oltp__carriers"].mode == "skipped"
    from deltalake import DeltaTable

    with psycopg.connect(dbt_built.pg_uri) as conn:
        for name in ("oltp__order_lines", "oltp__shipments", "oltp__inventory_ledger"):
            in_pg = conn.execute(f"select count(*), count(distinct id) from bronze.{name}").fetchone()
            in_delta = DeltaTable(str(inc.lake_root / "bronze" / name)).to_pyarrow_table().num_rows
            assert in_pg == (in_delta, in_delta), name
