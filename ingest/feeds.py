"""External feeds from ``$STOCKYARD_HOME/landing``: carrier tracking (JSON lines) and IoT telemetry (CSV).

Each file is processed once. Rows are validated against the feed's schema; good rows land in
``bronze/feeds__<feed>`` and malformed rows go to ``<lake_root>/quarantine/<feed>`` (Delta) with the raw line, the
file, the line number and the reason. Late files (older event times, arriving after newer ones) are accepted: files
are keyed by name, not by time.

Exactly once, per file: a run (1) quarantines the bad rows of files not yet in the quarantine table, (2) lands the
good rows — tracking by a merge that inserts only unseen ``event_id`` (which also dedupes across files), telemetry
by an append of files not yet present in bronze (``_source_file``) — and (3) records the files in the manifest
(``<lake_root>/_manifests/feeds``). A crash between steps leaves each sink either with all of a file's rows or
none, and the re-run skips the sinks that already have them.

Validation is a per-line loop in Python: feed files are small (minutes of carrier/IoT traffic) and the raw line has
to be kept for quarantine anyway; the bulk OLTP path never does this.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import write_deltalake

from ingest.load_delta import table_uri
from ingest.state import commit_properties, open_table
from stockyard.errors import NotFoundError
from stockyard.feeds import (
    DEVICE_TYPES,
    READING_TYPES,
    TELEMETRY_COLUMNS,
    TELEMETRY_SCHEMA,
    TRACKING_SCHEMA,
)
from stockyard.settings import Settings, get_settings

__all__ = [
    "FEEDS",
    "TELEMETRY_COLUMNS",
    "Feed",
    "ParsedFile",
    "ingest_feed",
    "parse_telemetry",
    "parse_tracking",
]


_TS = pa.timestamp("us", tz="UTC")

_INGEST_FIELDS = [
    pa.field("_source_file", pa.string()),
    pa.field("_line_number", pa.int64()),
    pa.field("_ingested_at", _TS),
    pa.field("_op", pa.string()),
    pa.field("_is_deleted", pa.bool_()),
    pa.field("_watermark", pa.string()),
]
QUARANTINE_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("line_number", pa.int64()),
        ("raw", pa.string()),
        ("reason", pa.string()),
        ("_ingested_at", _TS),
    ]
)
MANIFEST_SCHEMA = pa.schema(
    [
        ("feed", pa.string()),
        ("file", pa.string()),
        ("size_bytes", pa.int64()),
        ("rows_loaded", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("processed_at", _TS),
    ]
)


class RowError(ValueError):
    """One malformed feed row (the message is the quarantine reason)."""


@dataclass
class ParsedFile:
    """Good rows and quarantined rows of one file."""

    file: str
    good: list[dict[str, Any]]
    bad: list[dict[str, Any]]  # file, line_number, raw, reason


# --------------------------------------------------------------------------------------------------- validators
def _ts(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise RowError(f"{name}: expected an ISO-8601 timestamp with offset, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RowError(f"{name}: not an ISO-8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise RowError(f"{name}: timestamp without UTC offset: {value!r}")
    return parsed.astimezone(dt.UTC)


def _str(value: Any, name: str, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise RowError(f"{name}: required")
        return None
    if not isinstance(value, str):
        raise RowError(f"{name}: expected a string, got {type(value).__name__}")
    return value


def _float(
    value: Any, name: str, *, required: bool = False, lo: float | None = None, hi: float | None = None
):  # noqa: ANN202
    if value is None or value == "":
        if required:
            raise RowError(f"{name}: required")
        return None
    if isinstance(value, bool):
        raise RowError(f"{name}: expected a number, got a boolean")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError(f"{name}: not a number: {value!r}") from None
    if not math.isfinite(number):
        raise RowError(f"{name}: not finite: {value!r}")
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise RowError(f"{name}: {number} outside [{lo}, {hi}]")
    return number


def _tracking_row(obj: Any) -> dict[str, Any]:
    from oltp.models import TRACKING_EVENT_TYPES

    if not isinstance(obj, dict):
        raise RowError("expected a JSON object")
    event_type = _str(obj.get("event_type"), "event_type")
    if event_type not in TRACKING_EVENT_TYPES:
        raise RowError(f"event_type: {event_type!r} not one of {', '.join(TRACKING_EVENT_TYPES)}")
    return {
        "event_id": _str(obj.get("event_id"), "event_id"),
        "carrier": _str(obj.get("carrier"), "carrier"),
        "tracking_number": _str(obj.get("tracking_number"), "tracking_number"),
        "event_type": event_type,
        "occurred_at": _ts(obj.get("occurred_at"), "occurred_at"),
        "location": _str(obj.get("location"), "location", required=False),
        "lat": _float(obj.get("lat"), "lat", lo=-90, hi=90),
        "lon": _float(obj.get("lon"), "lon", lo=-180, hi=180),
    }


def parse_tracking(text: str, file: str) -> ParsedFile:
    """Validate a tracking JSON-lines file.

    Args:
        text: File content.
        file: File name (recorded with every row).

    Returns:
        Good rows (typed) and bad rows (raw line + reason); blank lines are ignored.
    """
    parsed = ParsedFile(file, [], [])
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RowError(f"invalid JSON: {exc.msg}") from None
            row = _tracking_row(obj)
        except RowError as exc:
            parsed.bad.append({"file": file, "line_number": number, "raw": line, "reason": str(exc)})
            continue
        row["_line_number"] = number
        parsed.good.append(row)
    return parsed


def _telemetry_row(rec: dict[str, str]) -> dict[str, Any]:
    device_type = _str(rec["device_type"], "device_type")
    if device_type not in DEVICE_TYPES:
        raise RowError(f"device_type: {device_type!r} not one of {', '.join(sorted(DEVICE_TYPES))}")
    reading_type = _str(rec["reading_type"], "reading_type")
    if reading_type not in READING_TYPES:
        raise RowError(f"reading_type: {reading_type!r} not one of {', '.join(sorted(READING_TYPES))}")
    row = {
        "device_id": _str(rec["device_id"], "device_id"),
        "device_type": device_type,
        "reading_type": reading_type,
        "warehouse": _str(rec["warehouse"], "warehouse", required=False),
        "zone": _str(rec["zone"], "zone", required=False),
        "shipment_number": _str(rec["shipment_number"], "shipment_number", required=False),
        "ts": _ts(rec["ts"], "ts"),
        "temperature_c": _float(
            rec["temperature_c"], "temperature_c", required=reading_type == "temperature", lo=-100, hi=100
        ),
        "lat": _float(rec["lat"], "lat", required=reading_type == "gps", lo=-90, hi=90),
        "lon": _float(rec["lon"], "lon", required=reading_type == "gps", lo=-180, hi=180),
        "speed_kmh": _float(rec["speed_kmh"], "speed_kmh", lo=0, hi=400),
    }
    return row


def parse_telemetry(text: str, file: str) -> ParsedFile:
    """Validate a telemetry CSV file (header ``device_id,device_type,...,speed_kmh``).

    Args:
        text: File content.
        file: File name.

    Returns:
        Good rows and bad rows; a file with a wrong header quarantines every row with that reason.
    """
    parsed = ParsedFile(file, [], [])
    lines = text.splitlines()
    if not lines:
        return parsed
    header = next(csv.reader([lines[0]]))
    header_error = None
    if tuple(h.strip() for h in header) != TELEMETRY_COLUMNS:
        header_error = f"header {','.join(header)!r} is not {','.join(TELEMETRY_COLUMNS)!r}"
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            if header_error:
                raise RowError(header_error)
            values = next(csv.reader(io.StringIO(line)))
            if len(values) != len(TELEMETRY_COLUMNS):
                raise RowError(f"expected {len(TELEMETRY_COLUMNS)} fields, got {len(values)}")
            row = _telemetry_row(dict(zip(TELEMETRY_COLUMNS, values, strict=True)))
        except RowError as exc:
            parsed.bad.append({"file": file, "line_number": number, "raw": line, "reason": str(exc)})
            continue
        row["_line_number"] = number
        parsed.good.append(row)
    return parsed


# -------------------------------------------------------------------------------------------------------- feeds
@dataclass(frozen=True)
class Feed:
    """One landing feed."""

    name: str
    subdir: str
    pattern: str
    schema: pa.Schema
    parse: Callable[[str, str], ParsedFile]
    key: str | None  # dedupe key (merge insert-if-absent), None → append per file

    @property
    def bronze(self) -> str:
        """Bronze table name."""
        return f"feeds__{self.name}"


FEEDS: dict[str, Feed] = {
    "tracking_events": Feed(
        "tracking_events", "tracking", "*.jsonl", TRACKING_SCHEMA, parse_tracking, "event_id"
    ),
    "telemetry": Feed("telemetry", "telemetry", "*.csv", TELEMETRY_SCHEMA, parse_telemetry, None),
}


def _feed(name: str) -> Feed:
    key = name.removeprefix("feeds__")
    if key == "tracking":
        key = "tracking_events"
    if key not in FEEDS:
        raise NotFoundError(f"unknown feed {name!r}; known: {', '.join(FEEDS)}", field="feed", value=name)
    return FEEDS[key]


def _files_in(uri: str, column: str, files: Iterable[str], extra: Any = None) -> set[str]:
    """Which of ``files`` already appear in the Delta table's ``column`` (empty set when the table is missing)."""
    dt_ = open_table(uri)
    wanted = list(files)
    if dt_ is None or not wanted:
        return set()
    expr = pc.field(column).isin(wanted)
    if extra is not None:
        expr = expr & extra
    table = dt_.to_pyarrow_dataset().to_table(columns=[column], filter=expr)
    return set(table.column(column).unique().to_pylist())


def _manifest_uri(root: str) -> str:
    return f"{root.rstrip('/')}/_manifests/feeds"


def _quarantine_uri(root: str, feed: Feed) -> str:
    return f"{root.rstrip('/')}/quarantine/{feed.name}"


def _good_table(feed: Feed, parsed: list[ParsedFile], now: dt.datetime) -> pa.Table:
    rows = [dict(r, _source_file=p.file) for p in parsed for r in p.good]
    columns: dict[str, pa.Array] = {f.name: pa.array([r[f.name] for r in rows], f.type) for f in feed.schema}
    columns["_source_file"] = pa.array([r["_source_file"] for r in rows], pa.string())
    columns["_line_number"] = pa.array([r["_line_number"] for r in rows], pa.int64())
    columns["_ingested_at"] = pa.array([now] * len(rows), _TS)
    columns["_op"] = pa.array(["insert"] * len(rows), pa.string())
    columns["_is_deleted"] = pa.array([False] * len(rows), pa.bool_())
    columns["_watermark"] = columns["_source_file"]
    schema = pa.schema(list(feed.schema) + _INGEST_FIELDS)
    table = pa.table(columns, schema=schema)
    if feed.key and table.num_rows:
        # Keep the first occurrence of each key (by file name, then line) inside this batch.
        table = table.sort_by([("_source_file", "ascending"), ("_line_number", "ascending")])
        import polars as pl

        table = (
            pl.from_arrow(table)
            .unique(subset=[feed.key], keep="first", maintain_order=True)
            .to_arrow()
            .cast(schema)
        )
    return table


def ingest_feed(name: str, settings: Settings | None = None, *, lake_root: str | Path | None = None):  # noqa: ANN201
    """Ingest the files of a feed that are not in the manifest yet.

    Args:
        name: ``tracking_events`` (or ``tracking``, ``feeds__tracking_events``) or ``telemetry``.
        settings: Settings (landing directory and lake root).
        lake_root: Lake root override.

    Returns:
        An :class:`ingest.run.TableResult` (rows read, landed, quarantined).
    """
    from ingest.run import TableResult

    started = time.perf_counter()
    settings = settings or get_settings()
    root = str(lake_root or settings.lake_root)
    feed = _feed(name)
    result = TableResult(table=feed.bronze)
    landing = settings.landing_dir / feed.subdir
    candidates = sorted(landing.glob(feed.pattern)) if landing.is_dir() else []
    manifest = _manifest_uri(root)
    rel = {str(p.relative_to(settings.landing_dir)): p for p in candidates}
    done = _files_in(manifest, "file", rel, pc.field("feed") == feed.name)
    pending = {k: v for k, v in rel.items() if k not in done}
    if not pending:
        # With no landing files yet, still create the (empty) bronze table: downstream dbt sources must exist
        # for a home whose history came from `stockyard import` rather than the simulator.
        b_uri = table_uri(root, feed.bronze)
        if open_table(b_uri) is None:
            empty = pa.schema(list(feed.schema) + _INGEST_FIELDS).empty_table()
            write_deltalake(b_uri, empty, mode="append")
        result.status = "unchanged"
        result.duration_s = time.perf_counter() - started
        return result

    now = dt.datetime.now(dt.UTC)
    parsed = [
        feed.parse(path.read_text(encoding="utf-8", errors="replace"), key) for key, path in pending.items()
    ]
    result.rows_read = sum(len(p.good) + len(p.bad) for p in parsed)

    # 1. quarantine (files already quarantined by a crashed run are skipped)
    q_uri = _quarantine_uri(root, feed)
    bad_files = {p.file for p in parsed if p.bad}
    already = _files_in(q_uri, "file", bad_files)
    bad_rows = [dict(b, _ingested_at=now) for p in parsed if p.file not in already for b in p.bad]
    if bad_rows:
        write_deltalake(q_uri, pa.Table.from_pylist(bad_rows, schema=QUARANTINE_SCHEMA), mode="append")
    result.rows_quarantined = sum(len(p.bad) for p in parsed)

    # 2. good rows
    b_uri = table_uri(root, feed.bronze)
    good = _good_table(feed, parsed, now)
    props = commit_properties(None, **{"stockyard.feed_files": sorted(pending)})
    dt_ = open_table(b_uri)
    if dt_ is None:
        write_deltalake(b_uri, good, mode="append", commit_properties=props)
        result.rows_written = good.num_rows
    elif good.num_rows and feed.key:
        metrics = (
            dt_.merge(
                good,
                predicate=f"t.{feed.key} = s.{feed.key}",
                source_alias="s",
                target_alias="t",
                merge_schema=True,
                commit_properties=props,
            )
            .when_not_matched_insert_all()
            .execute()
        )
        result.rows_written = int(metrics.get("num_target_rows_inserted", 0))
    elif good.num_rows:
        landed = _files_in(b_uri, "_source_file", {p.file for p in parsed if p.good})
        if landed:
            good = good.filter(pc.invert(pc.field("_source_file").isin(list(landed))))
        if good.num_rows:
            write_deltalake(b_uri, good, mode="append", schema_mode="merge", commit_properties=props)
        result.rows_written = good.num_rows

    # 3. manifest
    sizes = {k: p.stat().st_size for k, p in pending.items()}
    manifest_rows = [
        {
            "feed": feed.name,
            "file": p.file,
            "size_bytes": sizes[p.file],
            "rows_loaded": len(p.good),
            "rows_quarantined": len(p.bad),
            "processed_at": now,
        }
        for p in parsed
    ]
    write_deltalake(manifest, pa.Table.from_pylist(manifest_rows, schema=MANIFEST_SCHEMA), mode="append")
    result.watermark = f"files={len(done) + len(pending)}"
    result.duration_s = time.perf_counter() - started
    return result
