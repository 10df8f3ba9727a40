"""Training: reproducibility, quantile sanity, persistence, accuracy against the baselines."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from ml.forecasting.backtest import backtest, future_covariates
from ml.forecasting.predict import batch_forecast
from ml.forecasting.synthetic import generate_demand
from ml.forecasting.train import ForecastModel, train_model


def _split(observed: pl.DataFrame, days: int = 28) -> tuple[pl.DataFrame, pl.DataFrame, dt.date]:
    cutoff = observed["date"].max() - dt.timedelta(days=days)
    return observed.filter(pl.col("date") <= cutoff), future_covariates(observed, cutoff, days), cutoff


def test_same_seed_gives_identical_predictions(demand, fast_config) -> None:
    history, future, _ = _split(demand[0])
    first = train_model(history, fast_config).forecast(history, future=future)
    second = train_model(history, fast_config).forecast(history, future=future)
    assert_frame_equal(first, second)


def test_quantiles_are_ordered_non_negative_and_persist(demand, fast_config, tmp_path) -> None:
    history, future, cutoff = _split(demand[0])
    model = train_model(history, fast_config)
    fc = model.forecast(history, future=future)
    assert fc.height == 20 * 28
    assert fc["date"].min() == cutoff + dt.timedelta(days=1)
    assert (fc["p10"] >= 0).all()
    assert (fc["p10"] <= fc["p50"]).all() and (fc["p50"] <= fc["p90"]).all()
    reloaded = ForecastModel.load(model.save(tmp_path / "model"))
    assert_frame_equal(reloaded.forecast(history, future=future), fc)
    batch = batch_forecast(reloaded, history, future=future, model_version="7")
    assert batch.columns == ["item", "warehouse", "date", "horizon", "p10", "p50", "p90", "model_version"]
    np.testing.assert_allclose(batch["p50"], fc["p50"])
    assert set(batch["model_version"]) == {"7"}


def test_model_beats_seasonal_naive_on_strongly_seasonal_data(fast_config) -> None:
    observed, truth = generate_demand(n_items=12, n_warehouses=2, n_days=400, seed=11)
    result = backtest(observed, config=fast_config, n_folds=3, truth=truth)
    assert sorted(result.metrics["model"].unique()) == ["lightgbm", "moving_average", "seasonal_naive"]
    assert len(result.cutoffs) == 3
    ours, naive = result.overall("lightgbm"), result.overall("seasonal_naive")
    assert ours["wape"] < 0.85 * naive["wape"]
    assert ours["pinball"] < naive["pinball"]
    assert ours["mase"] < 1.0
    assert 0.65 < ours["coverage"] < 0.95
    assert ours["truth_ratio"] < 1.2
    horizons = result.metrics.filter((pl.col("model") == "lightgbm") & (pl.col("segment") == "horizon"))
    assert horizons.height == 28
