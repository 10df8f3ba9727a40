"""Pure parts of ingest: registry derivation, type mapping, watermark encoding, schema checks, feed parsing."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from ingest.extract import Column, arrow_type
from ingest.feeds import TELEMETRY_COLUMNS, parse_telemetry, parse_tracking
from ingest.load_delta import IncompatibleSchemaError, check_schema
from ingest.state import Watermark
from ingest.tables import PARTITION_COLUMN, get_table, registry
from stockyard.errors import NotFoundError, StockyardError


def test_registry_covers_models_except_excluded() -> None:
    from oltp.models import MUTABLE_TABLES, Base

    reg = registry()
    expected = {f"oltp__{t}" for t in Base.metadata.tables if t not in ("api_keys", "cdc_deletes")}
    assert {k for k in reg if k.startswith("oltp__")} == expected
    assert {"sim__expected_demand", "sim__lane_transit"} <= set(reg)
    for name in MUTABLE_TABLES:
        assert (reg[f"oltp__{name}"].load_mode, reg[f"oltp__{name}"].tracking) == ("merge", "updated_at")
    ledger = reg["oltp__inventory_ledger"]
    assert (ledger.load_mode, ledger.tracking, ledger.partition_by) == ("append", "txid", (PARTITION_COLUMN,))
    assert reg["oltp__order_status_history"].tracking == "txid"  # column added by migration 0004
    assert reg["oltp__order_status_history"].event_time == "changed_at"


def test_get_table_accepts_both_names() -> None:
    assert get_table("orders") is not None and get_table("oltp__orders").name == "orders"
    with pytest.raises(NotFoundError):
        get_table("nope")


@pytest.mark.parametrize(
    ("udt", "p", "s", "expected"),
    [
        ("timestamptz", None, None, pa.timestamp("us", tz="UTC")),
        ("date", None, None, pa.date32()),
        ("numeric", 14, 4, pa.decimal128(14, 4)),
        ("numeric", None, None, pa.float64()),
        ("jsonb", None, None, pa.string()),
        ("int4", None, None, pa.int32()),
        ("uuid", None, None, pa.string()),
    ],
)
def test_arrow_type(udt: str, p: int | None, s: int | None, expected: pa.DataType) -> None:
    assert arrow_type(udt, p, s) == expected


def test_non_native_columns_are_cast_to_text_in_sql() -> None:
    assert Column("payload", "jsonb").select_expr() == '"payload"::text as "payload"'
    assert Column("id", "int8").select_expr() == '"id"'


def test_watermark_roundtrip_ignores_unknown_keys() -> None:
    wm = Watermark(xid=42, time="2024-01-01T00:00:00+00:00", max_id=7)
    assert Watermark.from_json(wm.to_json()) == wm
    data = json.loads(wm.to_json()) | {"future": 1}
    assert Watermark.from_json(json.dumps(data)) == wm
    assert wm.describe() == "xid=42;time=2024-01-01T00:00:00+00:00"


def test_check_schema() -> None:
    old = pa.schema([("id", pa.int64()), ("name", pa.string())])
    check_schema("t", old, pa.schema([("id", pa.int64()), ("name", pa.string()), ("new", pa.int32())]))
    with pytest.raises(IncompatibleSchemaError) as err:
        check_schema("oltp__t", old, pa.schema([("id", pa.int64()), ("name", pa.int32())]))
    assert isinstance(err.value, StockyardError)
    assert (err.value.table, err.value.column) == ("oltp__t", "name")
    assert "string" in err.value.message and "int32" in err.value.message


def test_parse_tracking() -> None:
    ok = {
        "event_id": "a",
        "carrier": "UPS",
        "tracking_number": "1Z",
        "event_type": "delivered",
        "occurred_at": "2024-05-01T12:00:00-05:00",
        "location": None,
        "lat": None,
        "lon": None,
    }
    text = "\n".join(
        [json.dumps(ok), "[1,2]", json.dumps(ok | {"carrier": 5}), "", json.dumps(ok | {"lon": "x"})]
    )
    parsed = parse_tracking(text, "f.jsonl")
    assert [r["event_id"] for r in parsed.good] == ["a"]
    assert parsed.good[0]["occurred_at"].hour == 17
    assert [(b["line_number"], b["reason"].split(":")[0]) for b in parsed.bad] == [
        (2, "expected a JSON object"),
        (3, "carrier"),
        (5, "lon"),
    ]


def test_parse_telemetry_wrong_header_quarantines_everything() -> None:
    parsed = parse_telemetry("a,b\n1,2\n", "t.csv")
    assert not parsed.good and parsed.bad[0]["line_number"] == 2 and "header" in parsed.bad[0]["reason"]
    good = parse_telemetry(
        ",".join(TELEMETRY_COLUMNS) + "\nd,truck,gps,,,S,2024-01-01T00:00:00Z,,1,2,\n", "t.csv"
    )
    assert good.good[0]["lat"] == 1.0 and good.good[0]["speed_kmh"] is None
