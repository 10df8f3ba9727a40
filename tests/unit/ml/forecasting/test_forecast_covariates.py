"""Target-date covariates: only those known in advance describe a target date, in training and forecasts alike."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ml.forecasting.backtest import future_covariates
from ml.forecasting.config import FUTURE_COVARIATES, ForecastConfig
from ml.forecasting.features import build_training_frame, mask_unknown_covariates
from ml.forecasting.train import train_model


def test_masked_covariates_say_nothing_about_the_target_date(demand) -> None:
    observed = demand[0]
    assert observed["is_promo"].any()  # the fixture has promotions to hide
    masked = build_training_frame(observed, horizon=7, max_rows=5_000, known_covariates=("is_holiday",))
    assert (masked["t_is_promo"] == 0).all()
    assert (masked["t_price_ratio"] == 1).all()
    known = build_training_frame(observed, horizon=7, max_rows=5_000, known_covariates=FUTURE_COVARIATES)
    assert (known["t_is_promo"] == 1).any()
    assert (known["t_price_ratio"] < 1).any()
    # Same sampled rows and targets: only the target-date covariates differ.
    assert_frame_equal(
        masked.select("item", "origin_date", "horizon", "target"),
        known.select("item", "origin_date", "horizon", "target"),
    )


def test_mask_keeps_known_columns_and_dtypes() -> None:
    frame = pl.DataFrame(
        {
            "item": ["a"],
            "warehouse": ["w"],
            "date": [dt.date(2024, 1, 1)],
            "unit_price": [9.5],
            "is_promo": [True],
            "is_holiday": [True],
        }
    )
    out = mask_unknown_covariates(frame, ("is_holiday",))
    assert out.schema == frame.schema
    assert out.row(0) == ("a", "w", dt.date(2024, 1, 1), None, None, True)


def test_forecast_ignores_future_covariates_the_model_was_not_trained_on(demand, fast_config) -> None:
    observed = demand[0]
    cutoff = observed["date"].max() - dt.timedelta(days=28)
    history = observed.filter(pl.col("date") <= cutoff)
    # Every future day announced as a deep promotion.
    future = future_covariates(observed, cutoff, 28).with_columns(
        pl.lit(True).alias("is_promo"), (pl.col("unit_price") * 0.6).alias("unit_price")
    )
    blind = train_model(history, dataclasses.replace(fast_config, known_covariates=("is_holiday",)))
    assert_frame_equal(blind.forecast(history, future=future), blind.forecast(history, future=None))
    aware = train_model(history, dataclasses.replace(fast_config, known_covariates=FUTURE_COVARIATES))
    lifted = aware.forecast(history, future=future)["p50"].sum()
    assert lifted > aware.forecast(history, future=None)["p50"].sum()


def test_config_checks_and_round_trips_known_covariates() -> None:
    with pytest.raises(ValueError, match="known_covariates"):
        ForecastConfig(known_covariates=("quantity",))
    config = ForecastConfig(known_covariates=("is_promo", "is_holiday"))
    assert ForecastConfig.from_dict(config.to_dict()) == config
    # A model saved before the field existed trusted every covariate.
    legacy = {k: v for k, v in config.to_dict().items() if k != "known_covariates"}
    assert ForecastConfig.from_dict(legacy).known_covariates == FUTURE_COVARIATES
