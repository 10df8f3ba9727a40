"""dbt-duckdb plugin: the bronze Delta tables as DuckDB views over their active Parquet files.

DuckDB cannot download its ``delta`` extension here, so the ``deltalake`` package reads each table's log and this
plugin writes one view per table, ``bronze."<table>"``, over the Parquet files of its current version, read by
DuckDB's built-in Parquet reader. It runs when dbt opens the warehouse (``configure_connection``), so every dbt
command sees the lake as it is then; the views are stored in the warehouse file, so other DuckDB readers see the
bronze of the last dbt run.

It replaces dbt-duckdb's ``delta`` plugin, which opened each Delta table as a pyarrow dataset every time a model
resolved ``source()`` and re-registered every dataset on every new cursor: ~43 ms per table and ~18 ms per node,
most of a ``dbt run`` that had no new data (benchmarks/dbt_build.py).

Profile (``dbt_project/profiles.yml``)::

    plugins:
      - module: stockyard.dbt_bronze
        config: {lake_root: "<lake root>"}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dbt.adapters.duckdb.plugins import BasePlugin
from deltalake import DeltaTable

__all__ = ["Plugin", "BronzeTableError", "create_bronze_views"]

SCHEMA = "bronze"
STATE = "_delta_files"  # per table: the Delta version its view was made from, its files and their columns
# Reader features that change what a Delta table's Parquet files mean; a plain read of the files would be wrong.
_UNSUPPORTED_READER_FEATURES = {"deletionVectors", "columnMapping"}


class BronzeTableError(RuntimeError):
    """A bronze Delta table uses a feature a plain read of its Parquet files would get wrong."""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _view_sql(
    conn: duckdb.DuckDBPyConnection,
    table: DeltaTable,
    name: str,
    files: list[str],
    uniform: bool,
    partitioned: bool,
) -> str:
    features = set(table.protocol().reader_features or ()) & _UNSUPPORTED_READER_FEATURES
    if features:
        raise BronzeTableError(
            f"bronze table {name} uses Delta reader features {sorted(features)}; not supported"
        )
    if files:
        options = []
        if not uniform:
            # Files written before a column was added lack it: null there.
            options.append("union_by_name = true")
        if partitioned:
            options.append("hive_partitioning = true")
        return f"select * from read_parquet([{', '.join(map(_literal, files))}]{''.join(', ' + o for o in options)})"
    # No data file yet: the table's columns, typed, and no row.
    empty = conn.from_arrow(pa.schema(table.schema().to_arrow()).empty_table())
    columns = ", ".join(
        f"cast(null as {t}) as {_quote(c)}" for c, t in zip(empty.columns, empty.types, strict=True)
    )
    return f"select {columns} where false"


def create_bronze_views(conn: duckdb.DuckDBPyConnection, bronze_dir: Path) -> list[str]:
    """(Re)create ``bronze."<table>"`` for every Delta table under ``bronze_dir``; drop what no longer exists there.

    A view is rewritten only when its table has a new version or other files. Its files are read with ``union_by_name`` only when
    some file lacks a column of the table (it was written before the column was added): that option makes DuckDB
    read every file's footer whenever it binds the view (~1.4 s for the benchmark's 382 files). Whether files
    match the table's columns is recorded per file in ``bronze._delta_files``, so each footer is read once.

    Args:
        conn: An open DuckDB connection to the warehouse.
        bronze_dir: ``<lake_root>/bronze``.

    Returns:
        The table names now in the ``bronze`` schema.

    Raises:
        BronzeTableError: A table uses deletion vectors or column mapping.
    """
    conn.execute(f"create schema if not exists {SCHEMA}")
    conn.execute(
        f"create table if not exists {SCHEMA}.{STATE} (table_name varchar primary key, version bigint not null, "
        "columns varchar[] not null, files varchar[] not null, uniform boolean not null)"
    )
    state = {
        r[0]: r[1:]
        for r in conn.execute(
            f"select table_name, version, columns, files, uniform from {SCHEMA}.{STATE}"
        ).fetchall()
    }
    existing = dict(
        conn.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ? and table_name <> ?",
            [SCHEMA, STATE],
        ).fetchall()
    )
    tables = (
        sorted(p for p in bronze_dir.iterdir() if (p / "_delta_log").is_dir()) if bronze_dir.is_dir() else []
    )
    names = []
    for path in tables:
        name = path.name
        names.append(name)
        table = DeltaTable(str(path))
        known = state.get(name)
        files = table.file_uris()
        # Same version and files (a table written anew restarts at version 0): the view is current.
        if (
            known is not None
            and (known[0], list(known[2])) == (table.version(), files)
            and existing.get(name) == "VIEW"
        ):
            continue
        partitions = set(table.metadata().partition_columns)
        columns = [f.name for f in table.schema().fields if f.name not in partitions]
        # Files already checked against these same columns keep their verdict; after a schema change, all are new.
        checked = set(known[2]) if known is not None and list(known[1]) == columns else set()
        uniform = (known[3] if checked else True) and all(
            set(pq.read_schema(f).names) == set(columns) for f in files if f not in checked
        )
        sql = _view_sql(conn, table, name, files, uniform, bool(partitions))
        # Warehouses built when sources were copied as tables hold those copies; a view cannot replace a table.
        if existing.get(name) == "BASE TABLE":
            conn.execute(f"drop table {SCHEMA}.{_quote(name)}")
        conn.execute(f"create or replace view {SCHEMA}.{_quote(name)} as {sql}")
        conn.execute(
            f"insert or replace into {SCHEMA}.{STATE} values (?, ?, ?, ?, ?)",
            [name, table.version(), columns, files, uniform],
        )
    for name, kind in existing.items():
        if name not in names:
            conn.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {SCHEMA}.{_quote(name)}")
    conn.execute(f"delete from {SCHEMA}.{STATE} where not list_contains(?, table_name)", [names])
    return names


class Plugin(BasePlugin):
    """Creates the bronze views when dbt-duckdb opens the warehouse."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        if not plugin_config.get("lake_root"):
            raise ValueError("the stockyard.dbt_bronze plugin needs `lake_root` in its config")
        self.bronze_dir = Path(plugin_config["lake_root"]) / "bronze"

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        # A reader that opened the warehouse read-only (dbt-duckdb falls back to it while a dbt run holds the file,
        # e.g. dagster-dbt's row counts) reads the views as the run that holds it wrote them.
        (read_only,) = conn.execute(
            "select readonly from duckdb_databases() where database_name = current_database()"
        ).fetchone()
        if not read_only:
            create_bronze_views(conn, self.bronze_dir)
