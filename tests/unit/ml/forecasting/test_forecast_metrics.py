"""Metrics on a small case computed by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ml.forecasting.evaluate import (
    bias,
    coverage,
    evaluate_forecasts,
    mase,
    pinball_loss,
    seasonal_naive_scale,
    wape,
)

Y = [10.0, 0.0, 5.0, 5.0]
P10 = [6.0, 0.0, 3.0, 6.0]
P50 = [8.0, 1.0, 5.0, 7.0]
P90 = [12.0, 2.0, 6.0, 8.0]
D0 = dt.date(2024, 1, 15)


def test_point_metrics_by_hand() -> None:
    # |e| = 2, 1, 0, 2 -> 5 over sum y = 20
    assert wape(Y, P50) == pytest.approx(0.25)
    # sum(f - y) = 21 - 20 = 1
    assert bias(Y, P50) == pytest.approx(0.05)
    # mean |e| = 1.25, scale 0.5 everywhere -> 2.5; a zero scale row is ignored
    assert mase(Y, P50, [0.5, 0.5, 0.5, 0.5]) == pytest.approx(2.5)
    assert mase(Y + [3.0], P50 + [0.0], [0.5] * 4 + [0.0]) == pytest.approx(2.5)


def test_quantile_metrics_by_hand() -> None:
    # y - q10 = 4, 0, 2, -1 -> 0.4, 0, 0.2, 0.9 -> mean 0.375
    assert pinball_loss(Y, P10, 0.1) == pytest.approx(0.375)
    # y - q90 = -2, -2, -1, -3 -> 0.2, 0.2, 0.1, 0.3 -> mean 0.2
    assert pinball_loss(Y, P90, 0.9) == pytest.approx(0.2)
    # y - q50 = 2, -1, 0, -2 -> 1, 0.5, 0, 1 -> mean 0.625
    assert pinball_loss(Y, P50, 0.5) == pytest.approx(0.625)
    # last row: 5 < 6 is outside [6, 8]
    assert coverage(Y, P10, P90) == pytest.approx(0.75)


def test_seasonal_naive_scale_by_hand() -> None:
    week1 = [1, 2, 3, 4, 5, 6, 7]
    week2 = [3, 2, 3, 4, 5, 6, 9]
    hist = pl.DataFrame(
        {
            "item": ["A"] * 14,
            "warehouse": ["W"] * 14,
            "date": [D0 - dt.timedelta(days=14 - i) for i in range(14)],
            "quantity": [float(v) for v in week1 + week2],
            "is_stockout": [False] * 14,
        }
    )
    # weekly differences: 2, 0, 0, 0, 0, 0, 2 -> 4 / 7
    assert seasonal_naive_scale(hist)["mase_scale"][0] == pytest.approx(4 / 7)
    # a censored day drops out of the difference that uses it
    censored = hist.with_columns((pl.col("date") == D0 - dt.timedelta(days=1)).alias("is_stockout"))
    assert seasonal_naive_scale(censored)["mase_scale"][0] == pytest.approx(2 / 6)


def test_evaluate_forecasts_excludes_stockouts_and_scores_truth() -> None:
    dates = [D0 + dt.timedelta(days=i) for i in range(5)]
    forecasts = pl.DataFrame(
        {
            "model": ["m"] * 5,
            "item": ["A"] * 5,
            "warehouse": ["W"] * 5,
            "date": dates,
            "horizon": [1, 1, 2, 2, 2],
            "p10": P10 + [0.0],
            "p50": P50 + [50.0],
            "p90": P90 + [60.0],
        }
    )
    actuals = pl.DataFrame(
        {
            "item": ["A"] * 5,
            "warehouse": ["W"] * 5,
            "date": dates,
            "quantity": Y + [0.0],
            # the last day is censored: a forecast of 50 must not be punished against 0
            "is_stockout": [False] * 4 + [True],
            "abc_class": ["A"] * 5,
        }
    )
    scales = pl.DataFrame({"item": ["A"], "warehouse": ["W"], "mase_scale": [0.5]})
    truth = actuals.select("item", "warehouse", "date").with_columns(
        pl.Series("expected_demand", [9.0, 1.0, 5.0, 5.0, 40.0])
    )
    out = evaluate_forecasts(forecasts, actuals, scales, truth=truth)
    overall = out.filter(pl.col("segment") == "overall").row(0, named=True)
    assert overall["n"] == 4
    assert overall["wape"] == pytest.approx(0.25)
    assert overall["mase"] == pytest.approx(2.5)
    assert overall["coverage"] == pytest.approx(0.75)
    assert overall["pinball"] == pytest.approx((0.375 + 0.625 + 0.2) / 3)
    # truth WAPE = (1 + 1 + 0 + 0) / 20 = 0.1 -> ratio 2.5
    assert overall["truth_wape"] == pytest.approx(0.1)
    assert overall["truth_ratio"] == pytest.approx(2.5)
    by_h = {r["key"]: r for r in out.filter(pl.col("segment") == "horizon").iter_rows(named=True)}
    assert by_h["1"]["wape"] == pytest.approx(3 / 10)  # |e| = 2, 1 over y = 10, 0
    assert by_h["2"]["wape"] == pytest.approx(2 / 10)  # |e| = 0, 2 over y = 5, 5
    assert out.filter(pl.col("segment") == "abc_class")["key"].to_list() == ["A"]
