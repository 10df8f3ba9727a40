"""Daily repair of the append-only facts: a backfill over a range of days rebuilds exactly those days from the
OLTP (real PostgreSQL + Delta), leaves the others alone, is a no-op when re-run, and never makes the incremental
ingest deliver a row twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import psycopg
import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable, write_deltalake

from integration.ingest.ingest_helpers import MASTER_SQL

FIRST = dt.date(2026, 3, 1)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(6)]  # 1..6 March
TABLES = ["oltp__events", "oltp__inventory_ledger", "oltp__tracking_events", "oltp__order_status_history"]

# Seven events and four ledger rows a day, spread over each UTC day (00:00..23:59), inserted in id order that
# does not follow the day order, so a day's rows are not one id range.
HISTORY_SQL = """
insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at)
select 'order', g::text, 'order.created', jsonb_build_object('n', g),
       timestamptz '2026-03-01 00:00+00' + ((g % 6) || ' days')::interval + ((g * 211 % 1440) || ' minutes')::interval
from generate_series(1, 42) g;
insert into inventory_ledger (occurred_at, warehouse_id, location_id, item_id, quantity_delta, reason)
select timestamptz '2026-03-01 00:00+00' + ((g % 6) || ' days')::interval + ((g * 97 % 1440) || ' minutes')::interval,
       (select min(id) from warehouses), (select min(id) from locations), (select min(id) from items), g, 'pick'
from generate_series(1, 24) g;
"""


@pytest.fixture
def history(stockyard_home: Path, pg_uri: str) -> Any:
    """Six days of events and ledger rows, ingested into bronze by the normal incremental ingest."""
    from ingest.run import run_ingest
    from stockyard.settings import get_settings

    with psycopg.connect(pg_uri) as conn:
        conn.execute(MASTER_SQL)
        conn.execute(HISTORY_SQL)
    settings = get_settings()
    report = run_ingest(settings, tables=TABLES, feeds=False)
    assert report.ok, report.failed
    return settings


def _bronze(settings: Any, table: str) -> pl.DataFrame:
    return pl.read_delta(str(settings.lake_root / "bronze" / table)).sort("id")


def _day(frame: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return frame.filter(pl.col("_partition_date") == day).sort("id")


def _source_ids(uri: str, table: str, day: dt.date) -> list[int]:
    with psycopg.connect(uri) as conn:
        rows = conn.execute(
            f"select id from {table} where (occurred_at at time zone 'UTC')::date = %s order by id", (day,)
        ).fetchall()
    return [r[0] for r in rows]


def _damage(settings: Any) -> None:
    """Lose 2 March, duplicate 3 March, lose one row of 5 March (outside the repaired range)."""
    uri = str(settings.lake_root / "bronze" / "oltp__events")
    table = DeltaTable(uri)
    table.delete("_partition_date = '2026-03-02'")
    frame = _bronze(settings, "oltp__events")
    dataset = DeltaTable(uri).to_pyarrow_dataset()
    write_deltalake(uri, dataset.to_table(filter=ds.field("_partition_date") == DAYS[2]), mode="append")
    lost = int(_day(frame, DAYS[4])["id"][0])
    DeltaTable(uri).delete(f"id = {lost}")
    ledger = str(settings.lake_root / "bronze" / "oltp__inventory_ledger")
    DeltaTable(ledger).delete("_partition_date = '2026-03-04'")


def _repair_defs() -> dg.Definitions:
    from orchestration.defs.ingest.backfill import bronze_day_repair
    from orchestration.resources import build_resources

    return dg.Definitions(assets=[bronze_day_repair], resources=build_resources())


def test_range_backfill_rebuilds_exactly_those_days_and_is_idempotent(history: Any, pg_uri: str) -> None:
    from ingest.run import run_ingest
    from orchestration.defs.ingest.backfill import DAILY_PARTITIONS
    from orchestration.runner import run_graph

    settings = history
    before = _bronze(settings, "oltp__events")
    assert sorted(before["_partition_date"].unique().to_list()) == DAYS
    _damage(settings)
    damaged = _bronze(settings, "oltp__events")
    # A row of 3 March committed after the ingest: above bronze's watermark, so the backfill must leave it to
    # the incremental ingest (taking it would make the next incremental run deliver it twice).
    with psycopg.connect(pg_uri) as conn:
        late = conn.execute(
            "insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at) "
            "values ('order', 'late', 'order.created', '{}', '2026-03-03 12:00+00') returning id"
        ).fetchone()[0]

    # One run over 2..4 March, the way `stockyard run --select group:bronze_repair` launches a range.
    report = run_graph(
        "group:bronze_repair", settings=settings, defs=_repair_defs(), partitions=("2026-03-02", "2026-03-04")
    )
    assert report.success, report.summary()
    assert "bronze/oltp__events__daily" in report.materialized

    repaired = _bronze(settings, "oltp__events")
    for day in DAYS[1:4]:
        ids = _day(repaired, day)["id"].to_list()
        assert ids == [i for i in _source_ids(pg_uri, "events", day) if i != late], day
    assert late not in repaired["id"].to_list()
    # Other days are untouched, row for row (ingest timestamps included): 5 March keeps its damage.
    for day in (DAYS[0], DAYS[4], DAYS[5]):
        assert _day(repaired, day).equals(_day(damaged, day)), day
    assert _day(repaired, DAYS[4]).height == len(_source_ids(pg_uri, "events", DAYS[4])) - 1
    # Repaired rows are of bronze's shape: same columns and values as the original ingest wrote.
    keep = [c for c in before.columns if c not in ("_ingested_at",)]
    original = before.filter(pl.col("_partition_date").is_between(DAYS[1], DAYS[3])).select(keep)
    assert (
        repaired.filter(pl.col("_partition_date").is_between(DAYS[1], DAYS[3])).select(keep).equals(original)
    )
    ledger = _bronze(settings, "oltp__inventory_ledger")
    assert _day(ledger, DAYS[3])["id"].to_list() == _source_ids(pg_uri, "inventory_ledger", DAYS[3])

    # Re-running the same days, one partition per run this time, changes nothing: no new Delta version.
    versions = {t: DeltaTable(str(settings.lake_root / "bronze" / t)).version() for t in TABLES}
    for day in DAYS[1:4]:
        result = dg.materialize(
            [_repair_defs().get_assets_def(dg.AssetKey(["bronze", "oltp__events__daily"]))],
            partition_key=day.isoformat(),
            resources={"stockyard": _repair_defs().resources["stockyard"]},
            selection=[dg.AssetKey(["bronze", "oltp__events__daily"])],
        )
        assert result.success
        metadata = result.asset_materializations_for_node("repair_bronze_days")[0].metadata
        assert metadata["days_replaced"].value == 0 and metadata["days_checked"].value == 1
    assert versions == {t: DeltaTable(str(settings.lake_root / "bronze" / t)).version() for t in TABLES}
    assert _bronze(settings, "oltp__events").equals(repaired)
    assert DAILY_PARTITIONS.get_partition_keys()[0] == "2024-01-01"

    # The incremental ingest then brings exactly the late row: every day equals the source, no id twice.
    assert run_ingest(settings, tables=["oltp__events"], feeds=False).ok
    final = _bronze(settings, "oltp__events")
    assert final["id"].is_duplicated().sum() == 0
    for day in DAYS[1:4]:
        assert _day(final, day)["id"].to_list() == _source_ids(pg_uri, "events", day), day


def test_force_rewrites_value_damage_that_counts_cannot_see(history: Any, pg_uri: str) -> None:
    from ingest.backfill import backfill_days

    settings = history
    uri = str(settings.lake_root / "bronze" / "oltp__events")
    DeltaTable(uri).update({"event_type": "'order.tampered'"}, predicate="_partition_date = '2026-03-01'")
    same = backfill_days("events", DAYS[0], DAYS[1], settings)
    assert same.days_checked == 1 and same.days_replaced == [] and same.version is None
    forced = backfill_days("events", DAYS[0], DAYS[1], settings, force=True)
    assert forced.days_replaced == [DAYS[0]]
    assert forced.rows_written == forced.rows_removed == len(_source_ids(pg_uri, "events", DAYS[0]))
    assert set(_day(_bronze(settings, "oltp__events"), DAYS[0])["event_type"]) == {"order.created"}
    # The watermark is carried over, so the incremental ingest has nothing to re-read.
    from ingest.run import run_ingest

    result = run_ingest(settings, tables=["oltp__events"], feeds=False).results[0]
    assert result.status == "unchanged", result


def test_errors_name_what_to_do(stockyard_home: Path) -> None:
    from ingest.backfill import backfill_days
    from stockyard.errors import NotFoundError, ValidationError

    with pytest.raises(ValidationError, match="cannot be backfilled by day"):
        backfill_days("orders", DAYS[0], DAYS[1])
    with pytest.raises(ValidationError, match="empty day window"):
        backfill_days("events", DAYS[1], DAYS[1])
    with pytest.raises(NotFoundError, match="stockyard ingest"):
        backfill_days("events", DAYS[0], DAYS[1])
