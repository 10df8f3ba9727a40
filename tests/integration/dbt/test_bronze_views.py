"""The DuckDB bronze views (stockyard/dbt_bronze.py) over real Delta tables: current version, empty and evolved
tables, tables gone from the lake, and readers outside dbt."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from stockyard.dbt import run_dbt
from stockyard.dbt_bronze import create_bronze_views
from stockyard.settings import Settings

TS = pa.timestamp("us", tz="UTC")


def _rows(ids: list[int], status: str) -> pa.Table:
    at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "status": pa.array([status] * len(ids), pa.string()),
            "_ingested_at": pa.array([at] * len(ids), TS),
        }
    )


def _view(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    return con.execute(f'select * from bronze."{name}" order by id').fetchall()


def test_a_view_reads_the_current_version_of_its_delta_table(tmp_path: Path) -> None:
    bronze = tmp_path / "bronze"
    write_deltalake(str(bronze / "oltp__orders"), _rows([1, 2, 3], "open"))
    DeltaTable(str(bronze / "oltp__orders")).merge(
        _rows([2, 4], "shipped"), predicate="t.id = s.id", source_alias="s", target_alias="t"
    ).when_matched_update_all().when_not_matched_insert_all().execute()
    con = duckdb.connect(str(tmp_path / "w.duckdb"))

    assert create_bronze_views(con, bronze) == ["oltp__orders"]

    # The merge rewrote the file holding id 2: the replaced file is not read, so every id appears once.
    assert [(r[0], r[1]) for r in _view(con, "oltp__orders")] == [
        (1, "open"),
        (2, "shipped"),
        (3, "open"),
        (4, "shipped"),
    ]
    expected = DeltaTable(str(bronze / "oltp__orders")).to_pyarrow_table().sort_by("id")
    got = con.sql('select * from bronze."oltp__orders" order by id').to_arrow_table()
    assert got.column_names == expected.column_names
    assert got.to_pylist() == expected.to_pylist()


def test_an_empty_table_is_a_typed_view_without_rows(tmp_path: Path) -> None:
    bronze = tmp_path / "bronze"
    write_deltalake(str(bronze / "oltp__lots"), _rows([], "x"))
    con = duckdb.connect()

    create_bronze_views(con, bronze)

    assert _view(con, "oltp__lots") == []
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'oltp__lots'"
        ).fetchall()
    )
    assert types == {"id": "BIGINT", "status": "VARCHAR", "_ingested_at": "TIMESTAMP WITH TIME ZONE"}


def test_rows_written_before_a_column_was_added_read_it_as_null(tmp_path: Path) -> None:
    bronze = tmp_path / "bronze"
    write_deltalake(str(bronze / "oltp__items"), _rows([1], "a"))
    evolved = _rows([2], "b").append_column("unit_cost", pa.array([9.5]))
    write_deltalake(str(bronze / "oltp__items"), evolved, mode="append", schema_mode="merge")
    con = duckdb.connect()

    create_bronze_views(con, bronze)

    rows = con.execute('select id, unit_cost from bronze."oltp__items" order by id').fetchall()
    assert rows == [(1, None), (2, 9.5)]
    assert "union_by_name" in _view_definition(con, "oltp__items")


def _view_definition(con: duckdb.DuckDBPyConnection, name: str) -> str:
    return con.execute("select sql from duckdb_views() where view_name = ?", [name]).fetchone()[0]


def test_views_follow_new_versions_and_read_footers_by_name_only_when_needed(tmp_path: Path) -> None:
    bronze = tmp_path / "bronze"
    write_deltalake(str(bronze / "oltp__orders"), _rows([1], "open"))
    con = duckdb.connect()
    create_bronze_views(con, bronze)
    # Every file has the table's columns: plain reads (no footer of every file read at each bind).
    assert "union_by_name" not in _view_definition(con, "oltp__orders")

    write_deltalake(str(bronze / "oltp__orders"), _rows([2], "open"), mode="append")
    create_bronze_views(con, bronze)

    assert [r[0] for r in _view(con, "oltp__orders")] == [1, 2]
    assert con.execute("select version, len(files) from bronze._delta_files").fetchall() == [(1, 2)]
    assert "union_by_name" not in _view_definition(con, "oltp__orders")

    # The table written anew (back to version 0, other files): the view follows it.
    shutil.rmtree(bronze / "oltp__orders")
    write_deltalake(str(bronze / "oltp__orders"), _rows([7], "open"))
    create_bronze_views(con, bronze)
    assert [r[0] for r in _view(con, "oltp__orders")] == [7]


def test_views_follow_the_lake_tables_gone_and_old_copies_replaced(tmp_path: Path) -> None:
    bronze = tmp_path / "bronze"
    write_deltalake(str(bronze / "oltp__orders"), _rows([1], "open"))
    con = duckdb.connect()
    con.execute("create schema bronze")
    con.execute('create table bronze."oltp__orders" as select 99 as id')  # a copy from an older build
    con.execute('create view bronze."oltp__gone" as select 1 as id')

    create_bronze_views(con, bronze)

    kinds = con.execute(
        "select table_name, table_type from information_schema.tables "
        "where table_schema = 'bronze' and table_name <> '_delta_files'"
    ).fetchall()
    assert kinds == [("oltp__orders", "VIEW")]
    assert [r[0] for r in _view(con, "oltp__orders")] == [1]


def test_a_dbt_run_leaves_bronze_readable_outside_dbt(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", pg_port=0)
    write_deltalake(str(settings.lake_root / "bronze" / "oltp__orders"), _rows([1, 2], "open"))

    # Any dbt command that opens the warehouse creates the views; this operation builds no model.
    run_dbt(["run-operation", "create_view_versions"], settings, target="duckdb")

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        assert [r[0] for r in _view(con, "oltp__orders")] == [1, 2]


def test_the_plugin_needs_a_lake_root() -> None:
    from stockyard.dbt_bronze import Plugin

    with pytest.raises(ValueError, match="lake_root"):
        Plugin(name="bronze", plugin_config={})


def test_the_plugin_leaves_a_read_only_warehouse_alone(tmp_path: Path) -> None:
    """dbt-duckdb opens the warehouse read-only while a run holds it (dagster-dbt's row counts): no write there."""
    from stockyard.dbt_bronze import Plugin

    write_deltalake(str(tmp_path / "lake" / "bronze" / "oltp__orders"), _rows([1], "open"))
    duckdb.connect(str(tmp_path / "w.duckdb")).close()
    plugin = Plugin(name="bronze", plugin_config={"lake_root": str(tmp_path / "lake")})

    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        plugin.configure_connection(con)
        assert con.execute("select count(*) from duckdb_views() where schema_name = 'bronze'").fetchone() == (
            0,
        )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        plugin.configure_connection(con)
        assert [r[0] for r in _view(con, "oltp__orders")] == [1]
