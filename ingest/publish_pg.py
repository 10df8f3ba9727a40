"""Publish bronze Delta tables into PostgreSQL (``bronze.<name>``) for the dbt ``postgres`` target.

Every Delta table under ``<lake_root>/bronze`` becomes a table of the same name in the ``bronze`` schema, with all
live rows of the Delta table, tombstone columns included (staging filters ``_is_deleted``). Rows travel as Arrow
through ADBC's bulk ingest (PostgreSQL binary COPY).

Incremental where cheap: ``bronze._published`` records the Delta version each table was published at. A table whose
Delta version has not moved is skipped. Otherwise the rows ingested after the published ``max(_ingested_at)`` are
read from Delta (filter pushed into the Parquet scan), staged in a temporary table, and merged on the table's key
(delete the keys, insert the new versions) in one transaction. A table is replaced instead (truncate + COPY in one
transaction, so dependent dbt views stay valid and readers never see it empty) when it is new, its schema changed,
it has no known key, or the Delta history since the last publish contains anything but appends, merges and writes
that only add rows (e.g. an overwrite or a vacuum-delete), where a watermark cannot be trusted.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

__all__ = ["PublishResult", "publish_bronze", "bronze_key"]

log = logging.getLogger(__name__)

SCHEMA = "bronze"
_STATE = "_published"
# Keys of the non-OLTP bronze tables; every oltp__ table is keyed by id.
_KEYS = {
    "feeds__tracking_events": ("event_id",),
    "feeds__telemetry": ("device_id", "reading_type", "ts"),
    "sim__expected_demand": ("item", "warehouse", "date"),
    "sim__lane_transit": ("carrier", "service", "origin_warehouse", "destination_region"),
}
_SAFE_OPERATIONS = {"WRITE", "MERGE", "CREATE TABLE", "OPTIMIZE", "UPDATE"}


@dataclasses.dataclass(frozen=True)
class PublishResult:
    """What :func:`publish_bronze` did with one table."""

    table: str
    mode: str  # "skipped" | "merged" | "replaced"
    rows: int
    version: int


def bronze_key(name: str) -> tuple[str, ...] | None:
    """Key columns of a bronze table (``id`` for OLTP tables), or None when it has none."""
    if name.startswith("oltp__"):
        return ("id",)
    return _KEYS.get(name)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _published_state(cur, name: str) -> tuple[int, object] | None:
    cur.execute(
        f"select version, max_ingested_at from {SCHEMA}.{_STATE} where table_name = $1", parameters=(name,)
    )
    row = cur.fetchone()
    return (int(row[0]), row[1]) if row else None


def _record(cur, name: str, version: int) -> None:
    cur.execute(
        f"insert into {SCHEMA}.{_STATE} (table_name, version, max_ingested_at, published_at) "
        f"select $1, $2, (select max(_ingested_at) from {SCHEMA}.{_q(name)}), now() "
        "on conflict (table_name) do update set version = excluded.version, "
        "max_ingested_at = excluded.max_ingested_at, published_at = excluded.published_at",
        parameters=(name, version),
    )


def _table_columns(cur, name: str) -> list[str]:
    cur.execute(
        "select column_name from information_schema.columns where table_schema = $1 and table_name = $2 "
        "order by ordinal_position",
        parameters=(SCHEMA, name),
    )
    return [r[0] for r in cur.fetchall()]


def _history_is_append_only(dt, since_version: int) -> bool:
    for entry in dt.history():
        version = entry.get("version")
        if version is None or version <= since_version:
            continue
        operation = str(entry.get("operation", "")).upper()
        if operation not in _SAFE_OPERATIONS:
            return False
        if (
            operation == "WRITE"
            and str(entry.get("operationParameters", {}).get("mode", "")).lower() == "overwrite"
        ):
            return False
    return True


def _normalise(data: pa.Table) -> pa.Table:
    """Arrow types ADBC's PostgreSQL ingest maps cleanly (large/view strings -> string, ns -> us timestamps)."""
    fields = []
    for field in data.schema:
        t = field.type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = pa.string()
        elif pa.types.is_timestamp(t) and t.unit == "ns":
            t = pa.timestamp("us", tz=t.tz)
        elif pa.types.is_large_binary(t):
            t = pa.binary()
        fields.append(pa.field(field.name, t))
    return data.cast(pa.schema(fields))


def publish_bronze(
    lake_root: Path | str, pg_uri: str, tables: Iterable[str] | None = None
) -> list[PublishResult]:
    """Copy bronze Delta tables into ``bronze.<name>`` of a PostgreSQL database, incrementally where possible.

    Args:
        lake_root: Root of the lake (tables are read from ``<lake_root>/bronze/<name>``).
        pg_uri: libpq URI of the warehouse database.
        tables: Bronze table names to publish; default every Delta table under ``<lake_root>/bronze``.

    Returns:
        One :class:`PublishResult` per table, in order.
    """
    import adbc_driver_postgresql.dbapi as adbc
    from deltalake import DeltaTable

    bronze = Path(lake_root) / "bronze"
    names = (
        list(tables)
        if tables is not None
        else sorted(p.name for p in bronze.iterdir() if (p / "_delta_log").is_dir())
        if bronze.exists()
        else []
    )
    results = []
    with adbc.connect(pg_uri) as conn:
        with conn.cursor() as cur:
            cur.execute(f"create schema if not exists {SCHEMA}")
            cur.execute(
                f"create table if not exists {SCHEMA}.{_STATE} (table_name text primary key, version bigint not null, "
                "max_ingested_at timestamptz, published_at timestamptz not null)"
            )
        conn.commit()
        for name in names:
            dt = DeltaTable(str(bronze / name))
            version = dt.version()
            with conn.cursor() as cur:
                state = _published_state(cur, name)
                existing = _table_columns(cur, name)
                columns = [f.name for f in dt.schema().fields]
                key = bronze_key(name)
                if state is not None and state[0] == version and existing == columns:
                    results.append(PublishResult(name, "skipped", 0, version))
                    continue
                incremental = (
                    state is not None
                    and existing == columns
                    and key is not None
                    and "_ingested_at" in columns
                    and state[1] is not None
                    and _history_is_append_only(dt, state[0])
                )
                if incremental:
                    import pyarrow.dataset as ds

                    watermark = pa.scalar(state[1], type=pa.timestamp("us", tz="UTC"))
                    dataset = dt.to_pyarrow_dataset()
                    column = ds.field("_ingested_at")
                    data = dataset.to_table(
                        filter=column > watermark.cast(dataset.schema.field("_ingested_at").type)
                    )
                    n = _merge(cur, name, _normalise(data), key)
                    mode = "merged"
                else:
                    data = _normalise(dt.to_pyarrow_table())
                    n = _replace(cur, name, data, key, exists=bool(existing), same_schema=existing == columns)
                    mode = "replaced"
                _record(cur, name, version)
            conn.commit()
            log.info("published bronze.%s: %s %d rows (delta version %d)", name, mode, n, version)
            results.append(PublishResult(name, mode, n, version))
    return results


def _merge(cur, name: str, data: pa.Table, key: tuple[str, ...]) -> int:
    if data.num_rows == 0:
        return 0
    stage = f"_stage_{name}"
    cur.execute(f"drop table if exists {_q(stage)}")
    cur.execute(f"create temporary table {_q(stage)} (like {SCHEMA}.{_q(name)}) on commit drop")
    cur.adbc_ingest(stage, data, mode="append", temporary=True)
    # A key may arrive more than once in one batch (several versions): keep the latest.
    cols = ", ".join(_q(c) for c in data.column_names)
    keys = ", ".join(_q(k) for k in key)
    match = " and ".join(f"t.{_q(k)} = s.{_q(k)}" for k in key)
    cur.execute(f"delete from {SCHEMA}.{_q(name)} as t using {_q(stage)} as s where {match}")
    cur.execute(
        f"insert into {SCHEMA}.{_q(name)} ({cols}) select distinct on ({keys}) {cols} from {_q(stage)} "
        f"order by {keys}, _ingested_at desc"
    )
    return data.num_rows


def _replace(
    cur, name: str, data: pa.Table, key: tuple[str, ...] | None, *, exists: bool, same_schema: bool
) -> int:
    target = f"{SCHEMA}.{_q(name)}"
    if exists and not same_schema:
        # Schema changed: dependent views (dbt staging) are rebuilt by the next dbt run.
        cur.execute(f"drop table {target} cascade")
        exists = False
    if exists:
        cur.execute(f"truncate {target}")
        cur.adbc_ingest(name, data, mode="append", db_schema_name=SCHEMA)
    else:
        cur.adbc_ingest(name, data, mode="create", db_schema_name=SCHEMA)
    # `if not exists`: a no-op once there; a table published before an index was added here gets it when next replaced.
    if key is not None:
        cols = ", ".join(_q(k) for k in key)
        cur.execute(f"create index if not exists {_q('ix_' + name + '_key')} on {target} ({cols})")
    if "_ingested_at" in data.column_names:
        cur.execute(f"create index if not exists {_q('ix_' + name + '_ingested')} on {target} (_ingested_at)")
        if "_is_deleted" in data.column_names:
            # Tombstones are few: dbt's stg_oltp__tombstones reads `_is_deleted = true` of a table with no
            # tombstone yet (no watermark) on every run, a scan of the whole table without this partial index.
            cur.execute(
                f"create index if not exists {_q('ix_' + name + '_deleted')} on {target} (_ingested_at) "
                "where _is_deleted"
            )
    return data.num_rows
