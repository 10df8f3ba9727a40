"""The forecast's fast request path gives exactly the numbers of the logged pyfunc, on a real (tiny) model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from serving.forecaster import Forecaster, predict_quantiles
from unit.serving.api_fakes import FakeQuantileModel


@pytest.fixture(scope="module")
def pyfunc_and_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    import mlflow

    from ml.forecasting.config import ForecastConfig
    from ml.forecasting.synthetic import generate_demand
    from ml.forecasting.tracking import DemandForecastPyfunc
    from ml.forecasting.train import train_model

    root = tmp_path_factory.mktemp("forecaster")
    history, _ = generate_demand(n_items=6, n_warehouses=2, n_days=200, seed=3)
    model = train_model(
        history,
        ForecastConfig(
            num_boost_round=15, num_leaves=15, min_data_in_leaf=20, num_threads=1, max_train_rows=5_000
        ),
    )
    # A real MLflow pyfunc, saved and loaded from disk, as the registry loader hands it to serving.
    mlflow.pyfunc.save_model(
        path=str(root / "pyfunc"),
        python_model=DemandForecastPyfunc(),
        artifacts={"forecast_model": str(model.save(root / "forecast_model"))},
        pip_requirements=["mlflow", "lightgbm"],
    )
    return mlflow.pyfunc.load_model(str(root / "pyfunc")), history


def _pyfunc_quantiles(pyfunc: Any, frame: Any) -> np.ndarray:
    return pyfunc.predict(frame)[["p10", "p50", "p90"]].to_numpy()


def test_fast_path_equals_the_pyfunc_exactly(pyfunc_and_history: tuple[Any, Any]) -> None:
    from ml.forecasting.features import build_inference_features

    pyfunc, history = pyfunc_and_history
    forecaster = Forecaster.from_model(pyfunc)
    assert forecaster is not None
    frame = build_inference_features(history, horizon=28).to_pandas()
    fast = forecaster.predict(frame)
    assert fast.shape == (len(frame), 3)
    assert np.array_equal(fast, _pyfunc_quantiles(pyfunc, frame))  # bit for bit, every series and horizon
    assert (fast[:, 0] <= fast[:, 1]).all() and (fast[:, 1] <= fast[:, 2]).all()


def test_unknown_or_missing_categories_match_the_pyfunc(pyfunc_and_history: tuple[Any, Any]) -> None:
    from ml.forecasting.features import build_inference_features

    pyfunc, history = pyfunc_and_history
    forecaster = Forecaster.from_model(pyfunc)
    assert forecaster is not None
    frame = build_inference_features(history, horizon=5).to_pandas().head(6).copy()
    frame["category"] = ["never-seen", None, *frame["category"].iloc[2:]]
    frame["abc_class"] = frame["abc_class"].astype(object)
    frame.loc[frame.index[3], "abc_class"] = "Z"
    assert np.array_equal(forecaster.predict(frame), _pyfunc_quantiles(pyfunc, frame))
    with pytest.raises(ValueError, match="missing columns"):
        forecaster.predict(frame.drop(columns=["lag_0"]))


def test_other_models_keep_their_own_predict() -> None:
    import pandas as pd

    fake = FakeQuantileModel(offset=1.0)
    assert Forecaster.from_model(fake) is None
    out = predict_quantiles(fake, None, pd.DataFrame({"horizon": [1, 2]}))
    assert out.tolist() == [[10.0, 11.0, 12.0], [20.0, 21.0, 22.0]] and fake.calls == 1
