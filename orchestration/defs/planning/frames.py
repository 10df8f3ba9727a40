"""Reading the planning inputs: gold Parquet marts and the few staging models the marts do not carry.

Plans read the published gold Parquet (``<lake_root>/gold/<mart>.parquet``), so a mart a blocking check rejected
is never planned on. Reference data no mart exposes (supplier capacity, open purchase orders, dock doors and
appointments) comes from the staging models (materialised as tables) of the warehouse the dbt target points at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from stockyard.errors import NotFoundError
from stockyard.settings import Settings

__all__ = ["read_gold", "read_staging", "write_gold"]


def read_gold(settings: Settings, name: str, columns: list[str] | None = None) -> pl.DataFrame:
    """One gold Parquet file as a Polars frame.

    Args:
        settings: Settings (gold directory).
        name: File stem (``fct_demand_daily``).
        columns: Columns to read (default all).

    Returns:
        The frame.

    Raises:
        NotFoundError: The file was never published (run the graph up to ``marts/gold_parquet`` first).
    """
    path = settings.gold_dir / f"{name}.parquet"
    if not path.exists():
        raise NotFoundError(f"gold table {name} not found at {path}", field="table", value=name)
    return pl.read_parquet(path, columns=columns)


def read_staging(settings: Settings, name: str) -> pl.DataFrame:
    """One staging model (materialised as a table, see dbt_project.yml) from the dbt target's warehouse.

    Args:
        settings: Settings (dbt target, DuckDB path, PostgreSQL).
        name: Model name (``stg_oltp__suppliers``).

    Returns:
        The rows as Polars, decimals as floats.
    """
    query = f'select * from staging."{name}"'
    if settings.dbt_target == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            table: Any = con.sql(query).to_arrow_table()
    else:
        import adbc_driver_postgresql.dbapi as adbc

        from stockyard.pg import ensure_postgres

        with adbc.connect(ensure_postgres(settings)) as conn, conn.cursor() as cur:
            cur.execute(query)
            table = cur.fetch_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    decimals = [n for n, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    return frame.with_columns(pl.col(decimals).cast(pl.Float64)) if decimals else frame


def write_gold(settings: Settings, name: str, frame: pl.DataFrame) -> Path:
    """Publish a frame as ``<lake_root>/gold/<name>.parquet`` atomically (readers never see half a file).

    Args:
        settings: Settings (gold directory).
        name: File stem.
        frame: The rows.

    Returns:
        The path written.
    """
    path = settings.gold_dir / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)
    return path
