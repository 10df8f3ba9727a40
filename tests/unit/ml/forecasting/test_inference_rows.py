"""inference_rows_from_state: the one origin-state → model-input function gives the rows the old lookup gave."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ml.forecasting.features import (
    KEYS,
    LAST_YEAR_COLUMNS,
    build_inference_features,
    build_training_frame,
    inference_rows_from_state,
    prepare_history,
    series_state,
)


def _last_year_by_lookup(rows: pl.DataFrame, history: pl.DataFrame) -> pl.Series:
    """The previous implementation: mean_7 looked up in the full state history at target_date - 361."""
    state = series_state(prepare_history(history))
    last_year = state.select(
        *KEYS, (pl.col("date") + pl.duration(days=361)).alias("date"), pl.col("mean_7").alias("_ly")
    )
    joined = rows.join(last_year, on=[*KEYS, "date"], how="left", maintain_order="left")
    return (joined["_ly"] / joined["scale"]).alias("last_year_7")


def test_last_year_columns_equal_the_full_history_lookup(demand) -> None:
    observed, _ = demand
    rows = build_inference_features(observed, horizon=28)
    assert rows["last_year_7"].null_count() < rows.height  # 400 days: some horizons reach last year
    assert_frame_equal(
        rows.select("last_year_7"), _last_year_by_lookup(rows, observed).to_frame(), check_exact=True
    )


def test_training_rows_use_the_same_last_year_values(demand) -> None:
    observed, _ = demand
    frame = build_training_frame(observed, horizon=28, max_rows=5_000)
    expected = _last_year_by_lookup(frame.rename({"target_date": "date"}), observed)
    assert frame["last_year_7"].null_count() < frame.height
    assert_frame_equal(frame.select("last_year_7"), expected.to_frame(), check_exact=True)


def test_one_state_row_is_enough_and_batch_goes_through_it(demand) -> None:
    observed, _ = demand
    origin = observed["date"].max() - dt.timedelta(days=10)
    state = series_state(prepare_history(observed.filter(pl.col("date") <= origin)))
    one = state.filter((pl.col("date") == origin) & (pl.col("item") == "SKU0003"))
    from_state = inference_rows_from_state(
        one.drop("date").with_columns(pl.lit(origin).alias("origin_date")), horizon=14
    )
    batch = build_inference_features(observed, horizon=14, origin=origin).filter(pl.col("item") == "SKU0003")
    assert from_state.height == 14 * one.height and one.height == 2
    assert_frame_equal(from_state, batch, check_exact=True)
    assert set(LAST_YEAR_COLUMNS) <= set(state.columns)


def test_horizon_beyond_the_state_columns_is_refused(demand) -> None:
    observed, _ = demand
    with pytest.raises(ValueError, match="horizon"):
        build_inference_features(observed, horizon=29)
