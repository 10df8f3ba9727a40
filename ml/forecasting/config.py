"""Typed configuration of the demand-forecasting model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FUTURE_COVARIATES", "ForecastConfig"]

FUTURE_COVARIATES: tuple[str, ...] = ("unit_price", "is_promo", "is_holiday")
"""Covariates of a target date the model can take as known in advance (see ``known_covariates``)."""


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
        known_covariates: Which of :data:`FUTURE_COVARIATES` are really known before the target date, so may
            describe it. The rest are masked (no promotion, regular price) for target dates in training and in
            forecasts alike; their history still feeds the origin state. The default trusts only the holiday
            calendar: ``fct_demand_daily`` takes ``is_promo`` and ``unit_price`` from the day's order lines, so
            they are set only on days that sold (on the simulator's history 94.6 % of promotion days have a sale
            against 14.5 % of other days). Used as target-date features they leak the outcome in training and
            the backtest, and production forecasts (no promotion calendar is passed) fall short. Pass all three
            when a real promotion and price calendar feeds the frame (e.g. the synthetic generator's).
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
    known_covariates: tuple[str, ...] = ("is_holiday",)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.known_covariates) - set(FUTURE_COVARIATES))
        if unknown:
            raise ValueError(f"known_covariates must be among {FUTURE_COVARIATES}, got {unknown}")
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
        out["known_covariates"] = list(self.known_covariates)
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
        # Models saved before the field existed used every covariate as known.
        data["known_covariates"] = tuple(data.get("known_covariates", FUTURE_COVARIATES))
        return cls(**data)
