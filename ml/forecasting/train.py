"""Global LightGBM quantile model over all item x warehouse daily series.

Strategy: *direct* multi-horizon, with the horizon as a feature. One training row is
(series, origin, horizon h) -> demand on origin + h, with features computed only from rows
dated on or before the origin (see :mod:`ml.forecasting.features`). Chosen over recursive
forecasting because:

* quantiles come straight from quantile objectives for every horizon, whereas a recursive
  model would have to feed its own point forecasts back and could not produce calibrated
  P10/P90 without simulation;
* errors do not compound along the horizon, and a prediction needs nothing but one feature
  row, which is exactly the "features in, quantiles out" contract serving needs (features can
  later come from Feast's online store);
* leakage is easy to rule out: every feature is a function of the origin state.

One LightGBM model is fitted per quantile (P10, P50, P90) on the scale-normalised target;
predictions are multiplied back by the series scale, clipped at zero and sorted so the
quantiles never cross. Intermittent series need no separate model: zero-fraction,
days-since-sale and the scale features let the global model learn their shape, and the
quantile loss handles the point mass at zero. Stockout days are never targets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl

from ml.forecasting.config import ForecastConfig
from ml.forecasting.features import (
    CATEGORICAL_FEATURES,
    FEATURE_COLUMNS,
    KEYS,
    build_inference_features,
    build_training_frame,
    mask_unknown_covariates,
)

__all__ = ["ForecastModel", "train_model"]

_QUANTILE_NAMES = ("p10", "p50", "p90")


@dataclass
class ForecastModel:
    """A trained demand model: three quantile boosters plus what is needed to use them.

    Attributes:
        config: The training configuration.
        boosters: Booster per quantile column name (``p10``, ``p50``, ``p90``).
        categories: Known levels of each categorical feature (unknown levels map to missing).
        trained_until: Last date of the training data.
        train_seconds: Wall time of training.
    """

    config: ForecastConfig
    boosters: dict[str, lgb.Booster]
    categories: dict[str, list[str]]
    trained_until: str = ""
    train_seconds: float = 0.0
    feature_columns: tuple[str, ...] = field(default=FEATURE_COLUMNS)

    def _matrix(self, features: pl.DataFrame | pd.DataFrame) -> pd.DataFrame:
        frame = features if isinstance(features, pd.DataFrame) else features.to_pandas()
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"feature frame is missing columns {missing}")
        x = frame.loc[:, list(self.feature_columns)].copy()
        for col in CATEGORICAL_FEATURES:
            x[col] = pd.Categorical(x[col].astype("string"), categories=self.categories[col])
        for col in self.feature_columns:
            if col not in CATEGORICAL_FEATURES:
                x[col] = pd.to_numeric(x[col], errors="coerce").astype("float64")
        return x

    def predict(self, features: pl.DataFrame | pd.DataFrame) -> pl.DataFrame:
        """Quantile forecasts for feature rows ("features in, quantiles out").

        Args:
            features: Rows from :func:`ml.forecasting.features.build_inference_features` (or the
                same columns from an online feature store): at least ``scale`` and the
                :data:`~ml.forecasting.features.FEATURE_COLUMNS`; item, warehouse, date and
                horizon are passed through when present.

        Returns:
            Frame with the pass-through key columns and ``p10``, ``p50``, ``p90`` in units.
        """
        frame = features if isinstance(features, pd.DataFrame) else features.to_pandas()
        x = self._matrix(frame)
        scale = pd.to_numeric(frame["scale"]).to_numpy(dtype=float)
        raw = np.column_stack(
            [self.boosters[q].predict(x, num_threads=self.config.num_threads) for q in _QUANTILE_NAMES]
        )
        preds = np.sort(np.clip(raw, 0.0, None) * scale[:, None], axis=1)
        keys = [c for c in (*KEYS, "date", "horizon") if c in frame.columns]
        if isinstance(features, pl.DataFrame):
            out = features.select(keys)
        else:
            out = pl.from_pandas(frame[keys].reset_index(drop=True)) if keys else pl.DataFrame()
            if "date" in out.columns:
                out = out.with_columns(pl.col("date").cast(pl.Date))
        return out.with_columns(
            pl.Series("p10", preds[:, 0]), pl.Series("p50", preds[:, 1]), pl.Series("p90", preds[:, 2])
        )

    def forecast(
        self, history: pl.DataFrame, future: pl.DataFrame | None = None, horizon: int | None = None
    ) -> pl.DataFrame:
        """Forecast every series in ``history`` from its last date.

        Args:
            history: Demand rows (``fct_demand_daily`` columns).
            future: Optional known-in-advance covariates (see ``build_inference_features``); those not in
                ``config.known_covariates`` are ignored, as they were in training.
            horizon: Days ahead; defaults to the training horizon.

        Returns:
            Frame with item, warehouse, date, horizon, p10, p50, p90.
        """
        if future is not None:
            future = mask_unknown_covariates(future, self.config.known_covariates)
        feats = build_inference_features(history, horizon=horizon or self.config.horizon, future=future)
        return self.predict(feats)

    def save(self, path: str | Path) -> Path:
        """Write the model to a directory (one text file per booster plus ``meta.json``).

        Args:
            path: Target directory (created if needed).

        Returns:
            The directory.
        """
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        for name, booster in self.boosters.items():
            (root / f"{name}.txt").write_text(booster.model_to_string())
        meta = {
            "config": self.config.to_dict(),
            "categories": self.categories,
            "trained_until": self.trained_until,
            "train_seconds": self.train_seconds,
            "feature_columns": list(self.feature_columns),
        }
        (root / "meta.json").write_text(json.dumps(meta, indent=2))
        return root

    @classmethod
    def load(cls, path: str | Path) -> ForecastModel:
        """Read a model written by :meth:`save`.

        Args:
            path: Directory written by :meth:`save`.

        Returns:
            The model.
        """
        root = Path(path)
        meta = json.loads((root / "meta.json").read_text())
        boosters = {q: lgb.Booster(model_str=(root / f"{q}.txt").read_text()) for q in _QUANTILE_NAMES}
        return cls(
            config=ForecastConfig.from_dict(meta["config"]),
            boosters=boosters,
            categories=meta["categories"],
            trained_until=meta["trained_until"],
            train_seconds=meta["train_seconds"],
            feature_columns=tuple(meta["feature_columns"]),
        )


def train_model(
    df: pl.DataFrame,
    config: ForecastConfig | None = None,
    *,
    origin_state: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> ForecastModel:
    """Train the three quantile models on all series in ``df``.

    Args:
        df: Demand rows (``fct_demand_daily`` columns) up to the training cut-off.
        config: Training configuration; defaults to ``ForecastConfig()``.
        origin_state: Optional fetcher of the origin state rows (e.g. Feast point-in-time retrieval); see
            :func:`ml.forecasting.features.training_frame_from_state`.

    Returns:
        The trained :class:`ForecastModel`.
    """
    config = config or ForecastConfig()
    started = time.perf_counter()
    frame = build_training_frame(
        df,
        horizon=config.horizon,
        origin_stride=config.origin_stride,
        min_history=config.min_history,
        max_rows=config.max_train_rows,
        seed=config.seed,
        origin_state=origin_state,
        known_covariates=config.known_covariates,
    )
    if frame.height == 0:
        raise ValueError("no training rows: history too short for min_history and horizon")
    categories = {c: sorted(frame[c].drop_nulls().unique().to_list()) for c in CATEGORICAL_FEATURES}
    model = ForecastModel(config=config, boosters={}, categories=categories)
    x = model._matrix(frame)
    y = frame["target"].to_numpy()
    dataset = lgb.Dataset(
        x,
        label=y,
        categorical_feature=list(CATEGORICAL_FEATURES),
        free_raw_data=False,
        params={"verbosity": -1, "num_threads": config.num_threads, "seed": config.seed},
    )
    for name, alpha in zip(_QUANTILE_NAMES, config.quantiles, strict=True):
        model.boosters[name] = lgb.train(
            config.lgb_params(alpha), dataset, num_boost_round=config.num_boost_round
        )
    model.trained_until = str(df["date"].max())
    model.train_seconds = time.perf_counter() - started
    return model
