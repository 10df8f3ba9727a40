"""Streaming extraction from PostgreSQL into Arrow record batches (ADBC, bounded memory).

The ADBC PostgreSQL driver runs ``COPY (query) TO STDOUT (FORMAT binary)`` and parses the stream into Arrow in C,
so there is no per-row Python anywhere; ``cursor.fetch_record_batch()`` yields ~16 MB batches, so memory is bounded
by the batch size, not the table size (see ``benchmarks/results/ingest.md`` for ADBC against the bare COPY drain).
The driver's batch size is kept: 64 MB batches cost ~150 MB more peak memory for no measurable speed (a 5M-row
table is ~36 batches, so per-batch Python is negligible).

Only the source columns cross the wire; the ingest columns (constants, the operation, the event date and month)
are built in Arrow (:mod:`ingest.run`), and ``numeric(p <= 18, s)`` travels as its unscaled ``int8`` because ADBC
reads numeric only as text, which made PostgreSQL format and the client parse every value.

The column list is read from the live catalog on every run (schema evolution needs no code change); types are
normalised to the bronze contract documented in :mod:`ingest.tables`.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.tables import SourceTable

__all__ = [
    "Column",
    "Snapshot",
    "arrow_type",
    "connect",
    "decode",
    "live_columns",
    "open_snapshot",
    "parallel_sources",
    "read_query",
    "select_sql",
    "stream_query",
    "time_horizon",
]

UTC = dt.UTC
#: Safety margin subtracted from the time horizon of mutable tables (covers the instant between a transaction
#: taking its start timestamp and publishing it in pg_stat_activity).
TIME_HORIZON_MARGIN = dt.timedelta(seconds=2)
#: ADBC batch size hint in bytes (None: the driver's ~16 MB). Tests set it tiny so small tables stream in many
#: batches, the way large ones do in production.
BATCH_SIZE_HINT: int | None = None


@dataclass(frozen=True)
class Column:
    """One live source column."""

    name: str
    udt: str  # PostgreSQL type name (int4, numeric, timestamptz, jsonb, ...)
    precision: int | None = None
    scale: int | None = None

    @property
    def arrow(self) -> pa.DataType:
        """Bronze Arrow type of the column."""
        return arrow_type(self.udt, self.precision, self.scale)

    @property
    def scaled(self) -> bool:
        """True for ``numeric(p, s)`` with ``p <= 18``: shipped as the unscaled ``int8`` (see :meth:`select_expr`)."""
        return self.udt == "numeric" and self.precision is not None and self.precision <= _INT64_DIGITS

    def select_expr(self) -> str:
        """SQL expression selecting the column in a form ADBC returns cheaply and exactly."""
        quoted = f'"{self.name}"'
        if self.udt in _NATIVE:
            return quoted
        if self.scaled:
            # ADBC reads numeric only as text: PostgreSQL formats it, the client parses it back. The unscaled
            # integer (value * 10^scale, exact for numeric(p <= 18, s)) travels as a binary int8 instead and is
            # reinterpreted as decimal128(p, s) without arithmetic (:func:`decode`).
            return f"({quoted} * {10 ** (self.scale or 0)})::int8 as {quoted}"
        if self.udt == "numeric" and pa.types.is_floating(self.arrow):
            return f"{quoted}::float8 as {quoted}"  # unconstrained: float64 in bronze (see the type table)
        # json/unknown types as text.
        return f"{quoted}::text as {quoted}"

    @property
    def wire(self) -> pa.DataType:
        """Arrow type ADBC delivers for :meth:`select_expr`."""
        return pa.int64() if self.scaled else self.arrow


_INT64_DIGITS = 18
_NATIVE = {
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "bool",
    "date",
    "timestamptz",
    "timestamp",
    "varchar",
    "text",
    "bpchar",
}


def arrow_type(udt: str, precision: int | None = None, scale: int | None = None) -> pa.DataType:
    """Bronze Arrow type for a PostgreSQL type (see the table in :mod:`ingest.tables`).

    Args:
        udt: PostgreSQL type name as in ``information_schema.columns.udt_name``.
        precision: ``numeric`` precision, if constrained.
        scale: ``numeric`` scale, if constrained.

    Returns:
        The Arrow data type stored in bronze.
    """
    simple = {
        "int2": pa.int16(),
        "int4": pa.int32(),
        "int8": pa.int64(),
        "float4": pa.float32(),
        "float8": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamptz": pa.timestamp("us", tz="UTC"),
        "timestamp": pa.timestamp("us"),
    }
    if udt in simple:
        return simple[udt]
    if udt == "numeric":
        if precision is not None and precision <= 38:
            return pa.decimal128(precision, scale or 0)
        return pa.float64()
    return pa.string()


def connect(uri: str):  # noqa: ANN201 - adbc has no public connection type to annotate with
    """Open an ADBC PostgreSQL connection in autocommit mode (transactions are opened explicitly).

    Args:
        uri: libpq URI.

    Returns:
        An ``adbc_driver_postgresql.dbapi`` connection.
    """
    import adbc_driver_postgresql.dbapi as adbc

    return adbc.connect(uri, autocommit=True)


def read_query(conn, sql: str) -> pa.Table:  # noqa: ANN001
    """Run ``sql`` and return its (small) result as an Arrow table.

    Args:
        conn: ADBC connection.
        sql: Query text.

    Returns:
        The result.
    """
    with conn.cursor() as cur:
        cur.execute(sql)
        return _plain(cur.fetch_arrow_table())


def _execute(conn, sql: str) -> None:  # noqa: ANN001
    with conn.cursor() as cur:
        cur.execute(sql)


def _plain(table: pa.Table) -> pa.Table:
    """Drop ADBC field metadata and extension types (json, opaque numeric) so results compare and write cleanly."""
    cols = [_storage(c) if isinstance(c.type, pa.BaseExtensionType) else c for c in table.columns]
    return pa.Table.from_arrays(cols, names=table.column_names)


def _storage(col: pa.ChunkedArray) -> pa.ChunkedArray:
    return pa.chunked_array([c.storage for c in col.chunks], type=col.type.storage_type)


def live_columns(conn, table: SourceTable) -> list[Column]:  # noqa: ANN001
    """The table's columns as they are in the database now (ordered).

    Args:
        conn: ADBC connection.
        table: Source table.

    Returns:
        Columns with their PostgreSQL types.
    """
    result = read_query(
        conn,
        "select column_name::text as name, udt_name::text as udt, numeric_precision::int4 as p, "
        "numeric_scale::int4 as s from information_schema.columns "
        f"where table_schema = '{table.schema}' and table_name = '{table.name}' order by ordinal_position",
    ).to_pylist()
    return [Column(r["name"], r["udt"], r["p"], r["s"]) for r in result]


def time_horizon(conn) -> dt.datetime:  # noqa: ANN001
    """A time before which no uncommitted or future write of this database can stamp ``updated_at``.

    Every writer stamps ``updated_at`` with ``now()`` (its transaction start) on insert or ``clock_timestamp()``
    on update, so any row not yet committed carries a time at or after the start of its transaction. The horizon
    is the oldest start of any other open transaction of this database (or the clock if none), minus a margin.
    It must be read *before* the snapshot is taken (see :func:`open_snapshot`).

    Args:
        conn: ADBC connection in autocommit mode.

    Returns:
        The horizon (UTC).
    """
    row = read_query(
        conn,
        "select least(clock_timestamp(), (select min(xact_start) from pg_stat_activity "
        "where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null)) as t",
    ).to_pylist()[0]
    return row["t"] - TIME_HORIZON_MARGIN


@dataclass(frozen=True)
class Snapshot:
    """An open REPEATABLE READ snapshot and its transaction horizon.

    Attributes:
        xmin: ``pg_snapshot_xmin``: every transaction with a smaller id has finished (committed or aborted).
        time_horizon: See :func:`time_horizon` (read just before the snapshot).
        uri: The database's libpq URI when helper connections may join the snapshot (:func:`parallel_sources`).
    """

    xmin: int
    time_horizon: dt.datetime
    uri: str | None = None


@contextmanager
def open_snapshot(conn, uri: str | None = None) -> Iterator[Snapshot]:  # noqa: ANN001
    """Open a read-only REPEATABLE READ transaction; every query inside sees the same snapshot.

    Args:
        conn: ADBC connection in autocommit mode.
        uri: The connection's libpq URI, so large reads may be split over more connections on this snapshot
            (:func:`parallel_sources`); None keeps every read on ``conn``.

    Yields:
        The snapshot's horizons.
    """
    horizon = time_horizon(conn)
    _execute(conn, "begin isolation level repeatable read read only")
    try:
        row = read_query(
            conn, "select pg_snapshot_xmin(pg_current_snapshot())::text::int8 as xmin"
        ).to_pylist()[0]
        yield Snapshot(xmin=int(row["xmin"]), time_horizon=horizon, uri=uri)
    finally:
        _execute(conn, "rollback")


#: Tables whose heap is at least this large are read over :data:`PARALLEL_STREAMS` connections in a full load.
PARALLEL_MIN_BYTES = 64 * 1024 * 1024
#: Connections a large full read is split over (one block range each).
PARALLEL_STREAMS = 2


def parallel_sources(
    conn,  # noqa: ANN001
    snap: Snapshot,
    table: SourceTable,
    sql_for: Callable[[str], str],
    where: str,
    streams: int | None = None,
    min_bytes: int | None = None,
) -> tuple[str, list[tuple[object, str]]]:
    """Split a large read into heap block ranges, each for its own connection on the same snapshot.

    The ADBC driver parses one COPY stream in one thread, which is the bottleneck of a full load; split by
    ``ctid`` ranges (PostgreSQL's TID range scan: each connection reads only its blocks) and read concurrently,
    the parse spreads over threads. The helpers import ``conn``'s exported snapshot (``pg_export_snapshot`` +
    ``SET TRANSACTION SNAPSHOT``), so together they see exactly the rows ``conn`` sees: the ranges are
    ``[0, b1), [b1, b2), ... [bn, end)`` with the last one open, so every tuple falls in exactly one of them.

    Args:
        conn: ADBC connection inside :func:`open_snapshot` (with its ``uri``).
        snap: The snapshot.
        table: Source table.
        sql_for: Builds the query for a predicate.
        where: The read's predicate.
        streams: Number of ranges (default :data:`PARALLEL_STREAMS`).
        min_bytes: Split only heaps at least this large (default :data:`PARALLEL_MIN_BYTES`).

    Returns:
        ``(sql for conn, [(helper connection, sql), ...])``; no helpers when the table is small, the snapshot has
        no URI or only one stream is asked for. The helpers are closed by :func:`stream_query`.
    """
    n = PARALLEL_STREAMS if streams is None else streams
    floor = PARALLEL_MIN_BYTES if min_bytes is None else min_bytes
    if snap.uri is None or n < 2:
        return sql_for(where), []
    row = read_query(
        conn,
        f"select pg_relation_size('{table.qualified}'::regclass)::int8 as bytes, "
        "current_setting('block_size')::int8 as block, pg_export_snapshot() as snapshot",
    ).to_pylist()[0]
    pages = int(row["bytes"] or 0) // int(row["block"])
    if int(row["bytes"] or 0) < floor or pages < n:
        return sql_for(where), []
    bounds = [pages * i // n for i in range(1, n)]
    preds = [f"ctid < '({bounds[0]},0)'::tid"]
    preds += [
        f"ctid >= '({lo},0)'::tid and ctid < '({hi},0)'::tid"
        for lo, hi in zip(bounds, bounds[1:], strict=False)
    ]
    preds.append(f"ctid >= '({bounds[-1]},0)'::tid")
    helpers: list[tuple[object, str]] = []
    try:
        for pred in preds[1:]:
            helper = connect(snap.uri)
            helpers.append((helper, sql_for(f"({where}) and {pred}")))
            _execute(helper, "begin isolation level repeatable read read only")
            _execute(helper, f"set transaction snapshot '{row['snapshot']}'")
    except BaseException:
        for helper, _ in helpers:
            helper.close()
        raise
    return sql_for(f"({where}) and {preds[0]}"), helpers


def _unscaled_to_decimal(col: pa.Array, typ: pa.Decimal128Type) -> pa.Array:
    """Reinterpret unscaled int64 values as ``decimal128(p, s)`` (two's-complement 128-bit, no arithmetic)."""
    if col.offset:
        col = pa.concat_arrays([col])  # rebase so the validity bitmap and the values start at 0
    n = len(col)
    low = np.frombuffer(col.buffers()[1], dtype=np.int64, count=n)
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = low
    np.right_shift(low, 63, out=words[:, 1])  # sign extension into the high word
    validity = col.buffers()[0] if col.null_count else None
    return pa.Array.from_buffers(typ, n, [validity, pa.py_buffer(words)], col.null_count)


def decode(batch: pa.RecordBatch, columns: list[Column]) -> list[pa.Array]:
    """Turn an ADBC batch of :func:`select_sql` columns into arrays of their bronze types.

    Args:
        batch: One batch, its first ``len(columns)`` fields being ``columns`` in order.
        columns: The live columns selected.

    Returns:
        One array per column, of :attr:`Column.arrow` type.
    """
    arrays = []
    for i, column in enumerate(columns):
        col = batch.column(i)
        if isinstance(col.type, pa.BaseExtensionType):
            col = col.storage
        target = column.arrow
        if column.scaled and pa.types.is_integer(col.type):
            col = _unscaled_to_decimal(col.cast(pa.int64()), target)
        elif not col.type.equals(target):
            col = pc.cast(col, target)
        arrays.append(col)
    return arrays


def stream_query(
    conn,  # noqa: ANN001
    sql: str,
    schema: pa.Schema,
    finish: Callable[[pa.RecordBatch], list[pa.Array]],
    *,
    parallel: list[tuple[object, str]] | None = None,
    prefetch: int | None = None,
) -> pa.RecordBatchReader:
    """Stream the result of ``sql`` as record batches of ``schema``, each built by ``finish``.

    Extraction runs in its own thread(s), ``prefetch`` batches ahead of the consumer: ADBC, Arrow compute and the
    Delta writer all release the GIL, so PostgreSQL keeps sending while the writer encodes parquet instead of
    the two taking turns. Memory stays bounded by ``prefetch`` batches per stream. The reader must be fully
    consumed (or closed) before the connection runs another query.

    Args:
        conn: ADBC connection.
        sql: Query text.
        schema: Schema of the produced batches.
        finish: Turns one ADBC batch into the arrays of ``schema`` (typing, ingest columns). May be called from
            several threads at once when ``parallel`` is given.
        parallel: More ``(connection, query)`` pairs streamed concurrently into the same reader (helper
            connections on the same snapshot, see :func:`parallel_sources`); the batches interleave. These
            connections are closed when the stream ends.
        prefetch: Batches buffered ahead per stream (default :data:`PREFETCH`; 0: no thread, pull on demand).

    Returns:
        A streaming reader; memory stays at a few batches whatever the result size.
    """
    depth = PREFETCH if prefetch is None else prefetch
    # Every query is started here, in the caller's thread, so an SQL error raises now rather than mid-write.
    sources = []
    try:
        for i, (c, q) in enumerate([(conn, sql), *(parallel or [])]):
            sources.append((*_start(c, q), c if i else None))
    except BaseException:
        for cur, _, helper in sources:
            cur.close()
            if helper is not None:
                helper.close()
        for helper, _ in (parallel or [])[max(len(sources) - 1, 0) :]:
            helper.close()
        raise
    if depth <= 0 and len(sources) == 1:
        cur, reader, _ = sources[0]

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for batch in reader:
                    if batch.num_rows:
                        yield pa.RecordBatch.from_arrays(finish(batch), schema=schema)
            finally:
                cur.close()

        return pa.RecordBatchReader.from_batches(schema, batches())
    return pa.RecordBatchReader.from_batches(schema, _threaded(sources, schema, finish, max(depth, 1)))


#: Batches (~16 MB each) each extraction thread may run ahead of the writer.
PREFETCH = 2
_DONE = object()


def _start(conn, sql: str):  # noqa: ANN001, ANN202
    cur = conn.cursor()
    if BATCH_SIZE_HINT is not None:
        cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_SIZE_HINT)})
    try:
        cur.execute(sql)
        return cur, cur.fetch_record_batch()
    except BaseException:
        cur.close()
        raise


def _threaded(
    sources: list, schema: pa.Schema, finish: Callable[[pa.RecordBatch], list[pa.Array]], depth: int
) -> Iterator[pa.RecordBatch]:
    """Batches of every source, each read and finished in its own thread through one bounded queue."""
    out: queue.Queue = queue.Queue(maxsize=depth * len(sources))
    stop = threading.Event()

    def produce(cur, reader, helper) -> None:  # noqa: ANN001
        try:
            for batch in reader:
                if stop.is_set():
                    break
                if batch.num_rows:
                    item = pa.RecordBatch.from_arrays(finish(batch), schema=schema)
                    while not stop.is_set():
                        try:
                            out.put(item, timeout=0.1)
                            break
                        except queue.Full:
                            continue
        except BaseException as exc:  # handed to the consumer, which raises it
            out.put(exc)
        finally:
            cur.close()
            if helper is not None:
                helper.close()  # its transaction ends with it
            out.put(_DONE)

    threads = [threading.Thread(target=produce, args=s, daemon=True) for s in sources]
    for t in threads:
        t.start()
    running = len(threads)
    try:
        while running:
            item = out.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        # Consumer gone (done, failed or closed early): stop the producers and wait for them, so no thread still
        # uses a connection the caller is about to reuse.
        stop.set()
        while any(t.is_alive() for t in threads):
            try:
                out.get(timeout=0.1)
            except queue.Empty:
                pass
        for t in threads:
            t.join()


def select_sql(table: SourceTable, columns: list[Column], where: str) -> str:
    """Build the extraction query of ``table`` (the columns only: ingest columns are added in Arrow).

    Args:
        table: Source table.
        columns: Live columns to select.
        where: SQL predicate (without ``where``).

    Returns:
        The query text.
    """
    exprs = [c.select_expr() for c in columns]
    return f"select {', '.join(exprs)} from {table.qualified} where {where}"
