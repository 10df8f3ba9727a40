"""Reconciliation: live row counts and a checksum of key columns, source versus bronze, per table.

The checksum is a sum of per-row hashes ``(id * 1000003 + v) mod (2^31 - 1)`` where ``v`` is the row's change
column (``updated_at`` in epoch microseconds for mutable tables, ``txid`` for append tables, 0 otherwise). It is
computed by PostgreSQL on the source and by Polars (streaming over the Delta table) on bronze, so a missing,
duplicated or stale row changes it. The orchestration layer turns the results into Dagster asset checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ingest import extract
from ingest.load_delta import table_uri
from ingest.state import open_table
from ingest.tables import SourceTable, registry
from stockyard.settings import Settings, get_settings

__all__ = ["TableReconciliation", "reconcile", "reconcile_table"]

_P = 2147483647
_M = 1000003


@dataclass(frozen=True)
class TableReconciliation:
    """Source versus bronze for one table."""

    table: str
    source_rows: int
    bronze_rows: int
    source_checksum: int
    bronze_checksum: int

    @property
    def ok(self) -> bool:
        """True when counts and checksums agree."""
        return self.source_rows == self.bronze_rows and self.source_checksum == self.bronze_checksum


def _change_column(table: SourceTable, columns: set[str]) -> str | None:
    if table.tracking == "updated_at" and "updated_at" in columns:
        return "updated_at"
    if "txid" in columns:
        return "txid"
    return None


def _source(conn, table: SourceTable, change: str | None) -> tuple[int, int]:  # noqa: ANN001
    if "id" not in table.primary_key:
        row = extract.read_query(conn, f"select count(*)::int8 as n, 0::int8 as c from {table.qualified}")
    else:
        if change == "updated_at":
            v = "(extract(epoch from updated_at) * 1000000)::numeric"
        elif change == "txid":
            v = "txid::numeric"
        else:
            v = "0"
        row = extract.read_query(
            conn,
            f"select count(*)::int8 as n, coalesce(sum((id::numeric * {_M} + {v}) % {_P}), 0)::int8 as c "
            f"from {table.qualified}",
        )
    r = row.to_pylist()[0]
    return int(r["n"]), int(r["c"])


def _bronze(uri: str, table: SourceTable, change: str | None) -> tuple[int, int]:
    if open_table(uri) is None:
        return 0, 0
    lf = pl.scan_delta(uri).filter(~pl.col("_is_deleted"))
    if "id" not in table.primary_key:
        out = lf.select(pl.len().alias("n"), pl.lit(0).alias("c")).collect()
    else:
        if change == "updated_at":
            v = pl.col("updated_at").dt.epoch("us")
        elif change == "txid":
            v = pl.col("txid")
        else:
            v = pl.lit(0, pl.Int64)
        h = (pl.col("id").cast(pl.Int64) * _M + v.cast(pl.Int64)) % _P
        out = lf.select(pl.len().alias("n"), h.sum().alias("c")).collect()
    return int(out["n"][0]), int(out["c"][0] or 0)


def reconcile_table(
    table: SourceTable,
    *,
    conn,
    lake_root: str | Path,  # noqa: ANN001
) -> TableReconciliation:
    """Reconcile one table.

    Args:
        table: Registered source table.
        conn: ADBC connection.
        lake_root: Lake root.

    Returns:
        Counts and checksums of both sides.
    """
    columns = {c.name for c in extract.live_columns(conn, table)}
    change = _change_column(table, columns)
    source_rows, source_sum = _source(conn, table, change)
    bronze_rows, bronze_sum = _bronze(table_uri(lake_root, table.bronze), table, change)
    return TableReconciliation(table.bronze, source_rows, bronze_rows, source_sum, bronze_sum)


def reconcile(
    settings: Settings | str | None = None,
    lake_root: str | Path | None = None,
    tables: list[str] | None = None,
) -> list[TableReconciliation]:
    """Reconcile every registered table (or ``tables``), source versus bronze.

    Args:
        settings: Settings, or a PostgreSQL URI (then ``lake_root`` is required or taken from settings).
        lake_root: Lake root (default: the settings' lake root).
        tables: Bronze names to check (default: all registered tables).

    Returns:
        One :class:`TableReconciliation` per table. Rows changed after the last ingest show up as differences,
        so run it right after an ingest (or on a quiet source).
    """
    if isinstance(settings, str):
        uri = settings
        lake_root = lake_root or get_settings().lake_root
    else:
        from stockyard.pg import ensure_postgres

        settings = settings or get_settings()
        uri = ensure_postgres(settings)
        lake_root = lake_root or settings.lake_root
    assert lake_root is not None
    reg = registry()
    names = tables or list(reg)
    conn = extract.connect(uri)
    try:
        return [reconcile_table(reg[n], conn=conn, lake_root=lake_root) for n in names]
    finally:
        conn.close()
