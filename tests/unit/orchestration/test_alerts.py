"""``marts/fct_alerts`` mappings on small frames: forecast history, out-of-sample intervals, the three alert kinds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from ml.anomalies import ALERT_SCHEMA
from orchestration.defs.alerts.frames import (
    alert_counts,
    build_alerts,
    cold_chain_excursion_alerts,
    forecast_history,
    latest_prior_forecast,
)

D = dt.date(2026, 3, 1)


def _forecast(issued: dt.date, days: int, p10: float, p90: float, version: str = "1") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item": ["A"] * days,
            "warehouse": ["W1"] * days,
            "date": [issued + dt.timedelta(days=h) for h in range(1, days + 1)],
            "horizon": list(range(1, days + 1)),
            "p10": [p10] * days,
            "p50": [(p10 + p90) / 2] * days,
            "p90": [p90] * days,
            "model_version": [version] * days,
        }
    )


def test_history_keys_by_issue_date_and_a_rerun_replaces_its_issue() -> None:
    history = forecast_history(None, _forecast(D, 3, 1, 5))
    assert history["issued_on"].unique().to_list() == [D]
    history = forecast_history(history, _forecast(D + dt.timedelta(days=1), 3, 2, 6))
    rerun = forecast_history(history, _forecast(D + dt.timedelta(days=1), 3, 3, 7, version="2"))
    assert rerun.height == 6
    second = rerun.filter(pl.col("issued_on") == D + dt.timedelta(days=1))
    assert second["model_version"].unique().to_list() == ["2"]
    assert second["p10"].unique().to_list() == [3.0]


def test_each_day_is_tested_against_the_latest_forecast_issued_before_it() -> None:
    history = forecast_history(
        forecast_history(None, _forecast(D, 3, 1, 5)), _forecast(D + dt.timedelta(days=1), 3, 2, 6)
    )
    prior = latest_prior_forecast(history).sort("date")
    # D+1 only the first issue covers; D+2 and D+3 the second (shorter horizon); D+4 only the second.
    assert prior["date"].to_list() == [D + dt.timedelta(days=k) for k in (1, 2, 3, 4)]
    assert prior["issued_on"].to_list() == [
        D,
        D + dt.timedelta(days=1),
        D + dt.timedelta(days=1),
        D + dt.timedelta(days=1),
    ]
    assert (prior["issued_on"] < prior["date"]).all()


def test_excursion_rows_map_to_alert_schema_with_side_and_severity() -> None:
    started = dt.datetime(2026, 3, 2, 10, 0)
    excursions = pl.DataFrame(
        {
            "device_id": ["T1", "R9", "T2"],
            "warehouse": ["W1", None, "W1"],
            "zone": ["COLD", None, "FRZ"],
            "shipment_number": [None, "S-7", None],
            "started_at": [started, started, started],
            "duration_minutes": [60.0, 10.0, 0.0],
            "min_temperature_c": [9.0, 0.5, -15.0],
            "max_temperature_c": [11.0, 1.0, -15.0],
            "allowed_min_temp_c": [2.0, 2.0, -30.0],
            "allowed_max_temp_c": [8.0, 8.0, -18.0],
            "max_deviation_c": [3.0, 1.5, 3.0],
        }
    )
    alerts = cold_chain_excursion_alerts(excursions)
    assert alerts.schema == pl.Schema(ALERT_SCHEMA)
    rows = {r["zone"]: r for r in alerts.to_dicts()}
    # 3 °C x 60 min = 180 degree-minutes: high; above max, peak 11 against 8.
    assert (rows["COLD"]["severity"], rows["COLD"]["value"], rows["COLD"]["threshold"]) == ("high", 11.0, 8.0)
    assert "above max" in rows["COLD"]["reason"]
    # A reefer has no zone: the device names it, the shipment is kept; 1.5 x 10 = 15: low, below min.
    assert (rows["R9"]["severity"], rows["R9"]["shipment_id"], rows["R9"]["value"]) == ("low", "S-7", 0.5)
    assert "below min" in rows["R9"]["reason"]
    assert rows["FRZ"]["severity"] == "low" and rows["FRZ"]["threshold"] == -18.0
    assert alerts["date"].unique().to_list() == [started.date()]


def test_build_alerts_concatenates_all_kinds_and_counts_by_severity() -> None:
    forecasts = forecast_history(None, _forecast(D, 2, 4, 6))
    demand = pl.DataFrame(
        {
            "item": ["A", "A", "A"],
            "warehouse": ["W1"] * 3,
            "date": [D, D + dt.timedelta(days=1), D + dt.timedelta(days=2)],
            "quantity": [100.0, 20.0, 5.0],  # D has no prior forecast; D+1 far above P90; D+2 inside
            "is_stockout": [False, False, False],
        }
    )
    shipments = pl.DataFrame(
        {
            "shipment_id": [1, 2, 3],
            "ship_date": [D, D, D],
            "promised_transit_days": [2.0, 2.0, 2.0],
            "actual_transit_days": [None, None, 5.0],
        }
    )
    eta = pl.DataFrame(
        {
            "shipment_id": ["1", "2", "3"],
            "p10": [3.0, 1.0, 4.0],
            "p50": [4.0, 1.5, 5.0],
            "p90": [5.0, 2.0, 6.0],
        }
    )
    empty_excursions = pl.DataFrame(
        schema={"device_id": pl.String, "zone": pl.String, "started_at": pl.Datetime("us")}
    )
    alerts = build_alerts(
        demand=demand, forecasts=forecasts, excursions=empty_excursions, shipments=shipments, eta=eta
    )
    assert alerts.schema == pl.Schema(ALERT_SCHEMA)
    demand_rows = alerts.filter(pl.col("alert_type") == "demand_outside_interval")
    assert demand_rows["date"].to_list() == [D + dt.timedelta(days=1)]
    assert demand_rows["severity"].to_list() == ["high"] and demand_rows["threshold"].to_list() == [6.0]
    late = alerts.filter(pl.col("alert_type") == "shipment_late_risk")
    # Shipment 2 arrives early, 3 is delivered: only 1, late even at P10.
    assert late["shipment_id"].to_list() == ["1"] and late["severity"].to_list() == ["high"]
    counts = alert_counts(alerts)
    assert counts.to_dicts() == [
        {"alert_type": "demand_outside_interval", "low": 0, "medium": 0, "high": 1, "total": 1},
        {"alert_type": "shipment_late_risk", "low": 0, "medium": 0, "high": 1, "total": 1},
    ]


def test_no_forecast_history_yet_means_no_demand_alerts() -> None:
    empty = pl.DataFrame(schema={"item": pl.String, "warehouse": pl.String, "date": pl.Date})
    alerts = build_alerts(
        demand=pl.DataFrame({"item": ["A"], "warehouse": ["W1"], "date": [D], "quantity": [1e6]}),
        forecasts=empty,
        excursions=pl.DataFrame(schema={"device_id": pl.String}),
        shipments=pl.DataFrame(schema={"shipment_id": pl.String}),
        eta=pl.DataFrame(schema={"shipment_id": pl.String}),
    )
    assert alerts.height == 0 and alerts.schema == pl.Schema(ALERT_SCHEMA)


def test_assets_publish_history_and_alerts_from_gold(tmp_path: Path) -> None:
    """Both asset bodies over hand-written gold Parquet: history grows by issue, alerts land in gold with counts."""
    import dagster as dg

    from orchestration.defs.alerts.assets import demand_forecast_history, fct_alerts
    from orchestration.resources import StockyardResource
    from stockyard.settings import Settings

    gold = Settings(home=tmp_path).gold_dir
    gold.mkdir(parents=True)
    pl.DataFrame(
        {"item": ["A"], "warehouse": ["W1"], "date": [D + dt.timedelta(days=1)], "quantity": [50.0]}
    ).write_parquet(gold / "fct_demand_daily.parquet")
    pl.DataFrame(
        {
            "device_id": ["T1"],
            "warehouse": ["W1"],
            "zone": ["COLD"],
            "shipment_number": [None],
            "started_at": [dt.datetime(2026, 3, 2, 10)],
            "duration_minutes": [20.0],
            "min_temperature_c": [9.0],
            "max_temperature_c": [10.0],
            "allowed_min_temp_c": [2.0],
            "allowed_max_temp_c": [8.0],
            "max_deviation_c": [2.0],
        }
    ).write_parquet(gold / "fct_cold_chain_excursions.parquet")
    pl.DataFrame(
        {
            "shipment_id": ["1"],
            "ship_date": [D],
            "promised_transit_days": [2.0],
            "actual_transit_days": [None],
        }
    ).write_parquet(gold / "fct_shipments.parquet")
    pl.DataFrame({"shipment_id": ["1"], "p10": [1.0], "p50": [2.5], "p90": [4.0]}).write_parquet(
        gold / "fct_shipment_eta.parquet"
    )
    resources = {"stockyard": StockyardResource(home=str(tmp_path))}
    # Last night's forecast is already in the history; tonight's is appended by the asset.
    forecast_history(None, _forecast(D, 3, 4, 6)).write_parquet(gold / "fct_demand_forecast_history.parquet")
    _forecast(D + dt.timedelta(days=1), 3, 4, 6).write_parquet(gold / "fct_demand_forecast.parquet")
    result = dg.materialize([demand_forecast_history, fct_alerts], resources=resources)
    assert result.success
    history = pl.read_parquet(gold / "fct_demand_forecast_history.parquet")
    assert history["issued_on"].unique().sort().to_list() == [D, D + dt.timedelta(days=1)]
    alerts = pl.read_parquet(gold / "fct_alerts.parquet")
    assert sorted(zip(alerts["alert_type"], alerts["severity"], strict=True)) == [
        ("cold_chain_excursion", "medium"),  # 2 °C x 20 min = 40 degree-minutes
        ("demand_outside_interval", "high"),
        ("shipment_late_risk", "low"),  # P50 half a day past the promise, P10 on time
    ]
    (metadata,) = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["marts", "fct_alerts"])
    ]
    assert metadata["dagster/row_count"].value == 3
    assert "| demand_outside_interval | 0 | 0 | 1 | 1 |" in metadata["counts"].value
