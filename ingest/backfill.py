"""Day-window re-extraction of the append-only OLTP facts into bronze: the repair tool for a bad day.

The incremental ingest (:mod:`ingest.run`) moves each append-only row into bronze exactly once, by transaction
window. It cannot fix a day that went wrong afterwards: files lost or hand-edited, rows duplicated by a restore,
a decoding bug fixed later, a column added by a migration that older bronze rows lack. :func:`backfill_days`
rebuilds whole UTC days of one table from PostgreSQL instead:

1. It reads the table's watermark ``H`` (the transaction horizon bronze has absorbed). Only rows with
   ``txid < H`` are taken: exactly the rows incremental ingest has already delivered, so the next incremental run
   neither duplicates a row the backfill wrote nor misses one it left out (rows at or above ``H`` still arrive
   through the normal window).
2. It compares, day by day, the source (count, sum of ids) with bronze (count, distinct ids, sum of ids) and keeps
   the days that differ (``force`` keeps every day in the window: value-level damage leaves the counts intact).
3. It streams those days from one REPEATABLE READ snapshot and replaces them in one Delta commit
   (``write_deltalake(mode="overwrite", predicate=...)``, deltalake's replaceWhere) that re-stamps ``H``. Other
   days keep their rows (the monthly files the days live in are rewritten with them unchanged).

Replaced rows carry the backfill's time in ``_ingested_at``: the incremental dbt models select what bronze received
since their last run by that column, so their next run recomputes the repaired days like any new data. (Rows
removed from bronze because the source never had them, e.g. duplicates, leave an incremental mart only with a full
refresh.)

Re-running it changes nothing: the repaired days now match and no commit is written. The commit is made against
the table version the comparison read, so an incremental ingest committing in between fails the backfill with a
:class:`~stockyard.errors.ConflictError` (after a few retries) instead of losing its rows.

Days are UTC dates of the table's event time (``_partition_date``), as incremental ingest assigns them. Only tables
tracked by ``txid`` with an event time qualify (``events``, ``inventory_ledger``, ``tracking_events``,
``order_status_history``); mutable tables are merged on their key and have no independent day to rebuild.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from ingest import extract
from ingest.load_delta import check_schema, delta_schema, ensure_layout, table_uri
from ingest.state import Watermark, commit_properties, open_table, read_watermark
from ingest.tables import EVENT_DATE_COLUMN, PARTITION_COLUMN, SourceTable, get_table, registry
from stockyard.errors import ConflictError, NotFoundError, ValidationError
from stockyard.settings import Settings, get_settings

__all__ = [
    "BACKFILL_KEY",
    "BackfillResult",
    "DayCount",
    "backfill_days",
    "backfillable_tables",
    "bronze_day_counts",
    "source_day_counts",
]

log = logging.getLogger(__name__)

#: Commit metadata key describing a backfill commit (table, days replaced, rows), next to the watermark.
BACKFILL_KEY = "stockyard.backfill"
#: Attempts when an ingest commits to the table between the comparison and the backfill's commit.
COMMIT_ATTEMPTS = 3


@dataclass(frozen=True)
class DayCount:
    """Fingerprint of one day of a table: enough to tell a missing, extra or duplicated row.

    Attributes:
        rows: Rows of the day.
        distinct_ids: Distinct ids (equal to ``rows`` in the source, where ids are unique).
        id_sum: Sum of the ids.
    """

    rows: int
    distinct_ids: int
    id_sum: int


@dataclass
class BackfillResult:
    """Outcome of rebuilding a window of days of one bronze table.

    Attributes:
        table: Bronze table name (``oltp__events``).
        start: First day of the window.
        end: Day after the last day of the window (exclusive).
        days_checked: Days in the window holding rows in the source or in bronze.
        days_replaced: Days rewritten (empty when bronze already matched the source).
        rows_removed: Bronze rows of the replaced days before the commit.
        rows_written: Rows written for the replaced days.
        version: Delta version of the backfill commit (None: nothing written).
        watermark: The table's watermark, unchanged by the backfill (``describe()`` form).
        duration_s: Wall time.
    """

    table: str
    start: dt.date
    end: dt.date
    days_checked: int = 0
    days_replaced: list[dt.date] = field(default_factory=list)
    rows_removed: int = 0
    rows_written: int = 0
    version: int | None = None
    watermark: str | None = None
    duration_s: float = 0.0


def backfillable_tables() -> dict[str, SourceTable]:
    """The tables :func:`backfill_days` can rebuild, keyed by bronze name.

    Returns:
        Append-only tables tracked by ``txid`` that carry an event time, in registry order.
    """
    return {
        name: t
        for name, t in registry().items()
        if t.load_mode == "append" and t.tracking == "txid" and t.event_time is not None
    }


def _table(name: str) -> SourceTable:
    table = get_table(name)
    if table.bronze not in backfillable_tables():
        raise ValidationError(
            f"{table.bronze} cannot be backfilled by day: only append-only tables with a txid and an event time "
            f"can ({', '.join(backfillable_tables())})",
            field="table",
            value=name,
        )
    return table


def _day_literal(day: dt.date) -> str:
    return f"'{day.isoformat()}'"


def _day_ranges(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Contiguous ``[first, end)`` ranges covering ``days`` (sorted, unique)."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + dt.timedelta(days=1))
        else:
            ranges.append((day, day + dt.timedelta(days=1)))
    return ranges


def _source_where(table: SourceTable, ranges: list[tuple[dt.date, dt.date]], horizon: int) -> str:
    # Ranges on the raw timestamptz column (not on its date) so an index on the event time can serve them.
    column = f'"{table.event_time}"'
    spans = " or ".join(
        f"({column} >= '{lo.isoformat()}T00:00:00+00:00'::timestamptz "
        f"and {column} < '{hi.isoformat()}T00:00:00+00:00'::timestamptz)"
        for lo, hi in ranges
    )
    return f"txid < {int(horizon)} and ({spans})"


def source_day_counts(
    conn,  # noqa: ANN001 - ADBC connection (no public type)
    table: SourceTable,
    start: dt.date,
    end: dt.date,
    horizon: int,
) -> dict[dt.date, DayCount]:
    """Per-day fingerprint of the source rows below the transaction ``horizon``.

    Args:
        conn: ADBC connection (inside the snapshot the extraction will use).
        table: A table of :func:`backfillable_tables`.
        start: First day.
        end: Day after the last day.
        horizon: Transaction horizon (bronze's watermark ``xid``).

    Returns:
        Day -> :class:`DayCount`, for the days holding rows.
    """
    column = f'"{table.event_time}"'
    # sum(id) is numeric in PostgreSQL; shipped as text so no day overflows int8.
    result = extract.read_query(
        conn,
        f"select ({column} at time zone 'UTC')::date as d, count(*)::int8 as n, "
        f"count(distinct id)::int8 as k, coalesce(sum(id), 0)::text as s "
        f"from {table.qualified} where {_source_where(table, [(start, end)], horizon)} group by 1",
    ).to_pylist()
    return {r["d"]: DayCount(int(r["n"]), int(r["k"]), int(r["s"])) for r in result}


def bronze_day_counts(dt_: DeltaTable, start: dt.date, end: dt.date) -> dict[dt.date, DayCount]:
    """Per-day fingerprint of a bronze table's rows (two columns read; monthly partitions pruned).

    Args:
        dt_: The bronze table.
        start: First day.
        end: Day after the last day.

    Returns:
        Day -> :class:`DayCount`, for the days holding rows.
    """
    dataset = dt_.to_pyarrow_dataset()
    day = ds.field(EVENT_DATE_COLUMN)
    where = (day >= pa.scalar(start, pa.date32())) & (day < pa.scalar(end, pa.date32()))
    if PARTITION_COLUMN in dataset.schema.names:
        month = ds.field(PARTITION_COLUMN)
        where &= (month >= pa.scalar(start.replace(day=1), pa.date32())) & (
            month < pa.scalar(end, pa.date32())
        )
    rows = dataset.to_table(columns=["id", EVENT_DATE_COLUMN], filter=where)
    if rows.num_rows == 0:
        return {}
    grouped = rows.group_by(EVENT_DATE_COLUMN).aggregate(
        [("id", "count"), ("id", "count_distinct"), ("id", "sum")]
    )
    return {
        r[EVENT_DATE_COLUMN]: DayCount(int(r["id_count"]), int(r["id_count_distinct"]), int(r["id_sum"]))
        for r in grouped.to_pylist()
    }


class _Rows:
    """Builds bronze batches (source columns + ingest columns) in the bronze table's own types.

    The ingest columns are those of every bronze append table (``_ingested_at``, ``_op``, ``_is_deleted``,
    ``_watermark``, the event date and month); their types are taken from the table itself, so the rows written
    are exactly of the shape incremental ingest writes.
    """

    def __init__(
        self, table: SourceTable, columns: list[extract.Column], bronze: pa.Schema, watermark: Watermark
    ) -> None:
        self.columns = columns
        names = [c.name for c in columns]
        self.event = names.index(table.event_time)
        fields = [pa.field(c.name, c.arrow) for c in columns]
        self.extra: list[tuple[pa.Field, object]] = []
        now = dt.datetime.now(dt.UTC)
        constants = {
            "_ingested_at": now,
            "_op": "insert",
            "_is_deleted": False,
            "_watermark": watermark.describe(),
        }
        for f in bronze:
            if f.name in names:
                continue
            if f.name in constants:
                self.extra.append((f, pa.scalar(constants[f.name], f.type)))
            elif f.name in (EVENT_DATE_COLUMN, PARTITION_COLUMN):
                self.extra.append((f, None))
            else:
                # A column bronze has but the source no longer does (dropped by a migration): null, as the
                # incremental ingest leaves it for rows written after the drop.
                self.extra.append((f, pa.scalar(None, f.type)))
        self.schema = pa.schema(fields + [f for f, _ in self.extra])

    def __call__(self, batch: pa.RecordBatch) -> list[pa.Array]:
        n = batch.num_rows
        arrays = extract.decode(batch, self.columns)
        day = pc.cast(arrays[self.event], pa.date32())  # UTC date: the column is timestamp[us, UTC]
        for f, value in self.extra:
            if f.name == EVENT_DATE_COLUMN:
                arrays.append(day.cast(f.type))
            elif f.name == PARTITION_COLUMN:
                arrays.append(pc.floor_temporal(day, unit="month").cast(f.type))
            else:
                arrays.append(pa.repeat(value, n))
        return arrays


def _replace_predicate(days: list[dt.date]) -> str:
    months = sorted({d.replace(day=1) for d in days})
    # The month conjunct lets deltalake prune partitions; the day list names exactly the rows replaced.
    return (
        f"{PARTITION_COLUMN} in ({', '.join(map(_day_literal, months))}) "
        f"and {EVENT_DATE_COLUMN} in ({', '.join(map(_day_literal, days))})"
    )


def _counting(reader: pa.RecordBatchReader, counter: list[int]) -> pa.RecordBatchReader:
    def gen() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            counter[0] += batch.num_rows
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, gen())


def _attempt(conn, table: SourceTable, target: str, result: BackfillResult, force: bool) -> None:  # noqa: ANN001
    dt_ = open_table(target)
    watermark = read_watermark(dt_) if dt_ is not None else None
    if dt_ is None or watermark is None:
        raise NotFoundError(
            f"bronze table {table.bronze} does not exist yet: run `stockyard ingest` before backfilling it",
            value=table.bronze,
        )
    dt_ = ensure_layout(dt_, list(table.partition_by), watermark)
    result.watermark = watermark.describe()
    with extract.open_snapshot(conn):
        columns = extract.live_columns(conn, table)
        if not columns:
            raise NotFoundError(f"source table {table.schema}.{table.name} does not exist", value=table.name)
        bronze_schema = delta_schema(dt_)
        rows = _Rows(table, columns, bronze_schema, watermark)
        check_schema(table.bronze, bronze_schema, rows.schema)
        source = source_day_counts(conn, table, result.start, result.end, watermark.xid)
        bronze = bronze_day_counts(dt_, result.start, result.end)
        days = sorted(set(source) | set(bronze))
        result.days_checked = len(days)
        stale = days if force else [d for d in days if source.get(d) != bronze.get(d)]
        if not stale:
            return
        where = _source_where(table, _day_ranges(stale), watermark.xid)
        reader = extract.stream_query(conn, extract.select_sql(table, columns, where), rows.schema, rows)
        counter = [0]
        description = {"days": [d.isoformat() for d in stale], "force": force}
        write_deltalake(
            dt_,
            _counting(reader, counter),
            mode="overwrite",
            predicate=_replace_predicate(stale),
            partition_by=list(table.partition_by) or None,
            schema_mode="merge",
            # Same watermark: the backfill takes no row above it, so incremental ingest continues where it was.
            commit_properties=commit_properties(watermark, **{BACKFILL_KEY: json.dumps(description)}),
        )
    result.days_replaced = stale
    result.rows_removed = sum(bronze[d].rows for d in stale if d in bronze)
    result.rows_written = counter[0]
    result.version = DeltaTable(target).version()


def backfill_days(
    name: str,
    start: dt.date,
    end: dt.date,
    settings: Settings | None = None,
    *,
    uri: str | None = None,
    lake_root: str | Path | None = None,
    force: bool = False,
) -> BackfillResult:
    """Rebuild the UTC days ``[start, end)`` of a bronze append-only table from PostgreSQL, idempotently.

    Days whose bronze rows already match the source (count, distinct ids, id sum) are left alone unless
    ``force``; the others are replaced in one Delta commit. Rows above the table's watermark are not taken (the
    next incremental ingest brings them), so backfill and incremental ingest never deliver a row twice.

    Args:
        name: Bronze (``oltp__events``) or source (``events``) name of a table of :func:`backfillable_tables`.
        start: First day to rebuild.
        end: Day after the last day to rebuild (exclusive).
        settings: Settings (default :func:`get_settings`); used for the DSN and lake root unless given.
        uri: PostgreSQL URI override.
        lake_root: Lake root override.
        force: Rewrite every day of the window that holds rows, even when its fingerprint matches.

    Returns:
        What was checked and replaced.

    Raises:
        ValidationError: the table cannot be backfilled by day, or ``end`` is not after ``start``.
        NotFoundError: bronze has no such table yet (run the ingest first) or the source table is missing.
        ConflictError: other commits to the table kept racing the backfill's commit.
    """
    started = time.perf_counter()
    table = _table(name)
    if end <= start:
        raise ValidationError(
            f"empty day window: end {end} is not after start {start}", field="end", value=end
        )
    if uri is None or lake_root is None:
        settings = settings or get_settings()
        if uri is None:
            from stockyard.pg import ensure_postgres

            uri = ensure_postgres(settings)
        lake_root = lake_root if lake_root is not None else settings.lake_root
    target = table_uri(str(lake_root), table.bronze)
    result = BackfillResult(table=table.bronze, start=start, end=end)
    conn = extract.connect(uri)
    try:
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                _attempt(conn, table, target, result, force)
                break
            except CommitFailedError as exc:
                # An ingest committed after the comparison: compare again against the new version.
                log.warning(
                    "backfill of %s raced another commit (attempt %d): %s", table.bronze, attempt, exc
                )
                if attempt == COMMIT_ATTEMPTS:
                    raise ConflictError(
                        f"backfill of {table.bronze} lost {COMMIT_ATTEMPTS} commit races against other writers; "
                        "run it again when the ingest is idle",
                        value=table.bronze,
                    ) from exc
    finally:
        conn.close()
    result.duration_s = time.perf_counter() - started
    return result
