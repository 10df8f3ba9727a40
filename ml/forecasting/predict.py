"""Batch demand forecasts for every item x warehouse over the next ``horizon`` days."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import numpy as np
import pandas as pd
import polars as pl

from ml.forecasting.features import KEYS, build_inference_features

__all__ = ["QuantilePredictor", "batch_forecast"]


class QuantilePredictor(Protocol):
    """Anything mapping feature rows to ``p10``/``p50``/``p90`` columns.

    Both :class:`ml.forecasting.train.ForecastModel` and the MLflow pyfunc model loaded with
    ``mlflow.pyfunc.load_model("models:/demand_forecast@champion")`` satisfy it.
    """

    def predict(self, features: Any) -> Any:  # pragma: no cover - protocol
        """Predict quantiles for feature rows."""


def batch_forecast(
    model: QuantilePredictor,
    history: pl.DataFrame,
    *,
    horizon: int = 28,
    future: pl.DataFrame | None = None,
    origin: dt.date | None = None,
    model_version: str = "",
) -> pl.DataFrame:
    """Forecast every series in ``history`` from its last date (or ``origin``).

    Args:
        model: A :class:`QuantilePredictor` (our model object or the registered pyfunc).
        history: Demand rows (``fct_demand_daily`` columns).
        horizon: Days ahead.
        future: Optional known-in-advance covariates (item, warehouse, date, unit_price,
            is_promo, is_holiday) for the forecast dates.
        origin: Forecast origin; defaults to the latest date in ``history``.
        model_version: Registry version (or any label) written into every row.

    Returns:
        Frame with item, warehouse, date, horizon, p10, p50, p90, model_version, one row per
        series and horizon.
    """
    features = build_inference_features(history, horizon=horizon, future=future, origin=origin)
    preds = model.predict(features.to_pandas())
    table = preds.to_pandas() if isinstance(preds, pl.DataFrame) else pd.DataFrame(preds)
    if len(table) != features.height:
        raise ValueError(f"model returned {len(table)} rows for {features.height} feature rows")
    quantiles = {q: np.asarray(table[q], dtype=float) for q in ("p10", "p50", "p90")}
    return features.select(*KEYS, "date", pl.col("horizon").cast(pl.Int32)).with_columns(
        *[pl.Series(q, v) for q, v in quantiles.items()],
        pl.lit(str(model_version)).alias("model_version"),
    )
