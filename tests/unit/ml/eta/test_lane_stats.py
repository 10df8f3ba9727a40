"""Lane and carrier delivery statistics: known at the close of the delivery day, 28-day window, point-in-time join."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ml.eta.lane_stats import (
    STATS_COLUMNS,
    STATS_TTL,
    attach_lane_carrier_stats,
    carrier_daily_stats,
    delivered_outcomes,
    lane_daily_stats,
)
from ml.eta.synthetic import generate_shipments


def d(month: int, day: int) -> dt.date:
    return dt.date(2024, month, day)


END = d(2, 10)

# Delivery day = ship_date + ceil(actual): a → Jan 3, b → Jan 4, d → Jan 31, e → Jan 6; c is still in transit.
SHIPMENTS = pl.DataFrame(
    {
        "shipment_id": ["a", "b", "c", "d", "e"],
        "lane": ["L", "L", "L", "L", "M"],
        "carrier": ["C", "C", "C", "C", "C"],
        "ship_date": [d(1, 1), d(1, 1), d(1, 2), d(1, 20), d(1, 5)],
        "promised_transit_days": [2.0, 2.0, 2.0, 8.0, 2.0],
        "actual_transit_days": [2.0, 2.5, None, 10.2, 1.0],
    }
)


@pytest.fixture(scope="module")
def lanes() -> pl.DataFrame:
    return lane_daily_stats(SHIPMENTS, end=END)


@pytest.fixture(scope="module")
def carriers() -> pl.DataFrame:
    return carrier_daily_stats(SHIPMENTS, end=END)


def _row(stats: pl.DataFrame, key: str, value: str, day: dt.date) -> dict[str, object]:
    found = stats.filter((pl.col(key) == value) & (pl.col("date") == day))
    assert found.height == 1, (value, day)
    return found.row(0, named=True)


def test_delivery_day_rounds_partial_days_up() -> None:
    days = delivered_outcomes(SHIPMENTS).sort("day")["day"].to_list()
    assert days == [d(1, 3), d(1, 4), d(1, 6), d(1, 31)]


def test_a_day_counts_only_shipments_delivered_by_its_close(lanes: pl.DataFrame) -> None:
    # Jan 3: only a (b arrives on Jan 4, c is in transit).
    jan3 = _row(lanes, "lane", "L", d(1, 3))
    assert jan3["lane_deliveries_28d"] == 1
    assert jan3["lane_transit_mean_28d"] == 2.0 and jan3["lane_transit_p90_28d"] == 2.0
    assert jan3["lane_late_share_28d"] == 0.0 and jan3["lane_delay_mean_28d"] == 0.0
    assert jan3["event_timestamp"] == dt.datetime(2024, 1, 4, tzinfo=dt.UTC)
    # Jan 4: a and b; P90 by linear interpolation between 2.0 and 2.5.
    jan4 = _row(lanes, "lane", "L", d(1, 4))
    assert jan4["lane_deliveries_28d"] == 2
    assert jan4["lane_transit_mean_28d"] == pytest.approx(2.25)
    assert jan4["lane_transit_p90_28d"] == pytest.approx(2.0 + 0.9 * 0.5)
    assert jan4["lane_late_share_28d"] == pytest.approx(0.5)
    assert jan4["lane_delay_mean_28d"] == pytest.approx(0.25)
    # No row before the lane's first delivery.
    assert lanes.filter(pl.col("lane") == "L")["date"].min() == d(1, 3)


def test_window_is_the_trailing_28_days(lanes: pl.DataFrame) -> None:
    # Jan 30 = Jan 3 + 27: a is still inside; on Jan 31 it has left and d has arrived.
    assert _row(lanes, "lane", "L", d(1, 30))["lane_deliveries_28d"] == 2
    jan31 = _row(lanes, "lane", "L", d(1, 31))
    assert jan31["lane_deliveries_28d"] == 2
    assert jan31["lane_transit_mean_28d"] == pytest.approx((2.5 + 10.2) / 2)
    feb1 = _row(lanes, "lane", "L", d(2, 1))  # window Jan 5..Feb 1: b (Jan 4) has left
    assert feb1["lane_deliveries_28d"] == 1 and feb1["lane_transit_mean_28d"] == pytest.approx(10.2)
    assert feb1["lane_late_share_28d"] == 1.0 and feb1["lane_delay_mean_28d"] == pytest.approx(2.2)


def test_no_deliveries_in_the_window_gives_null_statistics(lanes: pl.DataFrame) -> None:
    # M's only delivery (Jan 6) leaves the window after Feb 2 (= Jan 6 + 27).
    assert _row(lanes, "lane", "M", d(2, 2))["lane_deliveries_28d"] == 1
    feb3 = _row(lanes, "lane", "M", d(2, 3))
    assert feb3["lane_deliveries_28d"] == 0
    assert all(
        feb3[c] is None for c in ("lane_transit_mean_28d", "lane_transit_p90_28d", "lane_late_share_28d")
    )
    # One row per lane per day up to the end.
    m = lanes.filter(pl.col("lane") == "M")
    assert m["date"].to_list() == pl.date_range(d(1, 6), END, eager=True).to_list()


def test_carrier_statistics(carriers: pl.DataFrame) -> None:
    jan6 = _row(carriers, "carrier", "C", d(1, 6))  # a, b, e
    assert jan6["carrier_deliveries_28d"] == 3
    assert jan6["carrier_late_share_28d"] == pytest.approx(1 / 3)
    assert jan6["carrier_delay_mean_28d"] == pytest.approx((0.0 + 0.5 - 1.0) / 3)


def test_attach_uses_only_statistics_known_at_booking(lanes: pl.DataFrame, carriers: pl.DataFrame) -> None:
    rows = pl.DataFrame(
        {
            "shipment_id": ["x1", "x2", "x3", "x4", "x5", "x6"],
            "lane": ["L", "L", "L", "L", "unknown", "M"],
            "carrier": ["C", "C", "C", "C", "C", "C"],
            "ship_date": [d(1, 4), d(1, 3), d(2, 1), d(3, 9), d(1, 7), d(1, 6)],
        }
    )
    out = attach_lane_carrier_stats(rows, lanes, carriers)
    assert out["shipment_id"].to_list() == rows["shipment_id"].to_list()
    assert set(STATS_COLUMNS) <= set(out.columns)
    n = out["lane_deliveries_28d"].to_list()
    # x1 booked Jan 4 sees the close of Jan 3 (a only, b is delivered that day); x2 booked Jan 3 sees nothing
    # (the lane's first row is Jan 3's, known at Jan 4 00:00); x3 sees Jan 31; x4, booked Mar 9, sees the last row
    # (Feb 10, known Feb 11 00:00 = Mar 9 - 27 days: within the TTL); x5's lane is unknown; x6 is booked on the day
    # of M's first delivery.
    assert n == [1, None, 2, 1, None, None]
    assert out["carrier_deliveries_28d"].to_list()[0] == 1
    assert out.filter(pl.col("shipment_id") == "x5")["carrier_deliveries_28d"].item() == 3  # Jan 6 close
    # TTL bounds are inclusive and expire older rows, as Feast's.
    x4 = rows.filter(pl.col("shipment_id") == "x4")
    edge = dt.datetime(2024, 3, 9) - dt.datetime(2024, 2, 11)
    assert STATS_TTL >= edge
    assert attach_lane_carrier_stats(x4, lanes, carriers, ttl=edge)["lane_deliveries_28d"].item() == 1
    late = attach_lane_carrier_stats(x4, lanes, carriers, ttl=edge - dt.timedelta(microseconds=1))
    assert late.select(STATS_COLUMNS).null_count().row(0) == (1,) * len(STATS_COLUMNS)


def test_rolling_statistics_equal_a_direct_count_on_synthetic_shipments() -> None:
    shipments, _ = generate_shipments(3000, seed=7, days=90, in_transit_share=0.1)
    lanes = lane_daily_stats(shipments)
    outcomes = delivered_outcomes(shipments)
    sample = lanes.sample(40, seed=1)
    for row in sample.iter_rows(named=True):
        window = outcomes.filter(
            (pl.col("lane") == row["lane"])
            & pl.col("day").is_between(row["date"] - dt.timedelta(days=27), row["date"])
        )
        assert row["lane_deliveries_28d"] == window.height
        if window.height:
            assert row["lane_transit_mean_28d"] == pytest.approx(window["actual"].mean())
            assert row["lane_transit_p90_28d"] == pytest.approx(window["actual"].quantile(0.9, "linear"))
            assert row["lane_late_share_28d"] == pytest.approx(window["late"].mean())
        else:
            assert row["lane_transit_mean_28d"] is None
    # One row per lane and day.
    assert lanes.select("lane", "date").is_duplicated().sum() == 0
