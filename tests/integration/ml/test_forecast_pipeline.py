"""run_forecasting end to end on real MLflow under a Stockyard home in tmp_path."""

from __future__ import annotations

import os

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import mlflow  # noqa: E402
import pytest  # noqa: E402

from ml.forecasting.config import ForecastConfig  # noqa: E402
from ml.forecasting.pipeline import run_forecasting  # noqa: E402
from ml.forecasting.synthetic import generate_demand  # noqa: E402
from stockyard.settings import Settings  # noqa: E402

pytestmark = pytest.mark.integration


def test_run_forecasting_registers_gates_and_forecasts(tmp_path) -> None:
    settings = Settings(home=tmp_path / "home")
    observed, truth = generate_demand(n_items=6, n_warehouses=2, n_days=330, seed=9)
    config = ForecastConfig(num_threads=1, num_boost_round=40, max_train_rows=20_000, min_data_in_leaf=50)
    try:
        run = run_forecasting(observed, truth=truth, settings=settings, config=config)
        assert run.promoted and run.model_version == run.candidate_version == "1"
        assert run.metrics["wape"] < run.metrics["seasonal_naive_wape"]
        assert "truth_ratio" in run.metrics
        assert run.forecast.height == 12 * 28
        assert set(run.forecast["model_version"]) == {"1"}
        assert all(path.exists() and path.is_relative_to(tmp_path) for path in run.figures.values())
        assert (settings.home / "mlflow" / "mlflow.db").exists()
        assert any((settings.home / "mlflow" / "artifacts").iterdir())

        again = run_forecasting(observed, truth=truth, settings=settings, config=config)
        # same data, same config: ties the champion, so it is not promoted and v1 keeps serving
        assert not again.promoted and "does not beat the champion" in again.reason
        assert again.candidate_version == "2" and again.model_version == "1"
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
