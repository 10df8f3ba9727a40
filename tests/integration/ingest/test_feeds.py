"""Landing feeds: bad rows quarantined with reasons, good rows land, each file once, late files accepted."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from ingest.feeds import ingest_feed
from stockyard.settings import Settings

HEADER = (
    "device_id,device_type,reading_type,warehouse,zone,shipment_number,ts,temperature_c,lat,lon,speed_kmh"
)


def _event(event_id: str, **kw: object) -> str:
    base = {
        "event_id": event_id,
        "carrier": "DHL",
        "tracking_number": "TN1",
        "event_type": "in_transit",
        "occurred_at": "2024-03-01T10:00:00+02:00",
        "location": "Hub",
        "lat": 50.1,
        "lon": 8.6,
    }
    return json.dumps(base | kw)


def test_tracking_quarantine_dedupe_once_and_late(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", pg_dsn="postgresql://unused@localhost/x")
    landing = settings.landing_dir / "tracking"
    landing.mkdir(parents=True)
    lines = [
        _event("e1"),
        "not json",
        _event("e2", event_type="beamed"),
        _event("e3", occurred_at="2024-03-01T10:00:00"),  # no offset
        _event("e4", lat=123.0),
        _event("e1"),  # duplicate event id
        _event("e5", location=None, lat=None, lon=None),
    ]
    (landing / "b.jsonl").write_text("\n".join(lines) + "\n")
    first = ingest_feed("tracking_events", settings)
    assert (first.rows_written, first.rows_quarantined) == (2, 4)

    q = pl.read_delta(str(settings.quarantine_dir / "tracking_events")).sort("line_number")
    assert q["line_number"].to_list() == [2, 3, 4, 5]
    assert q["raw"][0] == "not json" and q["file"][0] == "tracking/b.jsonl"
    reasons = q["reason"].to_list()
    assert (
        "invalid JSON" in reasons[0]
        and "beamed" in reasons[1]
        and "offset" in reasons[2]
        and "lat" in reasons[3]
    )

    assert ingest_feed("tracking_events", settings).status == "unchanged"  # processed once
    (landing / "a_late.jsonl").write_text(
        _event("e0", occurred_at="2023-12-31T23:00:00Z") + "\n" + _event("e5") + "\n"
    )
    late = ingest_feed("tracking_events", settings)
    assert late.rows_written == 1  # e0 lands, e5 is a duplicate of an earlier file

    bronze = pl.read_delta(str(settings.bronze_dir / "feeds__tracking_events"))
    assert sorted(bronze["event_id"].to_list()) == ["e0", "e1", "e5"]
    assert bronze.filter(pl.col("event_id") == "e1")["occurred_at"].to_list()[0].hour == 8  # +02:00 → UTC
    q_after = pl.read_delta(str(settings.quarantine_dir / "tracking_events"))
    assert q_after.height == 4


def test_telemetry_rules(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", pg_dsn="postgresql://unused@localhost/x")
    landing = settings.landing_dir / "telemetry"
    landing.mkdir(parents=True)
    rows = [
        HEADER,
        "s1,zone_sensor,temperature,W1,Z1,,2024-03-01T00:00:00Z,3.5,,,",
        "r1,reefer,temperature,,,SH1,2024-03-01T00:00:00Z,,,,",  # temperature missing
        "t1,truck,gps,,,SH1,2024-03-01T00:05:00+00:00,,50.0,8.0,72.5",
        "t2,truck,gps,,,SH1,2024-03-01T00:05:00+00:00,,50.0,,72.5",  # lon missing
        "x1,drone,gps,,,SH1,2024-03-01T00:05:00+00:00,,50.0,8.0,10",  # unknown device
        "t3,truck,gps,,,SH1,2024-03-01T00:05:00+00:00,,50.0,8.0",  # too few fields
    ]
    (landing / "day1.csv").write_text("\n".join(rows) + "\n")
    result = ingest_feed("telemetry", settings)
    assert (result.rows_written, result.rows_quarantined) == (2, 4)
    q = pl.read_delta(str(settings.quarantine_dir / "telemetry")).sort("line_number")
    assert q["line_number"].to_list() == [3, 5, 6, 7]
    assert "temperature_c: required" in q["reason"][0] and "lon: required" in q["reason"][1]
    assert ingest_feed("telemetry", settings).status == "unchanged"
    bronze = pl.read_delta(str(settings.bronze_dir / "feeds__telemetry"))
    assert bronze["_source_file"].unique().to_list() == ["telemetry/day1.csv"]
    assert bronze.height == 2
