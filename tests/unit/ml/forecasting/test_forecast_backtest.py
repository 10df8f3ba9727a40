"""Backtest folds and baselines."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ml.forecasting.backtest import (
    backtest,
    backtest_id,
    future_covariates,
    moving_average_forecast,
    rolling_origin_cutoffs,
    seasonal_naive_forecast,
)

START = dt.date(2024, 1, 1)  # a Monday


def _weekly_series(weeks: int = 6) -> pl.DataFrame:
    pattern = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    n = 7 * weeks
    return pl.DataFrame(
        {
            "item": ["A"] * n,
            "warehouse": ["W"] * n,
            "date": [START + dt.timedelta(days=i) for i in range(n)],
            "quantity": pattern * weeks,
            "is_stockout": [False] * n,
        }
    )


def test_cutoffs_are_non_overlapping_and_end_one_horizon_before_the_data() -> None:
    last = dt.date(2024, 12, 31)
    cutoffs = rolling_origin_cutoffs(last, n_folds=3, horizon=28)
    assert cutoffs == [
        last - dt.timedelta(days=84),
        last - dt.timedelta(days=56),
        last - dt.timedelta(days=28),
    ]
    assert rolling_origin_cutoffs(last, 2, 28, step=7) == [
        last - dt.timedelta(days=35),
        last - dt.timedelta(days=28),
    ]
    with pytest.raises(ValueError):
        rolling_origin_cutoffs(last, 0, 28)


def test_seasonal_naive_repeats_last_week_and_skips_censored_days() -> None:
    hist = _weekly_series()
    fc = seasonal_naive_forecast(hist, pl.DataFrame(), 14)
    assert fc["p50"].to_list() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0] * 2
    # a perfectly periodic series has zero weekly residuals: a degenerate interval
    assert fc["p10"].to_list() == fc["p50"].to_list() == fc["p90"].to_list()
    # last Sunday censored at 0 -> falls back to the Sunday before (7), not 0
    censored = hist.with_columns(
        pl.when(pl.col("date") == hist["date"].max())
        .then(0.0)
        .otherwise(pl.col("quantity"))
        .alias("quantity"),
        (pl.col("date") == hist["date"].max()).alias("is_stockout"),
    )
    assert seasonal_naive_forecast(censored, pl.DataFrame(), 7)["p50"][-1] == 7.0


def test_moving_average_is_flat_at_the_window_mean() -> None:
    fc = moving_average_forecast(_weekly_series(), pl.DataFrame(), 5)
    assert fc["p50"].to_list() == [4.0] * 5
    assert (fc["p10"] <= fc["p50"]).all() and (fc["p90"] >= fc["p50"]).all()


def test_future_covariates_never_carry_sales() -> None:
    df = _weekly_series().with_columns(pl.lit(False).alias("is_promo"), pl.lit(9.5).alias("unit_price"))
    cutoff = START + dt.timedelta(days=20)
    fut = future_covariates(df, cutoff, 7)
    assert fut.columns == ["item", "warehouse", "date", "unit_price", "is_promo"]
    assert fut["date"].min() == cutoff + dt.timedelta(days=1) and fut.height == 7


def test_backtest_always_runs_baselines_and_has_a_stable_id() -> None:
    df = _weekly_series(weeks=12)

    def zero(history: pl.DataFrame, future: pl.DataFrame, horizon: int) -> pl.DataFrame:
        fc = seasonal_naive_forecast(history, future, horizon)
        return fc.with_columns(pl.lit(0.0).alias("p10"), pl.lit(0.0).alias("p50"), pl.lit(0.0).alias("p90"))

    result = backtest(df, {"zero": zero}, n_folds=3, horizon=7)
    assert set(result.fit_seconds) == {"zero", "seasonal_naive", "moving_average"}
    assert result.overall("seasonal_naive")["wape"] == pytest.approx(0.0)
    assert result.overall("zero")["wape"] == pytest.approx(1.0)
    assert result.forecasts.filter(pl.col("model") == "zero")["fold"].unique().sort().to_list() == [0, 1, 2]
    assert result.backtest_id == backtest_id(df, result.cutoffs, 7)
    assert result.backtest_id != backtest_id(df, result.cutoffs, 14)
