"""Writing bronze Delta tables: append, merge (upsert + tombstones) and full refresh, each one atomic commit.

Every write passes the table's new watermark as commit metadata (:mod:`ingest.state`), so data and watermark
become visible together or not at all. New source columns are added to the Delta schema (``schema_mode="merge"``);
a changed type of an existing column raises :class:`IncompatibleSchemaError` before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from ingest.state import Watermark, commit_properties
from stockyard.errors import StockyardError

__all__ = [
    "IncompatibleSchemaError",
    "append",
    "check_schema",
    "delta_schema",
    "merge",
    "overwrite",
    "table_uri",
]

# Delta has no unsigned or small-width distinction problems for these, but a type change that is not
# value-preserving into the existing bronze type (or vice versa) must stop the table.
_SAME = {
    (pa.string(), pa.large_string()),
    (pa.large_string(), pa.string()),
}


class IncompatibleSchemaError(StockyardError):
    """A source column's type changed in a way bronze cannot absorb without a manual decision."""

    def __init__(self, table: str, column: str, old: pa.DataType, new: pa.DataType) -> None:
        super().__init__(
            f"incompatible schema change in {table}.{column}: bronze has {old}, source now has {new}; "
            "migrate bronze (rename or rebuild the table) before ingesting it again",
            field=column,
            value=str(new),
        )
        self.table = table
        self.column = column
        self.old = old
        self.new = new


def table_uri(lake_root: str | Path, bronze: str) -> str:
    """Location of a bronze table.

    Args:
        lake_root: Lake root (path or object-store URI).
        bronze: Bronze table name (``oltp__orders``).

    Returns:
        ``<lake_root>/bronze/<bronze>``.
    """
    return f"{str(lake_root).rstrip('/')}/bronze/{bronze}"


def delta_schema(dt: DeltaTable) -> pa.Schema:
    """The Delta table's schema as a pyarrow schema."""
    return pa.schema(dt.schema().to_arrow())


def check_schema(table: str, existing: pa.Schema, incoming: pa.Schema) -> None:
    """Refuse incoming columns whose type differs from bronze's.

    Args:
        table: Table name (for the error).
        existing: Bronze schema.
        incoming: Schema about to be written.

    Raises:
        IncompatibleSchemaError: on the first column whose type changed.
    """
    for field in incoming:
        idx = existing.get_field_index(field.name)
        if idx < 0:
            continue  # a new column: schema merge adds it
        old = existing.field(idx).type
        if old.equals(field.type) or (old, field.type) in _SAME:
            continue
        raise IncompatibleSchemaError(table, field.name, old, field.type)


def append(
    uri: str,
    data: pa.RecordBatchReader | pa.Table,
    *,
    watermark: Watermark,
    partition_by: list[str] | None = None,
) -> None:
    """Append ``data`` (streamed) in one commit that records ``watermark``.

    Args:
        uri: Bronze table location (created when missing).
        data: Rows to append.
        watermark: New watermark of the table.
        partition_by: Partition columns (used when the table is created).
    """
    write_deltalake(
        uri,
        data,
        mode="append",
        partition_by=partition_by or None,
        schema_mode="merge",
        commit_properties=commit_properties(watermark),
    )


def overwrite(uri: str, data: pa.RecordBatchReader | pa.Table, *, watermark: Watermark) -> None:
    """Replace the table's content in one commit (full refresh).

    Args:
        uri: Bronze table location.
        data: The full new content.
        watermark: New watermark.
    """
    write_deltalake(
        uri, data, mode="overwrite", schema_mode="merge", commit_properties=commit_properties(watermark)
    )


def merge(
    dt: DeltaTable,
    data: pa.RecordBatchReader | pa.Table,
    *,
    keys: tuple[str, ...],
    watermark: Watermark,
    change_column: str | None = "updated_at",
) -> dict:
    """Upsert ``data`` on ``keys`` (tombstones included) in one commit; unchanged rows are not rewritten.

    A row is updated only when its ``change_column`` or deletion flag differs from bronze, so re-reading an
    overlap window is a no-op (and creates no Delta version when nothing changed).

    Args:
        dt: The existing bronze table.
        data: Latest row states (and tombstones) from the source.
        keys: Merge key columns.
        watermark: New watermark.
        change_column: Column whose change means the row changed (None: always update).

    Returns:
        deltalake's merge metrics.
    """
    on = " and ".join(f"t.{k} = s.{k}" for k in keys)
    changed = "t._is_deleted <> s._is_deleted"
    if change_column:
        changed += f" or t.{change_column} is distinct from s.{change_column}"
    merger = dt.merge(
        data,
        predicate=on,
        source_alias="s",
        target_alias="t",
        merge_schema=True,
        commit_properties=commit_properties(watermark),
    )
    # A tombstone only flips the ingest columns: the row's last known values stay readable.
    tomb = {c: f"s.{c}" for c in ("_op", "_is_deleted", "_watermark", "_ingested_at")}
    return (
        merger.when_matched_update(tomb, predicate="s._is_deleted and not t._is_deleted")
        .when_matched_update_all(predicate=f"not s._is_deleted and ({changed})")
        .when_not_matched_insert_all()
        .execute()
    )
