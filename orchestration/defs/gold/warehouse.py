"""Reading marts back from the warehouse the dbt target points at (DuckDB file or PostgreSQL)."""

from collections.abc import Sequence
from typing import Any

from stockyard.settings import Settings

__all__ = ["read_mart"]


def read_mart(settings: Settings, name: str, columns: Sequence[str] | None = None) -> Any:
    """A mart of the ``marts`` schema as pandas (decimals as floats).

    Args:
        settings: Settings (dbt target, DuckDB path, PostgreSQL).
        name: Mart name (``fct_order_lines``).
        columns: Columns to read (default all).

    Returns:
        A pandas DataFrame.
    """
    import polars as pl

    select = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    query = f'select {select} from marts."{name}"'
    if settings.dbt_target == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            table = con.sql(query).to_arrow_table()
    else:
        import adbc_driver_postgresql.dbapi as adbc

        from stockyard.pg import ensure_postgres

        with adbc.connect(ensure_postgres(settings)) as conn, conn.cursor() as cur:
            cur.execute(query)
            table = cur.fetch_arrow_table()
    frame = pl.from_arrow(table)
    decimals = [n for n, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    if decimals:
        frame = frame.with_columns(pl.col(decimals).cast(pl.Float64))
    return frame.to_pandas()
