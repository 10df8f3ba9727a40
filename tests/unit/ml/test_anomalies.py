"""Alert rows for demand, cold chain and late shipments."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ml.anomalies import ALERT_SCHEMA, cold_chain_alerts, demand_interval_alerts, late_shipment_alerts

D = dt.date(2024, 3, 1)


def test_demand_outside_interval_severity_and_stockout_exemption() -> None:
    dates = [D + dt.timedelta(days=i) for i in range(5)]
    actuals = pl.DataFrame(
        {
            "item": ["A"] * 5,
            "warehouse": ["W"] * 5,
            "date": dates,
            "quantity": [10.0, 13.0, 30.0, 1.0, 0.0],
            "is_stockout": [False, False, False, False, True],
        }
    )
    forecasts = actuals.select("item", "warehouse", "date").with_columns(
        pl.lit(5.0).alias("p10"), pl.lit(12.0).alias("p90")
    )
    out = demand_interval_alerts(actuals, forecasts)
    assert out.schema == pl.Schema(ALERT_SCHEMA)
    # width = 12 - 5 + 1 = 8: 13 -> 1/8 low; 30 -> 18/8 high; 1 -> 4/8 medium; 0 on a stockout day -> none
    assert out["date"].to_list() == dates[1:4]
    assert out["severity"].to_list() == ["low", "high", "medium"]
    assert out["threshold"].to_list() == [12.0, 12.0, 5.0]
    assert out["reason"][1] == "sold 30.0 above P90 12.0 (interval 5.0-12.0)"


def test_cold_chain_excursions_by_magnitude_times_duration() -> None:
    t0 = dt.datetime(2024, 3, 1, 8, 0)
    temps_r1 = [4.0, 9.0, 10.0, 5.0, 5.0, 1.0, 5.0]  # 10-min readings, limits 2..8
    temps_r2 = [4.0, 8.5, 4.0]
    rows = [("R1", t0 + dt.timedelta(minutes=10 * i), t) for i, t in enumerate(temps_r1)]
    rows += [("R2", t0 + dt.timedelta(minutes=10 * i), t) for i, t in enumerate(temps_r2)]
    telemetry = pl.DataFrame(rows, schema=["zone", "ts", "temperature_c"], orient="row").with_columns(
        pl.lit(2.0).alias("min_c"), pl.lit(8.0).alias("max_c")
    )
    out = cold_chain_alerts(telemetry)
    assert out.schema == pl.Schema(ALERT_SCHEMA)
    assert out.select("zone", "severity", "value", "threshold").rows() == [
        ("R1", "medium", 10.0, 8.0),  # peak 2 °C over for 20 min = 40 degree-minutes
        ("R1", "low", 1.0, 2.0),  # 1 °C under for 10 min = 10
        ("R2", "low", 8.5, 8.0),  # 0.5 °C over for 10 min = 5
    ]
    assert out["reason"][0] == "2.0 °C above max 8.0 °C for 20 min (peak 10.0 °C, 40 degree-minutes)"
    long = telemetry.with_columns(pl.col("temperature_c") + 10)  # R1 and R2 out of range throughout
    assert set(cold_chain_alerts(long)["severity"]) == {"high"}


def test_late_shipments_only_when_p50_is_past_the_promise() -> None:
    ships = pl.DataFrame(
        {
            "shipment_id": ["a", "b", "c", "d", "e"],
            "ship_date": [D] * 5,
            "promised_transit_days": [3.0] * 5,
            "actual_transit_days": [None, None, None, None, 6.0],
        }
    )
    preds = pl.DataFrame(
        {
            "shipment_id": ["a", "b", "c", "d", "e"],
            "p10": [2.0, 2.5, 3.5, 1.0, 5.0],
            "p50": [2.5, 3.4, 4.0, 4.5, 6.0],
            "p90": [4.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    out = late_shipment_alerts(ships, preds)
    # a: on time; e: already delivered
    assert out.select("shipment_id", "severity").rows() == [("b", "low"), ("c", "high"), ("d", "medium")]
    assert out["date"].unique().to_list() == [D + dt.timedelta(days=3)]
    assert out["value"].to_list() == pytest.approx([3.4, 4.0, 4.5])
    assert out["reason"][0].startswith("predicted P50 arrival 2024-03-05 (3.4 d")
