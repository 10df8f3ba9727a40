"""Registry of the source tables ingested into bronze, derived from ``oltp.models`` (one definition of each table).

Every table of ``oltp.models.Base.metadata`` is ingested except ``api_keys`` (secrets) and ``cdc_deletes`` (it is
applied to the mutable tables as tombstones, not copied). The simulator's ground truth (schema ``sim``) is added as
two full-refresh tables. Column lists are *not* copied here: extraction reads the live catalog on every run so a
column added by a migration flows to bronze with no manual step (see :mod:`ingest.extract`).

Type mapping (PostgreSQL → Arrow, the bronze contract):

=====================  =========================================================================================
PostgreSQL             Arrow in bronze
=====================  =========================================================================================
timestamptz            ``timestamp[us, tz=UTC]``
timestamp              ``timestamp[us]``
date                   ``date32``
numeric(p, s)          ``decimal128(p, s)`` — exact money/quantities (all OLTP numerics are numeric(14,4));
                       an unconstrained ``numeric`` becomes ``float64`` (no fixed scale to honour)
int2 / int4 / int8     ``int16`` / ``int32`` / ``int64``
float4 / float8        ``float32`` / ``float64``
bool                   ``bool``
jsonb / json           ``string`` (the JSON text)
varchar / text / other ``string`` (anything unknown is cast to text in SQL)
=====================  =========================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "EXCLUDED_TABLES",
    "EVENT_DATE_COLUMN",
    "INGEST_COLUMNS",
    "MERGE_FILES",
    "MERGE_FILE_SIZE_MAX",
    "MERGE_FILE_SIZE_MIN",
    "PARTITIONED_WRITE_FILE_SIZE",
    "PARTITION_COLUMN",
    "SourceTable",
    "bronze_name",
    "get_table",
    "registry",
]

#: Tables never copied to bronze.
EXCLUDED_TABLES = frozenset({"api_keys", "cdc_deletes"})
#: Columns added by ingest to every bronze table.
INGEST_COLUMNS = ("_ingested_at", "_op", "_is_deleted", "_watermark")
#: UTC date of an append-only table's event time (a plain column: dbt and readers filter on it).
EVENT_DATE_COLUMN = "_partition_date"
#: Partition column of the append-only tables: the first day (UTC) of their event time's month. Monthly, not daily:
#: daily partitions meant one open writer and one tiny file per day of history in a full load (730 partitions for
#: two years), which made full loads slow and their memory grow with the history's length.
PARTITION_COLUMN = "_partition_month"
#: Data files of merge (mutable) tables: a merge rewrites every file holding a changed row, so the table is cut
#: into about this many files at its first load (``pg_table_size / MERGE_FILES`` bytes each, within the bounds
#: below, kept as the table's ``delta.targetFileSize``). An update of recent rows then rewrites one or two files,
#: not the table. Append tables keep deltalake's default (about 100 MB), which suits scans.
MERGE_FILES = 64
MERGE_FILE_SIZE_MIN = 256 * 1024
MERGE_FILE_SIZE_MAX = 64 * 1024 * 1024
#: Largest data file a write into a partitioned (append) table produces. deltalake keeps one open writer per
#: partition a write touches and holds each one's file in memory until it reaches the target size or the write
#: ends, so a full load's peak memory is about (partitions touched) x (file size); with deltalake's ~100 MB default
#: a 24-month full load could hold 2.4 GB. Measured with the benchmark's month-interleaved ledger rows written from
#: a stream (peak RSS): 20M rows 473 MB at the default, 415 MB at 8 MB; 5M rows 316 / 320 MB (files stay under
#: 8 MB there, so nothing changes at that size). Write-time only: compaction (:mod:`ingest.maintenance`) still bins
#: the files into large ones.
PARTITIONED_WRITE_FILE_SIZE = 8 * 1024 * 1024

# The event-time column of each append-only table (source of ``_partition_date``).
_EVENT_TIME = {
    "events": "occurred_at",
    "inventory_ledger": "occurred_at",
    "tracking_events": "occurred_at",
    "order_status_history": "changed_at",
}

Tracking = Literal["txid", "xmin", "updated_at", "snapshot"]
LoadMode = Literal["append", "merge", "refresh"]


@dataclass(frozen=True)
class SourceTable:
    """One source table and how it is captured.

    Attributes:
        name: Source table name (``orders``, ``expected_demand``...).
        schema: PostgreSQL schema (``public`` for the OLTP, ``sim`` for the simulator's truth).
        source: Bronze source prefix (``oltp`` or ``sim``) → bronze table ``<source>__<name>``.
        primary_key: Key columns (merge key; ``id`` for every OLTP table).
        tracking: How changes are found: ``txid`` (append-only with a ``txid`` column), ``xmin`` (append-only
            without one: the system column), ``updated_at`` (mutable: trigger-kept timestamp + cdc_deletes), or
            ``snapshot`` (full table, skipped when its fingerprint is unchanged).
        load_mode: ``append`` (immutable rows), ``merge`` (upsert on the key + tombstones) or ``refresh``.
        event_time: Column whose UTC date becomes ``_partition_date`` and whose month ``_partition_month``
            (append tables), else None.
        partition_by: Bronze partition columns.
    """

    name: str
    schema: str = "public"
    source: str = "oltp"
    primary_key: tuple[str, ...] = ("id",)
    tracking: Tracking = "updated_at"
    load_mode: LoadMode = "merge"
    event_time: str | None = None
    partition_by: tuple[str, ...] = field(default_factory=tuple)

    @property
    def bronze(self) -> str:
        """Bronze table name, e.g. ``oltp__orders``."""
        return bronze_name(self.source, self.name)

    @property
    def qualified(self) -> str:
        """``"schema"."table"`` for SQL."""
        return f'"{self.schema}"."{self.name}"'


def bronze_name(source: str, table: str) -> str:
    """The bronze table name of ``table`` from ``source`` (``oltp__orders``).

    Args:
        source: Source prefix (``oltp``, ``sim``, ``feeds``).
        table: Table name in that source.

    Returns:
        ``<source>__<table>``.
    """
    return f"{source}__{table}"


def _from_models() -> list[SourceTable]:
    from oltp.models import MUTABLE_TABLES, Base

    tables: list[SourceTable] = []
    for table in Base.metadata.sorted_tables:
        if table.name in EXCLUDED_TABLES:
            continue
        pk = tuple(c.name for c in table.primary_key.columns)
        if table.name in MUTABLE_TABLES:
            tables.append(
                SourceTable(name=table.name, primary_key=pk, tracking="updated_at", load_mode="merge")
            )
            continue
        # Append-only: prefer the explicit 64-bit ``txid`` column; fall back to the ``xmin`` system column.
        tracking: Tracking = "txid" if "txid" in table.c else "xmin"
        event_time = _EVENT_TIME.get(table.name)
        tables.append(
            SourceTable(
                name=table.name,
                primary_key=pk,
                tracking=tracking,
                load_mode="append",
                event_time=event_time,
                partition_by=(PARTITION_COLUMN,) if event_time else (),
            )
        )
    return tables


def _simulator_truth() -> list[SourceTable]:
    return [
        SourceTable(
            name="expected_demand",
            schema="sim",
            source="sim",
            primary_key=("item", "warehouse", "date"),
            tracking="snapshot",
            load_mode="refresh",
        ),
        SourceTable(
            name="lane_transit",
            schema="sim",
            source="sim",
            primary_key=("carrier", "service", "origin_warehouse", "destination_region"),
            tracking="snapshot",
            load_mode="refresh",
        ),
    ]


def registry() -> dict[str, SourceTable]:
    """All source tables keyed by bronze name (``oltp__orders``, ``sim__lane_transit``...), in FK order.

    Returns:
        An insertion-ordered dict of :class:`SourceTable`.
    """
    return {t.bronze: t for t in [*_from_models(), *_simulator_truth()]}


def get_table(name: str) -> SourceTable:
    """Look a table up by bronze name (``oltp__orders``) or bare OLTP name (``orders``).

    Args:
        name: Bronze or source table name.

    Returns:
        The registered table.

    Raises:
        NotFoundError: when no such table is registered.
    """
    from stockyard.errors import NotFoundError

    tables = registry()
    if name in tables:
        return tables[name]
    for table in tables.values():
        if table.name == name:
            return table
    raise NotFoundError(
        f"unknown source table {name!r}; known: {', '.join(tables)}", field="table", value=name
    )
