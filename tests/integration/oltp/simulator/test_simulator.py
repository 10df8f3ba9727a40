"""The operations simulator against real PostgreSQL: determinism, plausibility, consistency, both paths."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from oltp.models import TRACKING_EVENT_TYPES
from oltp.simulator import SimulationConfig, simulate
from stockyard.errors import ValidationError
from stockyard.settings import Settings

START = dt.date(2024, 1, 1)
# Columns the database fills from the wall clock or the transaction id: not part of the simulated history.
TECHNICAL = {"created_at", "updated_at", "recorded_at", "txid"}
HISTORY_TABLES = (
    "warehouses",
    "zones",
    "locations",
    "items",
    "customers",
    "suppliers",
    "lane_rates",
    "orders",
    "order_lines",
    "order_status_history",
    "inventory_balances",
    "inventory_ledger",
    "reservations",
    "pick_waves",
    "pick_tasks",
    "shipments",
    "shipment_lines",
    "packages",
    "tracking_events",
    "freight_charges",
    "purchase_orders",
    "purchase_order_lines",
    "receipts",
    "receipt_lines",
    "returns",
    "return_lines",
    "events",
)


def create_database(pg_server: str, template: str) -> str:
    from stockyard.pg import with_database

    name = f"sy_sim_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template))
        )
    return with_database(pg_server, name)


def drop_database(pg_server: str, uri: str) -> None:
    from urllib.parse import urlsplit

    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(urlsplit(uri).path.lstrip("/"))
            )
        )


def _settings(tmp_path: Path, uri: str) -> Settings:
    return Settings(home=tmp_path / "home", pg_dsn=uri)


def _run(tmp_path: Path, uri: str, **kw: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "days": 60,
        "skus": 12,
        "warehouses": 2,
        "seed": 3,
        "mode": "bulk",
        "start_date": START,
        "show_progress": False,
    }
    cfg.update(kw)
    return simulate(SimulationConfig(**cfg), settings=_settings(tmp_path, uri))


def _checksums(uri: str) -> dict[str, str]:
    out = {}
    with psycopg.connect(uri) as conn:
        for table in (*HISTORY_TABLES, "sim.expected_demand", "sim.lane_transit"):
            schema, name = table.split(".") if "." in table else ("public", table)
            cols = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                    "order by ordinal_position",
                    (schema, name),
                )
                if r[0] not in TECHNICAL
            ]
            row = ", ".join(f'"{c}"' for c in cols)
            out[table] = conn.execute(
                f"select md5(coalesce(string_agg(r::text, '|' order by r::text), '')) from (select {row} from {table}) r"
            ).fetchone()[0]
    return out


@pytest.fixture
def two_dbs(pg_server: str, pg_template: str) -> Iterator[tuple[str, str]]:
    a, b = create_database(pg_server, pg_template), create_database(pg_server, pg_template)
    try:
        yield a, b
    finally:
        drop_database(pg_server, a)
        drop_database(pg_server, b)


def test_same_seed_same_history_different_seed_different(
    tmp_path: Path, pg_uri: str, two_dbs: tuple[str, str]
) -> None:
    other_same, other_seed = two_dbs
    _run(tmp_path / "a", pg_uri, write_feeds=False)
    _run(tmp_path / "b", other_same, write_feeds=False)
    _run(tmp_path / "c", other_seed, seed=4, write_feeds=False)
    first, same, different = _checksums(pg_uri), _checksums(other_same), _checksums(other_seed)
    assert first == same
    changed = [t for t in first if first[t] != different[t]]
    assert {"orders", "order_lines", "inventory_ledger", "sim.expected_demand"} <= set(changed)


def test_services_path_is_deterministic(tmp_path: Path, two_dbs: tuple[str, str]) -> None:
    a, b = two_dbs
    _run(tmp_path / "a", a, days=5, mode="services", write_feeds=False)
    _run(tmp_path / "b", b, days=5, mode="services", write_feeds=False)
    first, second = _checksums(a), _checksums(b)
    assert _q(a, "select count(*) from orders")[0][0] > 0
    assert first == second


@pytest.fixture(scope="module")
def history(
    pg_server: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One 120-day bulk history shared by the plausibility checks (read-only)."""
    uri = create_database(pg_server, pg_template)
    home = tmp_path_factory.mktemp("sim")
    try:
        summary = _run(home, uri, days=120, skus=20, seed=11, feed_days=20)
        yield {"uri": uri, "summary": summary, "landing": home / "home" / "landing"}
    finally:
        drop_database(pg_server, uri)


def _q(uri: str, sql: str) -> list[tuple]:
    with psycopg.connect(uri) as conn:
        return conn.execute(sql).fetchall()


def test_weekly_pattern_visible(history: dict[str, Any]) -> None:
    by_dow = dict(
        _q(
            history["uri"],
            "select extract(isodow from o.ordered_at)::int, sum(l.quantity_ordered) from order_lines l "
            "join orders o on o.id = l.order_id group by 1",
        )
    )
    assert len(by_dow) == 7
    assert max(by_dow.values()) / min(by_dow.values()) > 1.15


def test_stockouts_happen_with_lost_and_backordered_demand(history: dict[str, Any]) -> None:
    s = history["summary"]
    assert s["stockout_cell_days"] > 0
    lost = _q(
        history["uri"],
        "select count(*) from order_lines l join orders o on o.id = l.order_id "
        "where l.quantity_cancelled > 0 and o.channel in ('web', 'marketplace', 'api')",
    )[0][0]
    assert lost > 0
    # Backordered retail/B2B demand shipped later: some orders have more than one shipment, or still wait.
    multi = _q(
        history["uri"],
        "select count(*) from (select order_id from shipments group by 1 having count(*) > 1) x",
    )[0][0]
    waiting = _q(history["uri"], "select count(*) from order_lines where quantity_backordered > 0")[0][0]
    assert multi + waiting > 0


def test_promotions_lift_demand(history: dict[str, Any]) -> None:
    rows = _q(
        history["uri"],
        """
        with daily as (
            select l.item_id, o.ordered_at::date as d, bool_or(l.is_promo) as promo, sum(l.quantity_ordered) as q
            from order_lines l join orders o on o.id = l.order_id group by 1, 2
        ), days as (
            select i.id as item_id, d::date as d from items i,
                   generate_series('2024-01-01'::date, '2024-04-29'::date, interval '1 day') d
        ), promo_days as (
            select distinct l.item_id, o.ordered_at::date as d from order_lines l join orders o on o.id = l.order_id
            where l.is_promo
        )
        select days.item_id, (p.d is not null) as promo, avg(coalesce(daily.q, 0))
        from days left join daily using (item_id, d) left join promo_days p using (item_id, d)
        where days.item_id in (select item_id from promo_days)
        group by 1, 2
        """,
    )
    means: dict[int, dict[bool, float]] = {}
    for item, promo, mean in rows:
        means.setdefault(item, {})[promo] = float(mean)
    lifts = [m[True] / m[False] for m in means.values() if m.get(False)]
    assert lifts, "no promotions in the history"
    assert sorted(lifts)[len(lifts) // 2] > 1.2  # median item sells >20% more on promotion days


def test_stock_is_consistent(history: dict[str, Any]) -> None:
    uri = history["uri"]
    mismatches = _q(
        uri,
        """
        select b.id from inventory_balances b
        left join (select location_id, item_id, lot_id, sum(quantity_delta) q from inventory_ledger group by 1, 2, 3) l
          on l.location_id = b.location_id and l.item_id = b.item_id and l.lot_id is not distinct from b.lot_id
        where coalesce(l.q, 0) <> b.on_hand
        """,
    )
    assert mismatches == []
    assert (
        _q(uri, "select count(*) from inventory_balances where on_hand < 0 or reserved > on_hand")[0][0] == 0
    )
    active = _q(
        uri,
        "select coalesce(sum(quantity - quantity_picked), 0) from reservations where status = 'active'",
    )[0][0]
    assert active == _q(uri, "select coalesce(sum(reserved), 0) from inventory_balances")[0][0]
    # Shipped quantities on the lines equal the shipment lines.
    assert (
        _q(uri, "select sum(quantity_shipped) from order_lines")[0][0]
        == _q(uri, "select sum(quantity) from shipment_lines")[0][0]
    )


def test_ground_truth_recorded(history: dict[str, Any]) -> None:
    uri = history["uri"]
    n, days, cells = _q(
        uri,
        "select count(*), count(distinct date), count(distinct (item, warehouse)) from sim.expected_demand",
    )[0]
    assert days == 120 and cells == 20 * 2 and n == 120 * 20 * 2
    lanes = _q(
        uri,
        "select count(*), min(reliability), max(reliability), min(mean_transit_days) from sim.lane_transit",
    )[0]
    assert lanes[0] > 0 and 0 < lanes[1] <= lanes[2] <= 1 and lanes[3] > 0
    # Realised demand tracks expectation overall (within 10%).
    expected = _q(uri, "select sum(expected_demand) from sim.expected_demand")[0][0]
    actual = _q(uri, "select sum(quantity_ordered) from order_lines")[0][0]
    assert abs(actual / expected - 1) < 0.1


def test_feeds_written_and_parseable_except_deliberate_bad_rows(history: dict[str, Any]) -> None:
    landing: Path = history["landing"]
    tracking = sorted((landing / "tracking").glob("tracking_*_*.jsonl"))
    telemetry = sorted((landing / "telemetry").glob("telemetry_*_*.csv"))
    assert len(tracking) == 20 and len(telemetry) == 20
    assert not list(landing.rglob("*.tmp"))
    bad = rows = 0
    for path in tracking:
        for line in path.read_text().splitlines():
            rows += 1
            rec = json.loads(line)
            try:
                ok = (
                    {"event_id", "carrier", "tracking_number", "event_type", "occurred_at"} <= rec.keys()
                    and rec["event_type"] in TRACKING_EVENT_TYPES
                    and dt.datetime.fromisoformat(rec["occurred_at"]).tzinfo is not None
                )
            except ValueError:
                ok = False
            bad += not ok
    for path in telemetry:
        with path.open() as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames[:3] == ["device_id", "device_type", "reading_type"]
            for rec in reader:
                rows += 1
                try:
                    dt.datetime.fromisoformat(rec["ts"])
                    if rec["reading_type"] == "temperature":
                        float(rec["temperature_c"])
                    ok = bool(rec["device_id"]) and rec["device_type"] in ("zone_sensor", "reefer", "truck")
                except ValueError:
                    ok = False
                bad += not ok
    s = history["summary"]
    assert rows == s["feed_rows"]
    assert bad == s["feed_bad_rows"] and 0 < bad < rows * 0.02


def test_services_path_writes_the_same_tables(tmp_path: Path, pg_uri: str, two_dbs: tuple[str, str]) -> None:
    bulk_uri, services_uri = two_dbs
    _run(tmp_path / "bulk", bulk_uri, days=40, write_feeds=False)
    summary = _run(tmp_path / "svc", services_uri, days=12, mode="services", feed_days=3)
    auto = _run(tmp_path / "auto", pg_uri, days=14, mode="auto", services_days=3, write_feeds=False)
    assert summary["services_orders"] > 0 and summary["services_shipments"] > 0
    assert auto["bulk_days"] == 11 and auto["services_orders"] > 0

    def filled(uri: str) -> set[str]:
        return {t for t in HISTORY_TABLES if _q(uri, f"select exists (select 1 from {t})")[0][0]}

    core = set(HISTORY_TABLES) - {"returns", "return_lines"}  # returns need weeks of deliveries
    assert core <= filled(bulk_uri)
    # Twelve days are shorter than supplier lead times: the services run has purchase orders but no receipts yet.
    assert core - {"receipts", "receipt_lines"} <= filled(services_uri)
    assert filled(services_uri) <= filled(bulk_uri)
    for uri in (services_uri, pg_uri):
        mismatches = _q(
            uri,
            """
            select b.id from inventory_balances b
            left join (select location_id, item_id, lot_id, sum(quantity_delta) q from inventory_ledger
                       group by 1, 2, 3) l
              on l.location_id = b.location_id and l.item_id = b.item_id and l.lot_id is not distinct from b.lot_id
            where coalesce(l.q, 0) <> b.on_hand
            """,
        )
        assert mismatches == []
    # The services tail continued the bulk history: bulk-era orders in transit got delivered by the services.
    assert _q(pg_uri, "select count(*) from tracking_events where external_id like 'SVC-%'")[0][0] > 0


def test_refuses_a_second_history(tmp_path: Path, pg_uri: str) -> None:
    _run(tmp_path, pg_uri, days=5, write_feeds=False)
    with pytest.raises(ValidationError, match="already holds"):
        _run(tmp_path, pg_uri, days=5, write_feeds=False)
