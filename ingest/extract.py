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
    """

    xmin: int
    time_horizon: dt.datetime


@contextmanager
def open_snapshot(conn) -> Iterator[Snapshot]:  # noqa: ANN001
    """Open a read-only REPEATABLE READ transaction; every query inside sees the same snapshot.

    Args:
        conn: ADBC connection in autocommit mode.

    Yields:
        The snapshot's horizons.
    """
    horizon = time_horizon(conn)
    _execute(conn, "begin isolation level repeatable read read only")
    try:
        row = read_query(
            conn, "select pg_snapshot_xmin(pg_current_snapshot())::text::int8 as xmin"
        ).to_pylist()[0]
        yield Snapshot(xmin=int(row["xmin"]), time_horizon=horizon)
    finally:
        _execute(conn, "rollback")


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
) -> pa.RecordBatchReader:
    """Stream the result of ``sql`` as record batches of ``schema``, each built by ``finish``.

    The reader must be fully consumed (or closed) before the connection runs another query.

    Args:
        conn: ADBC connection.
        sql: Query text.
        schema: Schema of the produced batches.
        finish: Turns one ADBC batch into the arrays of ``schema`` (typing, ingest columns).

    Returns:
        A streaming reader; memory stays at a few batches whatever the result size.
    """
    cur = conn.cursor()
    if BATCH_SIZE_HINT is not None:
        cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_SIZE_HINT)})
    cur.execute(sql)
    reader = cur.fetch_record_batch()

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                if batch.num_rows:
                    yield pa.RecordBatch.from_arrays(finish(batch), schema=schema)
        finally:
            cur.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


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
