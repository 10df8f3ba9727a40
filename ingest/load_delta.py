"""Writing bronze Delta tables: append, merge (upsert + tombstones) and full refresh, each one atomic commit.

Every write passes the table's new watermark as commit metadata (:mod:`ingest.state`), so data and watermark
become visible together or not at all. New source columns are added to the Delta schema (``schema_mode="merge"``);
a changed type of an existing column raises :class:`IncompatibleSchemaError` before anything is written.

Writes stream: deltalake pulls the record batch reader and writes parquet files as it goes (one commit at the end),
so memory is a few batches plus one open file per partition. That last part is not flat in the table size: each
open partition file is buffered until it is flushed, so a partitioned full load whose batches touch every month
(the benchmark's interleaved ledger: 24 open partitions) holds more as its files grow (measured 479 MB at 1.25M
rows, 637 MB at 5M; the same 5M rows unpartitioned: 373 MB). Neither ``max_row_group_size`` (16k-128k rows) nor
``data_page_size_limit`` (64-256 KiB) or the allocator (system, mimalloc, ``MALLOC_ARENA_MAX=2``) moved that peak by
more than 5 %. What bounds it is the file size: an open partition's file is held until it reaches the target size,
so partitioned appends are cut at :data:`ingest.tables.PARTITIONED_WRITE_FILE_SIZE` (peak ~ partitions touched x
that size, whatever the row count; the benchmark's 5M rows stay below it, 3 MB a month).

Merges copy on write: every data file holding a matched row is rewritten. Two things keep an incremental merge
proportional to the change rather than to the table: merge tables are written in small files
(``delta.targetFileSize``, see :data:`ingest.tables.MERGE_FILE_SIZE`), and the merge predicate carries literal
key ranges of the change set (:func:`key_range_predicate`), which deltalake uses to skip every file whose id
statistics fall outside them (a streamed source gives it no statistics of its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import ColumnProperties, DeltaTable, WriterProperties, write_deltalake

from ingest.state import Watermark, commit_properties
from ingest.tables import EVENT_DATE_COLUMN, PARTITION_COLUMN, PARTITIONED_WRITE_FILE_SIZE
from stockyard.errors import StockyardError

__all__ = [
    "IncompatibleSchemaError",
    "append",
    "check_schema",
    "delta_schema",
    "ensure_layout",
    "key_range_predicate",
    "merge",
    "overwrite",
    "table_uri",
    "writer_properties",
]

_FILE_SIZE_KEY = "delta.targetFileSize"

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


#: Bronze parquet settings, measured on the benchmark's 5M-row ledger written from memory (2 cores): deltalake's
#: defaults (dictionary on every column, snappy) took 2.8 CPU-s and wrote 95 MB. Dictionary encoding of
#: high-cardinality numbers and timestamps (ids, event times, txids) is tried and thrown away page after page;
#: turning it off for non-string columns cut the write to 1.6 CPU-s. Strings keep it (statuses, reasons,
#: ``_op`` and ``_watermark`` repeat). LZ4_RAW over snappy: same CPU, 75 MB instead of 88 MB (zstd level 1 gave
#: 42 MB for ~6 % more write CPU; the full load is CPU-bound on 2 cores, so the cheaper codec wins).
#: Row groups of at most 128k rows (deltalake's default is 1M): readers skip by row group statistics, and the open
#: writers flush sooner. The ledger's peak RSS fell from 864 to 556 MB at 5M rows with these
#: settings together, but the row group size alone was not what moved it (16k rows: 540 MB, 128k: 572 MB).
ROW_GROUP_ROWS = 128 * 1024


def writer_properties(schema: pa.Schema | None = None) -> WriterProperties:
    """Parquet writer settings of every bronze write (see :data:`ROW_GROUP_ROWS` for the measured why).

    Args:
        schema: Schema being written; its string columns keep dictionary encoding.

    Returns:
        deltalake ``WriterProperties``.
    """
    strings = [
        f.name for f in (schema or []) if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    return WriterProperties(
        compression="LZ4_RAW",
        max_row_group_size=ROW_GROUP_ROWS,
        default_column_properties=ColumnProperties(dictionary_enabled=False),
        column_properties={name: ColumnProperties(dictionary_enabled=True) for name in strings} or None,
    )


def _configuration(target_file_size: int | None) -> dict[str, str] | None:
    # Recorded in the table so later merges and compaction keep the same file size.
    return {_FILE_SIZE_KEY: str(target_file_size)} if target_file_size else None


def append(
    uri: str,
    data: pa.RecordBatchReader | pa.Table,
    *,
    watermark: Watermark,
    partition_by: list[str] | None = None,
    target_file_size: int | None = None,
    write_file_size: int | None = None,
) -> None:
    """Append ``data`` (streamed) in one commit that records ``watermark``.

    Args:
        uri: Bronze table location (created when missing).
        data: Rows to append.
        watermark: New watermark of the table.
        partition_by: Partition columns (used when the table is created).
        target_file_size: Data file size in bytes (None: the table's ``delta.targetFileSize`` or deltalake's
            default); recorded as the table's property when the table is created.
        write_file_size: Largest file of this write only, not recorded in the table; overrides
            ``target_file_size`` for this write. A partitioned write without either is cut at
            :data:`ingest.tables.PARTITIONED_WRITE_FILE_SIZE` (bounds its memory).
    """
    write_deltalake(
        uri,
        data,
        mode="append",
        partition_by=partition_by or None,
        schema_mode="merge",
        configuration=_configuration(target_file_size),
        target_file_size=write_file_size
        or target_file_size
        or (PARTITIONED_WRITE_FILE_SIZE if partition_by else None),
        writer_properties=writer_properties(data.schema),
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
        uri,
        data,
        mode="overwrite",
        schema_mode="merge",
        writer_properties=writer_properties(data.schema),
        commit_properties=commit_properties(watermark),
    )


def ensure_layout(dt: DeltaTable, partition_by: list[str], watermark: Watermark) -> DeltaTable:
    """Rewrite a bronze table whose partition columns differ from the registry's (e.g. daily → monthly).

    Tables written before monthly partitioning are partitioned by ``_partition_date`` and lack
    ``_partition_month``; the column is derived from ``_partition_date`` while the table is streamed into its new
    layout in one overwrite commit that keeps the watermark. A table already in its layout is returned as is.

    Args:
        dt: The existing table.
        partition_by: The partition columns it should have.
        watermark: Its current watermark (re-stamped on the rewrite).

    Returns:
        The table, reloaded if it was rewritten.
    """
    if list(dt.metadata().partition_columns) == list(partition_by):
        return dt
    dataset = dt.to_pyarrow_dataset()
    schema = dataset.schema
    derive = PARTITION_COLUMN in partition_by and PARTITION_COLUMN not in schema.names
    if derive:
        schema = schema.append(pa.field(PARTITION_COLUMN, pa.date32()))

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in dataset.to_batches():
            if derive:
                month = pc.floor_temporal(batch.column(EVENT_DATE_COLUMN), unit="month")
                batch = pa.RecordBatch.from_arrays([*batch.columns, month], schema=schema)
            yield batch

    write_deltalake(
        dt,
        pa.RecordBatchReader.from_batches(schema, batches()),
        mode="overwrite",
        schema_mode="overwrite",
        partition_by=partition_by or None,
        writer_properties=writer_properties(schema),
        commit_properties=commit_properties(watermark, **{"stockyard.relayout": ",".join(partition_by)}),
    )
    return DeltaTable(dt.table_uri)


def key_range_predicate(alias: str, key: str, ranges: list[tuple[int, int]]) -> str:
    """A SQL predicate true for ``alias.key`` inside any of the inclusive ``ranges``.

    Written with ``>=``/``<=`` rather than ``between``: deltalake's merge keeps only comparison conjuncts of the
    target when it derives the file-skipping filter.

    Args:
        alias: Table alias (``t``).
        key: Integer key column.
        ranges: Inclusive ``(low, high)`` pairs.

    Returns:
        The predicate text, e.g. ``(t.id >= 1 and t.id <= 9) or (t.id >= 20 and t.id <= 20)``.
    """
    col = f"{alias}.{key}"
    return " or ".join(f"({col} >= {int(lo)} and {col} <= {int(hi)})" for lo, hi in ranges)


def merge(
    dt: DeltaTable,
    data: pa.RecordBatchReader | pa.Table,
    *,
    keys: tuple[str, ...],
    watermark: Watermark,
    change_column: str | None = "updated_at",
    target_filter: str | None = None,
    target_file_size: int | None = None,
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
        target_filter: Predicate on the target (alias ``t``) that every row matching ``data`` satisfies, e.g.
            :func:`key_range_predicate` of the source's keys; files outside it are neither read nor rewritten.
        target_file_size: Data file size the table should be written in; recorded as its
            ``delta.targetFileSize`` when it is missing (tables created before the property was set).

    Returns:
        deltalake's merge metrics.
    """
    if target_file_size and dt.metadata().configuration.get(_FILE_SIZE_KEY) is None:
        dt.alter.set_table_properties({_FILE_SIZE_KEY: str(target_file_size)})
    on = " and ".join(f"t.{k} = s.{k}" for k in keys)
    if target_filter:
        on = f"{on} and ({target_filter})"
    changed = "t._is_deleted <> s._is_deleted"
    if change_column:
        changed += f" or t.{change_column} is distinct from s.{change_column}"
    merger = dt.merge(
        data,
        predicate=on,
        source_alias="s",
        target_alias="t",
        merge_schema=True,
        writer_properties=writer_properties(data.schema),
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
