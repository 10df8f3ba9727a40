"""The built project (see conftest): contract, invariants, gold export, docs, source freshness, BI role."""

from __future__ import annotations

import json

import duckdb
import psycopg
import pytest

from stockyard.dbt import BI_ROLE, export_gold, mart_names, run_dbt

EXPECTED_MARTS = {
    "fct_orders", "fct_order_lines", "fct_otif_weekly", "fct_backorders", "fct_returns",
    "fct_inventory_daily", "dim_items", "dim_locations", "dim_item_abc_xyz", "fct_inventory_health",
    "fct_shipments", "fct_carrier_scorecard", "fct_lane_performance", "fct_tracking_events",
    "fct_cold_chain_excursions", "fct_demand_daily", "fct_pick_velocity", "fct_sop_monthly",
    "dim_date", "dim_warehouses", "dim_carriers", "dim_customers",
}  # fmt: skip
# The forecasting contract (ml.forecasting reads exactly these names).
DEMAND_COLUMNS = [
    "item", "warehouse", "date", "quantity", "is_stockout", "unit_price", "is_promo", "category",
    "abc_class", "day_of_week", "month", "is_holiday",
]  # fmt: skip


def test_builds_ran_every_data_and_unit_test(dbt_built):
    for engine, result in dbt_built.build_results.items():
        kinds = {}
        for r in result.result.results:
            kinds.setdefault(r.node.resource_type, set()).add(str(r.status))
        assert kinds["test"] == {"pass"}, engine
        assert kinds["unit_test"] == {"pass"}, engine
        names = {r.node.name for r in result.result.results}
        assert "fct_inventory_daily_reserved_within_on_hand" in names, engine


def test_duckdb_build_has_every_mart_with_rows(dbt_built):
    from deltalake import DeltaTable

    marts = set(mart_names(dbt_built.settings, target="duckdb"))
    assert EXPECTED_MARTS <= marts
    # Staging and sources are views over Delta inside dbt runs only: outside readers use marts (or the lake).
    ledger = DeltaTable(str(dbt_built.settings.bronze_dir / "oltp__inventory_ledger")).to_pyarrow_table(
        columns=["quantity_delta", "_is_deleted"]
    )
    ledger_total = sum(
        q
        for q, gone in zip(*(ledger.column(c).to_pylist() for c in ledger.column_names), strict=True)
        if not gone
    )
    with duckdb.connect(str(dbt_built.settings.duckdb_path), read_only=True) as con:
        empty = [
            m
            for m in sorted(EXPECTED_MARTS)
            if con.execute(f"select count(*) from marts.{m}").fetchall()[0][0] == 0
        ]
        assert empty == []
        columns = [r[0] for r in con.execute("select * from marts.fct_demand_daily limit 0").description]
        assert columns[: len(DEMAND_COLUMNS)] == DEMAND_COLUMNS
        # Dense grid: every item × warehouse has one row per day from its first activity to the last day.
        gaps = con.execute(
            "select count(*) from (select item, warehouse, count(*) as n, "
            "datediff('day', min(date), max(date)) + 1 as span from marts.fct_demand_daily group by 1, 2) "
            "where n <> span"
        ).fetchall()[0][0]
        assert gaps == 0
        # Inventory positions reconcile with the ledger; reserved is never negative nor above on hand.
        last_on_hand, bad_reserved = con.execute(
            "select sum(on_hand) filter (where inventory_date = (select max(inventory_date) "
            "from marts.fct_inventory_daily)), count(*) filter (where reserved < 0 or reserved > on_hand) "
            "from marts.fct_inventory_daily"
        ).fetchall()[0]
        assert ledger_total == last_on_hand
        assert bad_reserved == 0


def test_gold_parquet_readable_by_polars_and_duckdb(dbt_built):
    import polars as pl

    paths = export_gold(dbt_built.settings, target="duckdb")
    assert {p.stem for p in paths} >= EXPECTED_MARTS
    demand = pl.read_parquet(dbt_built.settings.gold_dir / "fct_demand_daily.parquet")
    assert demand.columns[: len(DEMAND_COLUMNS)] == DEMAND_COLUMNS
    assert demand.schema["date"] == pl.Date and demand.schema["quantity"] == pl.Float64
    with duckdb.connect(str(dbt_built.settings.duckdb_path), read_only=True) as con:
        for path in paths:
            in_mart = con.execute(f"select count(*) from marts.{path.stem}").fetchall()[0][0]
            in_file = con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchall()[0][0]
            assert in_file == in_mart, path.stem


def test_bi_role_reads_marts_only(dbt_built):
    from stockyard.dbt import ensure_bi_role
    from stockyard.pg import with_database

    ensure_bi_role(dbt_built.settings)
    ensure_bi_role(dbt_built.settings)  # idempotent
    from urllib.parse import urlsplit

    parts = urlsplit(dbt_built.pg_uri)
    password = dbt_built.settings.bi_password.get_secret_value()
    bi_uri = with_database(
        f"postgresql://{BI_ROLE}:{password}@{parts.hostname}:{parts.port}/x", parts.path[1:]
    )
    with psycopg.connect(bi_uri, autocommit=True) as conn:
        assert conn.execute("select count(*) from marts.fct_orders").fetchone()[0] > 0
        # BI tools show the model and column descriptions: dbt persists them as comments the role can read.
        table_doc, column_doc = conn.execute(
            "select obj_description('marts.fct_orders'::regclass, 'pg_class'), "
            "col_description('marts.fct_orders'::regclass, "
            "(select attnum from pg_attribute where attrelid = 'marts.fct_orders'::regclass and attname = 'order_id'))"
        ).fetchone()
        assert table_doc and table_doc.startswith("One row per")
        assert column_doc
        for forbidden in ("select * from public.orders", "select * from bronze.oltp__orders",
                          "select * from staging.stg_oltp__orders", "select * from sim.expected_demand"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(forbidden)
        for write in ("delete from marts.fct_orders", "create table marts.bi_scratch (x int)",
                      "create temporary table bi_scratch (x int)",
                      "insert into marts.dim_carriers (carrier_id) values (999)"):  # fmt: skip
            with pytest.raises((psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege)):
                conn.execute(write)
        # Read-only is a default the role could lift; privileges must hold without it.
        conn.execute("set default_transaction_read_only = off")
        for write in ("delete from marts.fct_orders", "create table marts.bi_scratch (x int)",
                      "create table public.bi_scratch (x int)", "create temporary table bi_scratch (x int)"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(write)
    # Tables the dbt role creates after the grant are readable too (default privileges; what every dbt run does).
    with psycopg.connect(dbt_built.pg_uri, autocommit=True) as conn:
        conn.execute("create table marts.bi_probe as select 1 as x")
    try:
        with psycopg.connect(bi_uri) as conn:
            assert conn.execute("select count(*) from marts.bi_probe").fetchone()[0] == 1
    finally:
        with psycopg.connect(dbt_built.pg_uri, autocommit=True) as conn:
            conn.execute("drop table marts.bi_probe")


def test_docs_generate_documents_every_column(dbt_built):
    # The full build left its manifest: only the catalog is new.
    result = run_dbt(["docs", "generate", "--no-compile"], dbt_built.full, target="duckdb")
    assert result.success
    target = dbt_built.full.home / "dbt" / "duckdb" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    undocumented = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        assert node["description"], f"{node['name']} has no description"
        if node["config"]["materialized"] == "ephemeral":
            continue
        built = {c.lower() for c in catalog["nodes"][uid]["columns"]}
        documented = {c.lower() for c, meta in node["columns"].items() if meta.get("description")}
        undocumented += [f"{node['name']}.{c}" for c in sorted(built - documented)]
    assert undocumented == []


def test_source_freshness_passes_on_fresh_bronze(dbt_built):
    result = run_dbt(["source", "freshness"], dbt_built.settings, target="duckdb")
    statuses = {
        r.node.unique_id: str(r.status)
        for r in result.result.results
        if r.node.unique_id.startswith("source.")
    }
    # Every source with a freshness policy was checked on its _ingested_at and is fresh (ingested by this session).
    checked = {
        "source.stockyard.oltp.orders",
        "source.stockyard.oltp.order_lines",
        "source.stockyard.feeds.telemetry",
    }
    assert checked <= set(statuses), sorted(statuses)
    assert set(statuses.values()) == {"pass"}, statuses
    assert "source.stockyard.oltp.carriers" not in statuses  # reference data: freshness switched off
