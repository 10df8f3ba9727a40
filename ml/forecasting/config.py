"""Typed configuration of the demand-forecasting model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ForecastConfig"]


@dataclass(frozen=True)
class ForecastConfig:
    """Settings for training the global LightGBM demand model.

    Attributes:
        horizon: Number of days ahead forecast from each origin (1..horizon).
        quantiles: Quantile levels fitted, one LightGBM model each; the first, middle and last
            are exposed as P10/P50/P90.
        seed: Seed for row sampling and LightGBM (bagging, feature fraction).
        num_threads: LightGBM threads; keep at 1-2 on the shared machines.
        origin_stride: Days between training origins. 3 is co-prime with 7, so every weekday
            appears as an origin weekday.
        min_history: Days of history a series needs at an origin before that origin is used.
        max_train_rows: Cap on (origin, horizon) training rows; sampled uniformly with ``seed``.
        num_boost_round: Boosting rounds per quantile model.
        learning_rate: LightGBM learning rate.
        num_leaves: LightGBM leaves per tree.
        min_data_in_leaf: LightGBM minimum rows per leaf.
        feature_fraction: LightGBM column sampling per tree.
        bagging_fraction: LightGBM row sampling per iteration.
        extra_params: Additional LightGBM parameters, applied last.
    """

    horizon: int = 28
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    seed: int = 0
    num_threads: int = 2
    origin_stride: int = 3
    min_history: int = 28
    max_train_rows: int = 300_000
    num_boost_round: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 63
    min_data_in_leaf: int = 100
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    extra_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon}")
        if len(self.quantiles) != 3 or list(self.quantiles) != sorted(self.quantiles):
            raise ValueError(f"quantiles must be three increasing levels, got {self.quantiles}")
        if not 1 <= self.num_threads <= 64:
            raise ValueError(f"num_threads must be in 1..64, got {self.num_threads}")
        if self.origin_stride < 1:
            raise ValueError(f"origin_stride must be >= 1, got {self.origin_stride}")

    def lgb_params(self, alpha: float) -> dict[str, Any]:
        """LightGBM parameters for the quantile model at level ``alpha``.

        Args:
            alpha: Quantile level in (0, 1).

        Returns:
            A parameter dict for ``lightgbm.train``.
        """
        params: dict[str, Any] = {
            "objective": "quantile",
            "alpha": alpha,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "seed": self.seed,
            "num_threads": self.num_threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        params.update(self.extra_params)
        return params

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict view (for logging as run parameters and for serialisation).

        Returns:
            The fields as JSON-friendly values.
        """
        out = asdict(self)
        out["quantiles"] = list(self.quantiles)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForecastConfig:
        """Rebuild a config from :meth:`to_dict` output.

        Args:
            data: Mapping of field names to values.

        Returns:
            The config.
        """
        data = dict(data)
        data["quantiles"] = tuple(data.get("quantiles", (0.1, 0.5, 0.9)))
        return cls(**data)
