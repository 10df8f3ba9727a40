"""Pure parts of the bronze layout and the cheap merge: key ranges, predicate text, numeric decoding, stamping, and
the file size of partitioned writes (a local Delta table)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from ingest.extract import Column, decode
from ingest.load_delta import append, key_range_predicate
from ingest.run import _schema, _Stamp, coalesce_ranges
from ingest.state import Watermark
from ingest.tables import EVENT_DATE_COLUMN, PARTITION_COLUMN, get_table, registry


def test_append_tables_are_partitioned_by_month_and_status_history_uses_txid() -> None:
    reg = registry()
    for name in ("events", "inventory_ledger", "tracking_events", "order_status_history"):
        table = reg[f"oltp__{name}"]
        assert table.partition_by == (PARTITION_COLUMN,) == ("_partition_month",), name
        assert table.tracking == "txid", name
    assert reg["oltp__order_lines"].partition_by == ()


def test_coalesce_ranges_merges_overlaps_and_caps_the_count() -> None:
    assert coalesce_ranges([(10, 20), (1, 3), (15, 30), (4, 5)], 10) == [(1, 5), (10, 30)]
    # the smallest gaps close first: 3→5 (gap 2) and 12→20 (gap 8) go, 6→100 (gap 94) stays
    assert coalesce_ranges([(1, 3), (5, 6), (100, 110), (112, 120)], 2) == [(1, 6), (100, 120)]
    assert coalesce_ranges([(7, 7)], 1) == [(7, 7)]
    assert coalesce_ranges([], 4) == []


def test_coalesced_ranges_always_cover_every_input() -> None:
    rng = random.Random(3)
    for _ in range(200):
        points = [rng.randint(0, 10_000) for _ in range(rng.randint(1, 60))]
        ranges = [(p, p + rng.randint(0, 50)) for p in points]
        cap = rng.randint(1, 8)
        out = coalesce_ranges(ranges, cap)
        assert len(out) <= cap
        assert all(a[1] < b[0] for a, b in zip(out, out[1:], strict=False))  # sorted, disjoint
        for lo, hi in ranges:
            assert any(a <= lo and hi <= b for a, b in out)


def test_key_range_predicate_uses_comparisons() -> None:
    text = key_range_predicate("t", "id", [(1, 9), (20, 20)])
    assert text == "(t.id >= 1 and t.id <= 9) or (t.id >= 20 and t.id <= 20)"
    assert "between" not in text


def test_numeric_travels_as_unscaled_int8_and_decodes_exactly() -> None:
    price = Column("unit_price", "numeric", 14, 4)
    assert price.select_expr() == '("unit_price" * 10000)::int8 as "unit_price"'
    assert price.wire == pa.int64() and price.arrow == pa.decimal128(14, 4)
    assert Column("x", "numeric").select_expr() == '"x"::float8 as "x"'  # unconstrained → float64
    assert Column("big", "numeric", 30, 2).select_expr() == '"big"::text as "big"'  # beyond int8
    unscaled = pa.array([99_990_000, -5, None, 12_345_678_901_234], pa.int64())
    batch = pa.record_batch([unscaled.slice(1), pa.array(["1.5", "2", None])], names=["unit_price", "big"])
    out = decode(batch, [price, Column("big", "numeric", 30, 2)])
    assert out[0].type == pa.decimal128(14, 4)
    assert out[0].to_pylist() == [Decimal("-0.0005"), None, Decimal("1234567890.1234")]
    assert out[1].to_pylist() == [Decimal("1.50"), Decimal("2.00"), None]


def test_stamp_adds_ingest_columns_and_event_day_and_month() -> None:
    table = get_table("inventory_ledger")
    columns = [Column("id", "int8"), Column("occurred_at", "timestamptz")]
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    stamp = _Stamp(table, columns, now, Watermark(xid=7))
    times = [dt.datetime(2024, 3, 31, 23, 30, tzinfo=dt.UTC), dt.datetime(2024, 4, 1, 0, 0, tzinfo=dt.UTC)]
    batch = pa.record_batch(
        [pa.array([1, 2], pa.int64()), pa.array(times, pa.timestamp("us", tz="UTC"))],
        names=["id", "occurred_at"],
    )
    out = pa.RecordBatch.from_arrays(stamp(batch), schema=_schema(table, columns)).to_pydict()
    assert out[EVENT_DATE_COLUMN] == [dt.date(2024, 3, 31), dt.date(2024, 4, 1)]
    assert out[PARTITION_COLUMN] == [dt.date(2024, 3, 1), dt.date(2024, 4, 1)]
    assert out["_op"] == ["insert", "insert"] and out["_is_deleted"] == [False, False]
    assert out["_watermark"] == ["xid=7"] * 2 and out["_ingested_at"] == [now, now]
    # a longer batch after a shorter one still gets full-length constants
    longer = pa.record_batch(
        [pa.array([3, 4, 5], pa.int64()), pa.array(times + times[:1])], names=["id", "t"]
    )
    assert len(stamp(longer)[3]) == 3


@pytest.mark.parametrize(("created", "updated", "op"), [(1, 1, "insert"), (1, 2, "update")])
def test_stamp_derives_the_operation_of_mutable_rows(created: int, updated: int, op: str) -> None:
    table = get_table("order_lines")
    columns = [Column("id", "int4"), Column("created_at", "timestamptz"), Column("updated_at", "timestamptz")]
    ts = pa.timestamp("us", tz="UTC")
    batch = pa.record_batch(
        [
            pa.array([1], pa.int32()),
            pa.array([created], pa.int64()).cast(ts),
            pa.array([updated], pa.int64()).cast(ts),
        ],
        names=["id", "created_at", "updated_at"],
    )
    arrays = _Stamp(table, columns, dt.datetime.now(dt.UTC), Watermark())(batch)
    assert arrays[4].to_pylist() == [op]


def _month_interleaved(rows: int, batch: int) -> pa.RecordBatchReader:
    """Rows whose months alternate within every batch (the worst case for a partitioned writer)."""
    schema = pa.schema([("id", pa.int64()), ("noise", pa.int64()), (PARTITION_COLUMN, pa.date32())])
    rng = random.Random(11)
    months = [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, rows, batch):
            ids = list(range(start, min(rows, start + batch)))
            yield pa.record_batch(
                [
                    pa.array(ids, pa.int64()),
                    pa.array([rng.getrandbits(62) for _ in ids], pa.int64()),  # incompressible: files grow
                    pa.array([months[i % 2] for i in ids], pa.date32()),
                ],
                schema=schema,
            )

    return pa.RecordBatchReader.from_batches(schema, batches())


def test_partitioned_append_cuts_files_at_the_write_size_without_recording_it(tmp_path: Path) -> None:
    rows, size = 120_000, 256 * 1024
    bounded, default = f"{tmp_path}/bounded", f"{tmp_path}/default"
    append(
        bounded,
        _month_interleaved(rows, 10_000),
        watermark=Watermark(xid=2),
        partition_by=[PARTITION_COLUMN],
        write_file_size=size,
    )
    append(
        default, _month_interleaved(rows, 10_000), watermark=Watermark(xid=2), partition_by=[PARTITION_COLUMN]
    )

    cut, whole = DeltaTable(bounded), DeltaTable(default)
    # the default write size (8 MB) leaves each month's ~480 KB in one file; 256 KB cuts it into several
    assert len(whole.file_uris()) == 2
    assert len(cut.file_uris()) > 2 * 2
    # not recorded in the table: compaction still bins into large files
    assert "delta.targetFileSize" not in cut.metadata().configuration
    cut_rows = cut.to_pyarrow_table()
    assert cut_rows.sort_by("id").equals(whole.to_pyarrow_table().sort_by("id"))
    assert cut_rows.num_rows == rows
