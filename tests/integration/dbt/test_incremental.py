"""Incremental builds (with deletions) equal full rebuilds on both engines; publish_bronze merges only what changed."""

from __future__ import annotations

import duckdb
import psycopg
from deltalake import DeltaTable

from stockyard.dbt import mart_names

INCREMENTAL_MARTS = [
    "fct_order_lines", "fct_orders", "fct_shipments", "fct_tracking_events", "fct_inventory_daily",
    "fct_demand_daily", "fct_otif_weekly", "fct_inventory_health", "dim_item_abc_xyz", "fct_carrier_scorecard",
    "fct_lane_performance", "fct_returns",
]  # fmt: skip
#: Marts an incremental run refreshes by watermark (macros/incremental_periods.sql), with the column it replaces by:
#: the aggregates by period, fct_returns by return line.
WATERMARKED_MARTS = {
    "fct_otif_weekly": "week_start",
    "fct_carrier_scorecard": "month_start",
    "fct_lane_performance": "month_start",
    "fct_returns": "return_line_id",
}


def test_incremental_duckdb_build_equals_full_refresh(dbt_built, fingerprint):
    incremental = fingerprint.duckdb(dbt_built.settings.duckdb_path)
    rebuilt = fingerprint.duckdb(dbt_built.full.duckdb_path)
    assert set(INCREMENTAL_MARTS) <= set(rebuilt)
    assert incremental["fct_order_lines"]["rows"] > 1000
    fingerprint.assert_equal(incremental, rebuilt)


def test_incremental_duckdb_marts_equal_full_refresh_row_by_row(dbt_built):
    """Every row, not just aggregates: a column copied from a dimension that changed (e.g. the ABC class of old demand
    days) sums and counts the same while rows disagree. Doubles compared to 6 decimals."""
    with duckdb.connect(str(dbt_built.full.duckdb_path), read_only=True) as con:
        con.execute(f"attach '{dbt_built.settings.duckdb_path}' as incremental (read_only)")
        differing = {}
        for mart in INCREMENTAL_MARTS:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = current_database() and table_schema = 'marts' and table_name = ? "
                "and column_name not like '\\_%' escape '\\' order by ordinal_position",
                [mart],
            ).fetchall()
            select = ", ".join(f"round({c}, 6)" if t == "DOUBLE" else c for c, t in columns)
            n = con.execute(
                f"select count(*) from ((select {select} from marts.{mart} except all "
                f"select {select} from incremental.marts.{mart}) union all (select {select} from "
                f"incremental.marts.{mart} except all select {select} from marts.{mart}))"
            ).fetchone()[0]
            if n:
                differing[mart] = n
    assert differing == {}


def test_incremental_postgres_build_equals_duckdb_full_refresh(dbt_built, fingerprint):
    marts = mart_names(dbt_built.full, target="duckdb")
    fingerprint.assert_equal(
        fingerprint.postgres(dbt_built.pg_uri, marts), fingerprint.duckdb(dbt_built.full.duckdb_path, marts)
    )


def test_watermarked_marts_recompute_only_what_changed(dbt_built):
    """The run with deletions recomputed every period (return line); the last run (new and changed rows only) the
    changed ones: the others still carry the watermark of the run before. That the result equals a full rebuild is
    tested above. The last run's watermark is that of fct_otif_weekly, which every run changes (its as-of moves);
    return lines may have had no change in it."""
    latest = "(select max(_watermark) from marts.fct_otif_weekly)"
    for mart, period in WATERMARKED_MARTS.items():
        query = f"""
            select count(distinct {period}), count(distinct case when _watermark = {latest} then {period} end)
            from marts.{mart}"""
        with duckdb.connect(str(dbt_built.settings.duckdb_path), read_only=True) as con:
            on_duckdb = con.execute(query).fetchall()[0]
        with psycopg.connect(dbt_built.pg_uri) as conn:
            on_postgres = conn.execute(query).fetchone()
        periods, refreshed = on_duckdb
        assert refreshed < periods, (mart, on_duckdb)
        if mart != "fct_returns":
            assert refreshed > 0, (mart, on_duckdb)
        assert on_postgres == on_duckdb, mart


def test_deleted_rows_leave_the_incremental_facts(dbt_built):
    order_id, line_id = dbt_built.deleted_order_id, dbt_built.deleted_line_id
    # The deleted order (with its shipments) and the deleted line were in the facts before the increment.
    assert dbt_built.rows_before_delete["fct_orders"] == 1
    assert dbt_built.rows_before_delete["fct_shipments"] >= 1
    assert dbt_built.rows_before_delete["fct_order_lines"] >= 2
    queries = {
        "fct_order_lines": "select count(*) from marts.fct_order_lines where order_id = {o} or order_line_id = {l}",
        "fct_orders": "select count(*) from marts.fct_orders where order_id = {o}",
        "fct_shipments": "select count(*) from marts.fct_shipments where order_id = {o}",
    }
    with duckdb.connect(str(dbt_built.settings.duckdb_path), read_only=True) as con:
        on_duckdb = {
            m: con.execute(q.format(o=order_id, l=line_id)).fetchall()[0][0] for m, q in queries.items()
        }
    with psycopg.connect(dbt_built.pg_uri) as conn:
        on_postgres = {
            m: conn.execute(q.format(o=order_id, l=line_id)).fetchone()[0] for m, q in queries.items()
        }
    assert on_duckdb == on_postgres == dict.fromkeys(queries, 0)


def test_publish_bronze_merged_only_the_increment(dbt_built):
    results = dbt_built.publish_increment
    assert results["oltp__order_lines"].mode == "merged"
    assert results["oltp__carriers"].mode == "skipped"
    lake = dbt_built.settings.lake_root / "bronze"
    with psycopg.connect(dbt_built.pg_uri) as conn:
        for name in ("oltp__order_lines", "oltp__shipments", "oltp__inventory_ledger"):
            in_pg = conn.execute(
                f"select count(*), count(distinct id), count(*) filter (where _is_deleted) from bronze.{name}"
            ).fetchone()
            table = DeltaTable(str(lake / name)).to_pyarrow_table(columns=["id", "_is_deleted"])
            deleted = sum(table.column("_is_deleted").to_pylist())
            assert in_pg == (table.num_rows, table.num_rows, deleted), name


def test_published_bronze_finds_tombstones_by_index(dbt_built):
    """stg_oltp__tombstones reads `_is_deleted = true` of each table it draws tombstones from, the whole table while
    that table has none yet; a partial index keeps the read from scanning it (5M rows at the benchmark's scale)."""
    with psycopg.connect(dbt_built.pg_uri) as conn:
        conn.execute("set enable_seqscan = off")
        for name in ("oltp__order_lines", "oltp__inventory_ledger"):
            plan = conn.execute(f"explain select * from bronze.{name} where _is_deleted = true").fetchall()
            assert f"ix_{name}_deleted" in "\n".join(row[0] for row in plan), name


INCREMENTAL_STAGING = [
    "stg_oltp__orders", "stg_oltp__order_lines", "stg_oltp__reservations", "stg_oltp__pick_tasks",
    "stg_oltp__shipment_lines", "stg_oltp__shipments", "stg_oltp__tracking_events", "stg_oltp__inventory_ledger",
    "stg_oltp__tombstones",
]  # fmt: skip


def test_incremental_staging_tables_equal_a_full_rebuild(dbt_built):
    """The staging tables fed only the rows ingested since their watermark (updates, inserts, tombstones) hold
    exactly what a rebuild from the whole of bronze holds."""

    def contents(path, model: str) -> list[tuple]:
        with duckdb.connect(str(path), read_only=True) as con:
            materialized = con.execute(
                "select table_type from information_schema.tables where table_schema = 'staging' and table_name = ?",
                [model],
            ).fetchall()
            assert materialized == [("BASE TABLE",)], model
            return con.execute(f"select * from staging.{model} order by all").fetchall()

    deleted = dbt_built.deleted_line_id
    for model in INCREMENTAL_STAGING:
        incremental = contents(dbt_built.settings.duckdb_path, model)
        assert incremental, model
        assert incremental == contents(dbt_built.full.duckdb_path, model), model
    lines = contents(dbt_built.settings.duckdb_path, "stg_oltp__order_lines")
    assert deleted not in {row[0] for row in lines}  # the tombstoned line left staging


def test_postgres_tables_carry_statistics_of_their_last_run(dbt_built):
    """Every table the last PostgreSQL run built or changed was analysed in that run, after its rows landed (post-hook
    analyze_built_table, in the model's transaction: ANALYZE samples the transaction's own new rows), so the models
    after it planned with its new rows: against older statistics the changed keys were estimated at one row and the
    incremental facts chose nested loops (minutes at the benchmark's scale). `last_analyze` is set by ANALYZE only,
    never by autovacuum; the run's start is the `_computed_at` it stamped on the days it recomputed."""
    tables = [("staging", model) for model in INCREMENTAL_STAGING] + [
        ("marts", mart)
        for mart in ("fct_order_lines", "fct_shipments", "fct_inventory_daily", "fct_sop_monthly")
    ]
    with psycopg.connect(dbt_built.pg_uri) as conn:
        for schema, table in tables:
            analysed_in_last_run = conn.execute(
                "select coalesce(last_analyze >= (select max(_computed_at) from marts.fct_inventory_daily) "
                "at time zone 'UTC', false) from pg_stat_user_tables where schemaname = %s and relname = %s",
                (schema, table),
            ).fetchone()
            assert analysed_in_last_run == (True,), table
        views = conn.execute(
            "select count(*) from pg_stat_user_tables where schemaname = 'staging' and relname = 'stg_oltp__items'"
        ).fetchone()
        assert views == (0,)  # a view: no table, no statistics
