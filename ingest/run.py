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
import pyarrow.compute as pc

from ingest import extract
from ingest.load_delta import (
    append,
    check_schema,
    delta_schema,
    ensure_layout,
    key_range_predicate,
    merge,
    overwrite,
    table_uri,
)
from ingest.state import Watermark, open_table, read_watermark
from ingest.tables import (
    EVENT_DATE_COLUMN,
    MERGE_FILE_SIZE_MAX,
    MERGE_FILE_SIZE_MIN,
    MERGE_FILES,
    PARTITION_COLUMN,
    SourceTable,
    get_table,
    registry,
)
from stockyard.errors import NotFoundError
from stockyard.settings import Settings, get_settings

__all__ = ["IngestReport", "TableResult", "coalesce_ranges", "ingest_feed", "ingest_table", "run_ingest"]

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


class _Stamp:
    """Builds each bronze batch from an ADBC batch: typed columns plus the ingest columns, all in Arrow.

    The ingest columns used to be SQL constants, which made PostgreSQL format and ship them once per row (the
    ``_watermark`` text alone is ~50 bytes a row); here a constant is one cached array sliced per batch.
    """

    def __init__(
        self, table: SourceTable, columns: list[extract.Column], now: dt.datetime, watermark: Watermark
    ) -> None:
        self.columns = columns
        names = [c.name for c in columns]
        self.event = names.index(table.event_time) if table.event_time in names else None
        # Mutable tables: a row whose updated_at still equals created_at was never updated.
        self.op_from = (
            (names.index("created_at"), names.index("updated_at"))
            if table.load_mode == "merge" and "created_at" in names and "updated_at" in names
            else None
        )
        self.values = {
            "_ingested_at": pa.scalar(now, pa.timestamp("us", tz="UTC")),
            "_op": pa.scalar("update" if table.load_mode == "merge" else "insert", pa.string()),
            "_is_deleted": pa.scalar(False, pa.bool_()),
            "_watermark": pa.scalar(watermark.describe(), pa.string()),
        }
        self.cache: dict[str, pa.Array] = {}

    def _const(self, name: str, n: int) -> pa.Array:
        arr = self.cache.get(name)
        if arr is None or len(arr) < n:
            arr = self.cache[name] = pa.repeat(self.values[name], n)
        return arr.slice(0, n)

    def __call__(self, batch: pa.RecordBatch) -> list[pa.Array]:
        n = batch.num_rows
        arrays = extract.decode(batch, self.columns)
        if self.op_from is not None:
            created, updated = arrays[self.op_from[0]], arrays[self.op_from[1]]
            op = pc.if_else(pc.fill_null(pc.equal(created, updated), False), "insert", "update")
        else:
            op = self._const("_op", n)
        arrays += [self._const("_ingested_at", n), op, self._const("_is_deleted", n)]
        arrays.append(self._const("_watermark", n))
        if self.event is not None:
            day = pc.cast(arrays[self.event], pa.date32())  # UTC date: the column is timestamp[us, UTC]
            arrays += [day, pc.floor_temporal(day, unit="month")]
        return arrays


def _schema(table: SourceTable, columns: list[extract.Column]) -> pa.Schema:
    fields = [pa.field(c.name, c.arrow) for c in columns]
    fields += [
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
        pa.field("_op", pa.string()),
        pa.field("_is_deleted", pa.bool_()),
        pa.field("_watermark", pa.string()),
    ]
    if table.event_time:
        fields += [pa.field(EVENT_DATE_COLUMN, pa.date32()), pa.field(PARTITION_COLUMN, pa.date32())]
    return pa.schema(fields)


def _stream(conn, table, columns, where, now, watermark, snap=None) -> pa.RecordBatchReader:  # noqa: ANN001
    """The row stream of ``where``; given the snapshot, a large table's read is split over helper connections."""
    stamp = _Stamp(table, columns, now, watermark)

    def sql_for(predicate: str) -> str:
        return extract.select_sql(table, columns, predicate)

    if snap is None:
        sql, parallel = sql_for(where), []
    else:
        sql, parallel = extract.parallel_sources(conn, snap, table, sql_for, where)
    return extract.stream_query(conn, sql, _schema(table, columns), stamp, parallel=parallel)


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
    # A first load reads the whole table: split it over connections (an incremental window is small).
    reader = _peek(_stream(conn, table, columns, where, now, new, snap if dt_ is None else None))
    if reader is None:
        return _unchanged(uri, dt_, schema, wm, new, result, table)
    counter = [0]
    append(uri, _counting(reader, counter), watermark=new, partition_by=list(table.partition_by))
    result.rows_read = result.rows_written = counter[0]
    return new


def _ingest_mutable(conn, table, columns, snap, dt_, uri, wm, now, result) -> Watermark:  # noqa: ANN001
    new = Watermark(xid=snap.xmin, time=snap.time_horizon.isoformat())
    schema = _schema(table, columns)
    where = f"updated_at >= '{wm.time}'::timestamptz" if wm.time else "true"
    # Deletes first (small: ids only), in the same snapshot; consumed before the row stream starts.
    deletes_where = f"table_name = '{table.name}' and txid >= {wm.xid} and txid < {snap.xmin}"
    deleted = extract.read_query(conn, f"select row_id from cdc_deletes where {deletes_where}").column(
        "row_id"
    )
    # Key ranges of the change set (same snapshot), so the merge opens only the bronze files they overlap.
    ranges = _key_ranges(conn, table, where, deletes_where) if dt_ is not None else []
    file_size = _merge_file_size(conn, table)
    # Every other query of this run is above: the connection is busy until the row stream is consumed.
    rows = _peek(_stream(conn, table, columns, where, now, new, snap if dt_ is None else None))
    if rows is None and (dt_ is None or len(deleted) == 0):
        return _unchanged(uri, dt_, schema, wm, new, result, table)
    counter = [0]
    if dt_ is None:
        # First load: nothing to merge against; deleted rows are simply absent.
        assert rows is not None
        append(uri, _counting(rows, counter), watermark=new, target_file_size=file_size)
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
        target_filter=key_range_predicate("t", table.primary_key[0], ranges) if ranges else None,
        target_file_size=file_size,
    )
    result.rows_read = counter[0]
    result.rows_written = int(metrics.get("num_target_rows_inserted", 0)) + int(
        metrics.get("num_target_rows_updated", 0)
    )
    if result.rows_written == 0:
        result.status = "unchanged"
        return wm
    return new


def _unchanged(uri, dt_, schema, wm, new, result, table) -> Watermark:  # noqa: ANN001
    """No new rows: write nothing, except creating a missing table (downstream models need it to exist)."""
    if dt_ is not None:
        result.status = "unchanged"
        return wm
    append(uri, schema.empty_table(), watermark=new, partition_by=list(table.partition_by))
    return new


def _merge_file_size(conn, table: SourceTable) -> int:  # noqa: ANN001
    """Data file size of a merge table: its PostgreSQL size over ``MERGE_FILES``, within the bounds."""
    size = extract.read_query(conn, f"select pg_table_size('{table.qualified}'::regclass)::int8 as b")
    per_file = int(size["b"][0].as_py() or 0) // MERGE_FILES
    return min(max(per_file, MERGE_FILE_SIZE_MIN), MERGE_FILE_SIZE_MAX)


#: Width of the id buckets the change set's key ranges are computed in (one range per bucket touched).
RANGE_BUCKET = 1 << 16
#: At most this many ranges go into the merge predicate (nearest ranges are joined beyond it).
MAX_RANGES = 32


def _key_ranges(conn, table: SourceTable, where: str, deletes_where: str) -> list[tuple[int, int]]:  # noqa: ANN001
    """Key ranges covering every changed and deleted row of a mutable table (integer single-column keys only)."""
    if len(table.primary_key) != 1:
        return []
    key = table.primary_key[0]
    found = extract.read_query(
        conn,
        f"select min(k)::int8 as lo, max(k)::int8 as hi from ("
        f'select "{key}"::int8 as k from {table.qualified} where {where} '
        f"union all select row_id from cdc_deletes where {deletes_where}) c "
        f"group by k / {RANGE_BUCKET}",
    )
    ranges = list(zip(found["lo"].to_pylist(), found["hi"].to_pylist(), strict=True))
    return coalesce_ranges(ranges, MAX_RANGES)


def coalesce_ranges(ranges: list[tuple[int, int]], max_ranges: int) -> list[tuple[int, int]]:
    """Sort and join inclusive integer ranges until at most ``max_ranges`` remain, closing the smallest gaps first.

    Args:
        ranges: ``(low, high)`` pairs, inclusive, in any order (may overlap).
        max_ranges: Upper bound on the result's length (>= 1).

    Returns:
        Disjoint sorted ranges covering every input range.
    """
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    excess = len(merged) - max(max_ranges, 1)
    if excess <= 0:
        return merged
    gaps = sorted(range(len(merged) - 1), key=lambda i: (merged[i + 1][0] - merged[i][1], i))
    close = set(gaps[:excess])  # gap i lies between range i and range i + 1
    out = [merged[0]]
    for i in range(1, len(merged)):
        if i - 1 in close:
            out[-1] = (out[-1][0], merged[i][1])
        else:
            out.append(merged[i])
    return out


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
    counter = [0]
    overwrite(uri, _counting(_stream(conn, table, columns, "true", now, new), counter), watermark=new)
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
        with extract.open_snapshot(conn, uri) as snap:
            columns = extract.live_columns(conn, table)
            if not columns:
                raise NotFoundError(
                    f"source table {table.schema}.{table.name} does not exist", value=table.name
                )
            if dt_ is not None:
                dt_ = ensure_layout(dt_, list(table.partition_by), wm)
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
