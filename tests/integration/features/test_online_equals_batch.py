"""Served forecast (Feast online state → inference_rows_from_state → model) equals the batch forecast."""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402

from ml import feature_store as fsm  # noqa: E402
from ml.forecasting.config import ForecastConfig  # noqa: E402
from ml.forecasting.features import LAST_YEAR_COLUMNS, build_inference_features  # noqa: E402
from ml.forecasting.predict import batch_forecast  # noqa: E402
from ml.forecasting.synthetic import generate_demand  # noqa: E402
from ml.forecasting.train import train_model  # noqa: E402
from serving.feast_features import FeastFeatureSource  # noqa: E402
from serving.features import FeaturesUnavailableError  # noqa: E402
from stockyard.errors import NotFoundError  # noqa: E402
from stockyard.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def demand() -> pl.DataFrame:
    # > 1 year, so the last-year features are real numbers, not nulls.
    observed, _truth = generate_demand(n_items=4, n_warehouses=2, n_days=420, seed=11)
    return observed


def test_served_rows_and_forecast_equal_the_batch_forecast(tmp_path: Path, demand: pl.DataFrame) -> None:
    settings = Settings(home=tmp_path / "home")
    source = FeastFeatureSource(settings, recheck_s=0.0)
    with pytest.raises(FeaturesUnavailableError):
        source.forecast_features("SKU0000", "WH00", 28)  # nothing applied yet

    fsm.write_demand_state(demand, settings)
    fsm.apply_repo(settings)
    with pytest.raises(FeaturesUnavailableError, match="materialised"):
        source.forecast_features("SKU0000", "WH00", 28)  # applied, never materialised
    fsm.materialize(settings)

    model = train_model(
        demand, ForecastConfig(num_threads=1, num_boost_round=30, max_train_rows=10_000, min_data_in_leaf=40)
    )
    batch = batch_forecast(model, demand, horizon=28)
    batch_rows = build_inference_features(demand, horizon=28)
    assert batch_rows["last_year_7"].null_count() == 0, "fixture too short to exercise the last-year features"

    keys = demand.select("item", "warehouse").unique().sort("item", "warehouse").rows()
    for item, warehouse in keys:
        served = source.forecast_features(item, warehouse, 28)
        expected_rows = batch_rows.filter((pl.col("item") == item) & (pl.col("warehouse") == warehouse))
        got_rows = pl.from_pandas(served.frame).with_columns(pl.col("date", "origin_date").cast(pl.Date))
        assert served.origin_date == demand["date"].max()
        assert served.dates == expected_rows["date"].to_list()
        for col in expected_rows.columns:
            a, b = got_rows[col], expected_rows[col]
            if a.dtype.is_numeric():
                np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-9, err_msg=col)
            else:
                assert a.cast(pl.String).to_list() == b.cast(pl.String).to_list(), col

        preds = model.predict(served.frame)
        want = batch.filter((pl.col("item") == item) & (pl.col("warehouse") == warehouse))
        for q in ("p10", "p50", "p90"):
            np.testing.assert_allclose(preds[q].to_numpy(), want[q].to_numpy(), rtol=0, atol=1e-9, err_msg=q)

    # Every last-year column reached the online store (a feature missing from the view would be null here).
    online = fsm.online_demand_state(keys, settings)
    assert online.select(LAST_YEAR_COLUMNS).null_count().sum_horizontal().item() == 0

    # Same answer object while the state is unchanged (serving's answer cache keys on it).
    assert source.forecast_features(*keys[0], 28) is source.forecast_features(*keys[0], 28)

    with pytest.raises(NotFoundError):
        source.forecast_features("NO-SUCH-ITEM", "WH00", 28)
    assert source.status()["status"] == "ok"
