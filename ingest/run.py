"""Entry points: ingest one table, one feed, or everything (``stockyard ingest`` and the Dagster assets call these).

Each table is independent: its own snapshot, its own Delta commit, its own watermark. A table that fails (for
example an incompatible schema change) is reported and the others keep loading.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ingest import extract
from ingest.load_delta import append, check_schema, delta_schema, merge, overwrite, table_uri
from ingest.state import Watermark, open_table, read_watermark
from ingest.tables import PARTITION_COLUMN, SourceTable, get_table, registry
from stockyard.errors import NotFoundError
from stockyard.settings import Settings, get_settings

__all__ = ["IngestReport", "TableResult", "ingest_feed", "ingest_table", "run_ingest"]

log = logging.getLogger(__name__)

_XID32 = 4294967296


@dataclass
class TableResult:
    """Outcome of ingesting one table or feed.

    Attributes:
        table: Bronze table name.
        rows_read: Rows extracted from the source.
        rows_written: Rows inserted or changed in bronze (0: no new Delta version).
        watermark: The table's watermark after the run (``describe()`` form).
        duration_s: Wall time.
        status: ``ok``, ``unchanged`` or ``failed``.
        error: Error message when failed.
        rows_quarantined: Feed rows sent to quarantine.
    """

    table: str
    rows_read: int = 0
    rows_written: int = 0
    watermark: str | None = None
    duration_s: float = 0.0
    status: str = "ok"
    error: str | None = None
    rows_quarantined: int = 0


@dataclass
class IngestReport:
    """All table and feed results of one run."""

    results: list[TableResult] = field(default_factory=list)

    @property
    def failed(self) -> list[TableResult]:
        """Results with status ``failed``."""
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when no table failed."""
        return not self.failed


# ----------------------------------------------------------------------------------------------------- helpers
def _peek(reader: pa.RecordBatchReader) -> pa.RecordBatchReader | None:
    """None when the reader is empty, else an equivalent reader (the first batch is pulled to know)."""
    it = iter(reader)
    for first in it:

        def chain(first: pa.RecordBatch = first) -> Iterator[pa.RecordBatch]:
            yield first
            yield from it

        return pa.RecordBatchReader.from_batches(reader.schema, chain())
    return None


def _counting(reader: pa.RecordBatchReader, counter: list[int]) -> pa.RecordBatchReader:
    def gen() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            counter[0] += batch.num_rows
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, gen())


def _ingest_exprs(now: dt.datetime, watermark: Watermark, op_expr: str = "'insert'") -> list[str]:
    """SQL constants for the ingest columns (computed by PostgreSQL, so no per-batch Python)."""
    return [
        f"'{now.isoformat()}'::timestamptz as _ingested_at",
        f"{op_expr}::text as _op",
        "false as _is_deleted",
        f"'{watermark.describe()}'::text as _watermark",
    ]


def _schema(table: SourceTable, columns: list[extract.Column]) -> pa.Schema:
    fields = [pa.field(c.name, c.arrow) for c in columns]
    fields += [
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
        pa.field("_op", pa.string()),
        pa.field("_is_deleted", pa.bool_()),
        pa.field("_watermark", pa.string()),
    ]
    if table.event_time:
        fields.append(pa.field(PARTITION_COLUMN, pa.date32()))
    return pa.schema(fields)


def _xmin_full(h: int) -> str:
    """SQL for the 64-bit id of a row's ``xmin`` (32-bit), resolved against the 64-bit horizon ``h``."""
    h32, base = h % _XID32, h - h % _XID32
    x = "xmin::text::int8"
    return (
        f"({base} + {x} - case when {x} > {h32} + 2147483648 then {_XID32} else 0 end "
        f"+ case when {x} < {h32} - 2147483648 then {_XID32} else 0 end)"
    )


# ------------------------------------------------------------------------------------------------- per table
def _ingest_append(conn, table, columns, snap, dt_, uri, wm, now, result) -> Watermark:  # noqa: ANN001, ARG001
    max_id = wm.max_id
    if table.tracking == "txid":
        where = f"txid >= {wm.xid} and txid < {snap.xmin}"
    else:
        # No txid column: the xmin system column gives the same horizon. A frozen tuple reports xmin 2 and has
        # lost its id, so frozen rows above the largest id visible at the previous run are taken as well.
        full = _xmin_full(snap.xmin)
        where = (
            f"(({full} >= {wm.xid} and {full} < {snap.xmin}) or (xmin::text::int8 < 3 and id > {wm.max_id}))"
        )
        max_id = int(
            extract.read_query(conn, f"select coalesce(max(id), 0)::int8 as m from {table.qualified}")["m"][
                0
            ].as_py()
        )
    new = Watermark(xid=snap.xmin, max_id=max_id)
    schema = _schema(table, columns)
    sql = extract.select_sql(table, columns, where, _ingest_exprs(now, new) + extract.partition_expr(table))
    reader = _peek(extract.stream_query(conn, sql, schema))
    if reader is None:
        return _unchanged(uri, dt_, schema, wm, new, result, list(table.partition_by))
    counter = [0]
    append(uri, _counting(reader, counter), watermark=new, partition_by=list(table.partition_by))
    result.rows_read = result.rows_written = counter[0]
    return new


def _ingest_mutable(conn, table, columns, snap, dt_, uri, wm, now, result) -> Watermark:  # noqa: ANN001
    new = Watermark(xid=snap.xmin, time=snap.time_horizon.isoformat())
    schema = _schema(table, columns)
    where = f"updated_at >= '{wm.time}'::timestamptz" if wm.time else "true"
    has_created = any(c.name == "created_at" for c in columns)
    op = "case when created_at = updated_at then 'insert' else 'update' end" if has_created else "'update'"
    # Deletes first (small: ids only), in the same snapshot; consumed before the row stream starts.
    deleted = extract.read_query(
        conn,
        f"select row_id from cdc_deletes where table_name = '{table.name}' "
        f"and txid >= {wm.xid} and txid < {snap.xmin}",
    ).column("row_id")
    sql = extract.select_sql(table, columns, where, _ingest_exprs(now, new, op))
    rows = _peek(extract.stream_query(conn, sql, schema))
    if rows is None and (dt_ is None or len(deleted) == 0):
        return _unchanged(uri, dt_, schema, wm, new, result)
    counter = [0]
    if dt_ is None:
        # First load: nothing to merge against; deleted rows are simply absent.
        assert rows is not None
        append(uri, _counting(rows, counter), watermark=new)
        result.rows_read = result.rows_written = counter[0]
        return new
    tombstones = _tombstones(schema, deleted, now, new)

    def source() -> Iterator[pa.RecordBatch]:
        if rows is not None:
            yield from rows
        yield from tombstones.to_batches()

    metrics = merge(
        dt_,
        _counting(pa.RecordBatchReader.from_batches(schema, source()), counter),
        keys=table.primary_key,
        watermark=new,
    )
    result.rows_read = counter[0]
    result.rows_written = int(metrics.get("num_target_rows_inserted", 0)) + int(
        metrics.get("num_target_rows_updated", 0)
    )
    if result.rows_written == 0:
        result.status = "unchanged"
        return wm
    return new


def _unchanged(uri, dt_, schema, wm, new, result, partition_by=None) -> Watermark:  # noqa: ANN001
    """No new rows: write nothing, except creating a missing table (downstream models need it to exist)."""
    if dt_ is not None:
        result.status = "unchanged"
        return wm
    append(uri, schema.empty_table(), watermark=new, partition_by=partition_by)
    return new


def _tombstones(schema: pa.Schema, ids: pa.ChunkedArray, now: dt.datetime, wm: Watermark) -> pa.Table:
    n = len(ids)
    arrays = []
    for f in schema:
        if f.name == "id":
            arrays.append(ids.cast(f.type).combine_chunks() if n else pa.array([], f.type))
        elif f.name == "_ingested_at":
            arrays.append(pa.array([now] * n, f.type))
        elif f.name == "_op":
            arrays.append(pa.array(["delete"] * n, f.type))
        elif f.name == "_is_deleted":
            arrays.append(pa.array([True] * n, f.type))
        elif f.name == "_watermark":
            arrays.append(pa.array([wm.describe()] * n, f.type))
        else:
            arrays.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _ingest_refresh(conn, table, columns, snap, dt_, uri, wm, now, result) -> Watermark:  # noqa: ANN001, ARG001
    fp = extract.read_query(
        conn,
        f"select count(*)::int8 as n, coalesce(sum(hashtext(t::text)::int8), 0)::int8 as h from {table.qualified} t",
    ).to_pylist()[0]
    fingerprint = f"{fp['n']}:{fp['h']}"
    if dt_ is not None and wm.fingerprint == fingerprint:
        result.status = "unchanged"
        return wm
    new = Watermark(xid=snap.xmin, fingerprint=fingerprint)
    schema = _schema(table, columns)
    sql = extract.select_sql(table, columns, "true", _ingest_exprs(now, new))
    counter = [0]
    overwrite(uri, _counting(extract.stream_query(conn, sql, schema), counter), watermark=new)
    result.rows_read = result.rows_written = counter[0]
    return new


_LOADERS: dict[str, Callable[..., Watermark]] = {
    "append": _ingest_append,
    "merge": _ingest_mutable,
    "refresh": _ingest_refresh,
}


def _resolve(settings: Settings | None, uri: str | None, lake_root: str | Path | None) -> tuple[str, str]:
    if uri is None or lake_root is None:
        settings = settings or get_settings()
        if uri is None:
            from stockyard.pg import ensure_postgres

            uri = ensure_postgres(settings)
        if lake_root is None:
            lake_root = settings.lake_root
    return uri, str(lake_root)


def ingest_table(
    name: str,
    settings: Settings | None = None,
    *,
    uri: str | None = None,
    lake_root: str | Path | None = None,
    conn=None,  # noqa: ANN001
) -> TableResult:
    """Bring one bronze table up to date with its source, in one atomic Delta commit (or none if unchanged).

    Args:
        name: Bronze (``oltp__orders``) or source (``orders``) table name.
        settings: Settings (default :func:`get_settings`); used for the DSN and lake root unless given.
        uri: PostgreSQL URI override.
        lake_root: Lake root override.
        conn: An open ADBC connection to reuse (autocommit mode).

    Returns:
        The table's result (raises on failure; :func:`run_ingest` turns failures into results).

    Raises:
        IncompatibleSchemaError: a source column changed type incompatibly.
        NotFoundError: the table is unknown or missing in the database.
    """
    started = time.perf_counter()
    table = get_table(name)
    uri, root = _resolve(settings, uri, lake_root)
    target = table_uri(root, table.bronze)
    result = TableResult(table=table.bronze)
    own = conn is None
    conn = conn or extract.connect(uri)
    try:
        dt_ = open_table(target)
        wm = read_watermark(dt_) or Watermark()
        now = dt.datetime.now(dt.UTC)
        with extract.open_snapshot(conn) as snap:
            columns = extract.live_columns(conn, table)
            if not columns:
                raise NotFoundError(
                    f"source table {table.schema}.{table.name} does not exist", value=table.name
                )
            if dt_ is not None:
                check_schema(table.bronze, delta_schema(dt_), _schema(table, columns))
            new = _LOADERS[table.load_mode](conn, table, columns, snap, dt_, target, wm, now, result)
        result.watermark = new.describe()
    finally:
        if own:
            conn.close()
    result.duration_s = time.perf_counter() - started
    return result


def ingest_feed(
    name: str, settings: Settings | None = None, *, lake_root: str | Path | None = None
) -> TableResult:
    """Ingest the new files of one landing feed (``tracking_events`` or ``telemetry``).

    Args:
        name: Feed name (``feeds__tracking_events``, ``tracking_events``, ``telemetry``...).
        settings: Settings (landing dir and lake root).
        lake_root: Lake root override.

    Returns:
        The feed's result.
    """
    from ingest.feeds import ingest_feed as _ingest_feed

    return _ingest_feed(name, settings, lake_root=lake_root)


def run_ingest(
    settings: Settings | None = None,
    tables: list[str] | None = None,
    feeds: bool = True,
    *,
    on_table: Callable[[TableResult], None] | None = None,
) -> IngestReport:
    """Ingest every registered table (or ``tables``) and, optionally, the landing feeds.

    Args:
        settings: Settings (default :func:`get_settings`).
        tables: Bronze or source names to ingest (default: all).
        feeds: Also ingest the landing feeds.
        on_table: Called with each result as it completes (progress display).

    Returns:
        The report; failed tables carry their error and the others are loaded regardless.
    """
    settings = settings or get_settings()
    uri, root = _resolve(settings, None, None)
    names = tables or list(registry())
    report = IngestReport()
    conn = extract.connect(uri)
    try:
        for name in names:
            started = time.perf_counter()
            try:
                result = ingest_table(name, settings, uri=uri, lake_root=root, conn=conn)
            except Exception as exc:  # one table's failure must not stop the others; it is reported
                log.warning("ingest of %s failed: %s", name, exc)
                result = TableResult(
                    table=name, status="failed", error=getattr(exc, "message", None) or str(exc)
                )
                result.duration_s = time.perf_counter() - started
                conn.close()
                conn = extract.connect(uri)
            report.results.append(result)
            if on_table:
                on_table(result)
    finally:
        conn.close()
    if feeds:
        from ingest.feeds import FEEDS

        for feed in FEEDS:
            started = time.perf_counter()
            try:
                result = ingest_feed(feed, settings, lake_root=root)
            except Exception as exc:  # reported like a table
                log.warning("feed %s failed: %s", feed, exc)
                result = TableResult(table=f"feeds__{feed}", status="failed", error=str(exc))
                result.duration_s = time.perf_counter() - started
            report.results.append(result)
            if on_table:
                on_table(result)
    return report
