"""LightGBM quantile regression of shipment transit days (P10/P50/P90).

One model per quantile on delivered shipments (``actual_transit_days`` not null). Predictions
are sorted so quantiles never cross and floored at the days already elapsed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl

from ml.eta.features import CATEGORICAL_FEATURES, FEATURE_COLUMNS, build_eta_features

__all__ = ["EtaConfig", "EtaModel", "train_eta_model"]

_Q = ("p10", "p50", "p90")


@dataclass(frozen=True)
class EtaConfig:
    """Settings of the ETA model.

    Attributes:
        quantiles: Three increasing quantile levels (exposed as P10/P50/P90).
        seed: LightGBM seed.
        num_threads: LightGBM threads (1-2 here).
        num_boost_round: Rounds per quantile model.
        learning_rate: LightGBM learning rate.
        num_leaves: LightGBM leaves per tree.
        min_data_in_leaf: LightGBM minimum rows per leaf.
    """

    quantiles: tuple[float, float, float] = (0.1, 0.5, 0.9)
    seed: int = 0
    num_threads: int = 2
    num_boost_round: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 20

    def lgb_params(self, alpha: float) -> dict[str, Any]:
        """LightGBM parameters of the quantile-``alpha`` model.

        Args:
            alpha: Quantile level.

        Returns:
            Parameters for ``lightgbm.train``.
        """
        return {
            "objective": "quantile",
            "alpha": alpha,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "seed": self.seed,
            "num_threads": self.num_threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }


@dataclass
class EtaModel:
    """Trained ETA boosters and the category levels they were trained with.

    Attributes:
        config: Training configuration.
        boosters: Booster per quantile column (p10, p50, p90).
        categories: Known levels per categorical feature.
        train_seconds: Wall time of training.
    """

    config: EtaConfig
    boosters: dict[str, lgb.Booster]
    categories: dict[str, list[str]]
    train_seconds: float = 0.0
    feature_columns: tuple[str, ...] = field(default=FEATURE_COLUMNS)

    def _matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame.loc[:, list(self.feature_columns)].copy()
        for col in CATEGORICAL_FEATURES:
            x[col] = pd.Categorical(x[col].astype("string"), categories=self.categories[col])
        for col in self.feature_columns:
            if col not in CATEGORICAL_FEATURES:
                x[col] = pd.to_numeric(x[col], errors="coerce").astype("float64")
        return x

    def predict(self, features: pl.DataFrame | pd.DataFrame) -> pl.DataFrame:
        """Transit-day quantiles for feature rows (from :func:`build_eta_features`).

        Args:
            features: Feature rows; ``shipment_id`` is passed through when present.

        Returns:
            shipment_id (if given), p10, p50, p90 in days.
        """
        frame = features if isinstance(features, pd.DataFrame) else features.to_pandas()
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"feature frame is missing columns {missing}")
        x = self._matrix(frame)
        raw = np.column_stack([self.boosters[q].predict(x, num_threads=self.config.num_threads) for q in _Q])
        elapsed = pd.to_numeric(frame["days_since_ship"]).fillna(0.0).to_numpy()[:, None]
        preds = np.sort(np.maximum(raw, elapsed), axis=1)
        out = (
            pl.DataFrame({"shipment_id": frame["shipment_id"].astype(str).tolist()})
            if "shipment_id" in frame
            else pl.DataFrame()
        )
        return out.with_columns(*[pl.Series(q, preds[:, i]) for i, q in enumerate(_Q)])

    def predict_shipments(self, shipments: pl.DataFrame) -> pl.DataFrame:
        """Build features from ``fct_shipments`` rows and predict.

        Args:
            shipments: ``fct_shipments`` rows.

        Returns:
            shipment_id, p10, p50, p90.
        """
        return self.predict(build_eta_features(shipments))

    def save(self, path: str | Path) -> Path:
        """Write boosters and metadata to a directory.

        Args:
            path: Target directory.

        Returns:
            The directory.
        """
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        for q, booster in self.boosters.items():
            (root / f"{q}.txt").write_text(booster.model_to_string())
        meta = {
            "config": asdict(self.config),
            "categories": self.categories,
            "train_seconds": self.train_seconds,
            "feature_columns": list(self.feature_columns),
        }
        (root / "meta.json").write_text(json.dumps(meta, indent=2))
        return root

    @classmethod
    def load(cls, path: str | Path) -> EtaModel:
        """Read a model written by :meth:`save`.

        Args:
            path: Directory.

        Returns:
            The model.
        """
        root = Path(path)
        meta = json.loads((root / "meta.json").read_text())
        cfg = meta["config"]
        cfg["quantiles"] = tuple(cfg["quantiles"])
        return cls(
            config=EtaConfig(**cfg),
            boosters={q: lgb.Booster(model_str=(root / f"{q}.txt").read_text()) for q in _Q},
            categories=meta["categories"],
            train_seconds=meta["train_seconds"],
            feature_columns=tuple(meta["feature_columns"]),
        )


def train_eta_model(
    shipments: pl.DataFrame,
    config: EtaConfig | None = None,
    *,
    feature_columns: tuple[str, ...] = FEATURE_COLUMNS,
) -> EtaModel:
    """Train the quantile models on delivered shipments.

    Args:
        shipments: ``fct_shipments`` rows; rows without ``actual_transit_days`` are skipped.
        config: Configuration.
        feature_columns: Model inputs, a subset of :data:`FEATURE_COLUMNS` holding every categorical feature
            (the model records them, so models trained on fewer features keep working on today's rows).

    Returns:
        The trained :class:`EtaModel`.

    Raises:
        ValueError: Unknown or missing categorical feature columns, or no delivered shipments.
    """
    unknown = [c for c in feature_columns if c not in FEATURE_COLUMNS]
    absent = [c for c in CATEGORICAL_FEATURES if c not in feature_columns]
    if unknown or absent:
        raise ValueError(f"feature columns: unknown {unknown}, categorical features missing {absent}")
    config = config or EtaConfig()
    started = time.perf_counter()
    frame = build_eta_features(shipments.filter(pl.col("actual_transit_days").is_not_null()))
    if frame.height == 0:
        raise ValueError("no delivered shipments to train on")
    categories = {c: sorted(frame[c].drop_nulls().unique().to_list()) for c in CATEGORICAL_FEATURES}
    model = EtaModel(
        config=config, boosters={}, categories=categories, feature_columns=tuple(feature_columns)
    )
    x = model._matrix(frame.to_pandas())
    data = lgb.Dataset(
        x,
        label=frame["actual_transit_days"].to_numpy(),
        categorical_feature=list(CATEGORICAL_FEATURES),
        free_raw_data=False,
        params={"verbosity": -1, "num_threads": config.num_threads, "seed": config.seed},
    )
    for q, alpha in zip(_Q, config.quantiles, strict=True):
        model.boosters[q] = lgb.train(config.lgb_params(alpha), data, num_boost_round=config.num_boost_round)
    model.train_seconds = time.perf_counter() - started
    return model
