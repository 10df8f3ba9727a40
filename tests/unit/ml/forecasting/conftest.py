"""Shared small synthetic data and a fast model configuration for forecasting unit tests."""

from __future__ import annotations

import polars as pl
import pytest

from ml.forecasting.config import ForecastConfig
from ml.forecasting.synthetic import generate_demand


@pytest.fixture(scope="session")
def demand() -> tuple[pl.DataFrame, pl.DataFrame]:
    """20 series x 400 days, seeded: (observed, truth)."""
    return generate_demand(n_items=10, n_warehouses=2, n_days=400, seed=7)


@pytest.fixture(scope="session")
def fast_config() -> ForecastConfig:
    """Few trees and rows so that a fit takes about a second on two cores."""
    return ForecastConfig(
        horizon=28, seed=0, num_threads=1, num_boost_round=60, max_train_rows=30_000, min_data_in_leaf=50
    )
