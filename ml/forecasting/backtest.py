"""Rolling-origin backtest with the seasonal-naive and moving-average baselines always included.

Folds: ``n_folds`` cut-offs, the last one ``horizon`` days before the end of the data and each
earlier one ``step`` days (default ``horizon``) before the next, so test windows do not
overlap. At each cut-off every forecaster sees only rows dated on or before it, plus the
known-in-advance covariates (price, promotion, holiday) of the ``horizon`` days after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import polars as pl

from ml.forecasting.config import ForecastConfig
from ml.forecasting.evaluate import evaluate_forecasts, seasonal_naive_scale
from ml.forecasting.features import KEYS, prepare_history
from ml.forecasting.train import train_model

__all__ = [
    "BASELINES",
    "BacktestResult",
    "Forecaster",
    "backtest",
    "backtest_id",
    "future_covariates",
    "lightgbm_forecaster",
    "moving_average_forecast",
    "rolling_origin_cutoffs",
    "seasonal_naive_forecast",
]

Forecaster = Callable[[pl.DataFrame, pl.DataFrame, int], pl.DataFrame]
"""``(history, future, horizon) -> item, warehouse, date, horizon, p10, p50, p90``."""

_EXOG = ("unit_price", "is_promo", "is_holiday")
_RESIDUAL_WINDOW = 91


def _horizon_grid(prepared: pl.DataFrame, horizon: int) -> pl.DataFrame:
    origin = prepared["date"].max()
    return (
        prepared.select(KEYS)
        .unique()
        .join(pl.DataFrame({"horizon": np.arange(1, horizon + 1, dtype=np.int32)}), how="cross")
        .with_columns((pl.lit(origin) + pl.duration(days=pl.col("horizon"))).alias("date"))
    )


def seasonal_naive_forecast(history: pl.DataFrame, future: pl.DataFrame, horizon: int) -> pl.DataFrame:  # noqa: ARG001
    """Weekly seasonal naive: the last uncensored value on the same weekday.

    P10/P90 add the 10 % / 90 % quantiles of the series' weekly differences over the last
    91 days to the P50 (clipped at zero).

    Args:
        history: Demand rows up to the origin.
        future: Unused (the baseline ignores covariates); kept for the forecaster signature.
        horizon: Days ahead.

    Returns:
        item, warehouse, date, horizon, p10, p50, p90.
    """
    prepared = prepare_history(history)
    origin = cast(dt.date, prepared["date"].max())
    y = pl.col("y")
    level = prepared.with_columns(
        pl.coalesce(*[y.shift(7 * k).over(KEYS) for k in range(4)]).alias("_sn"),
        (y - y.shift(7).over(KEYS)).alias("_res"),
    )
    recent = level.filter(pl.col("date") > origin - dt.timedelta(days=_RESIDUAL_WINDOW))
    spread = recent.group_by(KEYS).agg(
        pl.col("_res").quantile(0.1).fill_null(0.0).alias("_lo"),
        pl.col("_res").quantile(0.9).fill_null(0.0).alias("_hi"),
        pl.col("y").mean().fill_null(0.0).alias("_mean"),
    )
    source = level.filter(pl.col("date") > origin - dt.timedelta(days=7)).select(
        *KEYS, pl.col("date").alias("_src"), "_sn"
    )
    grid = _horizon_grid(prepared, horizon).with_columns(
        (pl.lit(origin) - pl.duration(days=(-pl.col("horizon")) % 7)).alias("_src")
    )
    out = grid.join(source, on=[*KEYS, "_src"], how="left").join(spread, on=list(KEYS), how="left")
    p50 = pl.coalesce("_sn", "_mean").clip(lower_bound=0.0)
    return out.select(
        *KEYS,
        "date",
        "horizon",
        (p50 + pl.col("_lo")).clip(lower_bound=0.0).alias("p10"),
        p50.alias("p50"),
        pl.max_horizontal(p50 + pl.col("_hi"), p50).alias("p90"),
    ).sort([*KEYS, "horizon"])


def moving_average_forecast(
    history: pl.DataFrame,
    future: pl.DataFrame,  # noqa: ARG001
    horizon: int,
    window: int = 28,
) -> pl.DataFrame:
    """Flat forecast at the mean of the last ``window`` uncensored days.

    P10/P90 are the empirical 10 % / 90 % quantiles of the same window.

    Args:
        history: Demand rows up to the origin.
        future: Unused; kept for the forecaster signature.
        horizon: Days ahead.
        window: Averaging window in days.

    Returns:
        item, warehouse, date, horizon, p10, p50, p90.
    """
    prepared = prepare_history(history)
    origin = cast(dt.date, prepared["date"].max())
    stats = (
        prepared.filter(pl.col("date") > origin - dt.timedelta(days=window))
        .group_by(KEYS)
        .agg(
            pl.col("y").mean().fill_null(0.0).alias("p50"),
            pl.col("y").quantile(0.1).fill_null(0.0).alias("p10"),
            pl.col("y").quantile(0.9).fill_null(0.0).alias("p90"),
        )
    )
    out = _horizon_grid(prepared, horizon).join(stats, on=list(KEYS), how="left")
    return out.select(
        *KEYS,
        "date",
        "horizon",
        pl.min_horizontal("p10", "p50").alias("p10"),
        "p50",
        pl.max_horizontal("p90", "p50").alias("p90"),
    ).sort([*KEYS, "horizon"])


BASELINES: dict[str, Forecaster] = {
    "seasonal_naive": seasonal_naive_forecast,
    "moving_average": moving_average_forecast,
}


def lightgbm_forecaster(config: ForecastConfig | None = None) -> Forecaster:
    """Our global LightGBM model as a backtest forecaster (retrained at every cut-off).

    Args:
        config: Training configuration.

    Returns:
        A :data:`Forecaster`.
    """
    config = config or ForecastConfig()

    def forecast(history: pl.DataFrame, future: pl.DataFrame, horizon: int) -> pl.DataFrame:
        model = train_model(history, config)
        return model.forecast(history, future=future, horizon=horizon)

    return forecast


def rolling_origin_cutoffs(
    last_date: dt.date, n_folds: int, horizon: int, step: int | None = None
) -> list[dt.date]:
    """Cut-off dates for a rolling-origin backtest, oldest first.

    Args:
        last_date: Last date of the data.
        n_folds: Number of folds.
        horizon: Forecast horizon in days.
        step: Days between cut-offs; defaults to ``horizon`` (non-overlapping test windows).

    Returns:
        The cut-offs; fold ``k`` forecasts ``cutoff + 1 .. cutoff + horizon``.
    """
    if n_folds < 1:
        raise ValueError("n_folds must be >= 1")
    step = step or horizon
    return [last_date - dt.timedelta(days=horizon + step * k) for k in range(n_folds - 1, -1, -1)]


def future_covariates(df: pl.DataFrame, cutoff: dt.date, horizon: int) -> pl.DataFrame:
    """Known-in-advance covariates for the ``horizon`` days after ``cutoff``.

    Args:
        df: Demand rows.
        cutoff: Forecast origin.
        horizon: Days ahead.

    Returns:
        item, warehouse, date and whichever of unit_price, is_promo, is_holiday ``df`` has —
        never quantity or stockout flags.
    """
    end = cutoff + dt.timedelta(days=horizon)
    cols = [c for c in _EXOG if c in df.columns]
    return df.filter((pl.col("date") > cutoff) & (pl.col("date") <= end)).select(*KEYS, "date", *cols)


def backtest_id(df: pl.DataFrame, cutoffs: list[dt.date], horizon: int) -> str:
    """Fingerprint of (data, folds, horizon): equal ids mean scores are comparable.

    Args:
        df: Demand rows.
        cutoffs: Fold cut-offs.
        horizon: Forecast horizon.

    Returns:
        A 16-character hex id.
    """
    stockouts = int(df["is_stockout"].sum()) if "is_stockout" in df.columns else 0
    parts = [
        df.height,
        round(float(df["quantity"].sum()), 6),
        stockouts,
        str(df["date"].min()),
        str(df["date"].max()),
        df.select(pl.struct(*KEYS).n_unique()).item(),
        [str(c) for c in cutoffs],
        horizon,
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


@dataclass
class BacktestResult:
    """Outcome of :func:`backtest`.

    Attributes:
        backtest_id: Fingerprint of data, folds and horizon (see :func:`backtest_id`).
        cutoffs: Fold cut-offs, oldest first.
        horizon: Forecast horizon.
        forecasts: model, fold, cutoff, item, warehouse, date, horizon, p10, p50, p90.
        metrics: Output of :func:`~ml.forecasting.evaluate.evaluate_forecasts` over all folds.
        fit_seconds: Total train + predict wall time per model over all folds.
    """

    backtest_id: str
    cutoffs: list[dt.date]
    horizon: int
    forecasts: pl.DataFrame
    metrics: pl.DataFrame
    fit_seconds: dict[str, float]

    def overall(self, model: str) -> dict[str, float]:
        """Overall metrics of one model.

        Args:
            model: Forecaster name.

        Returns:
            Metric name to value.
        """
        row = self.metrics.filter((pl.col("model") == model) & (pl.col("segment") == "overall"))
        if row.height != 1:
            raise KeyError(f"no overall metrics for model {model!r}")
        return {k: v for k, v in row.row(0, named=True).items() if isinstance(v, float)}


def backtest(
    df: pl.DataFrame,
    forecasters: Mapping[str, Forecaster] | None = None,
    *,
    config: ForecastConfig | None = None,
    n_folds: int = 3,
    horizon: int | None = None,
    step: int | None = None,
    truth: pl.DataFrame | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of several forecasters on the same folds.

    Args:
        df: Demand rows (``fct_demand_daily`` columns).
        forecasters: Name to forecaster; defaults to ``{"lightgbm": lightgbm_forecaster(config)}``.
            The baselines in :data:`BASELINES` are always added.
        config: Configuration of the default LightGBM forecaster.
        n_folds: Number of folds (at least 3 is recommended).
        horizon: Days ahead; defaults to ``config.horizon``.
        step: Days between cut-offs; defaults to ``horizon``.
        truth: Optional simulator truth (item, warehouse, date, expected_demand) for truth_ratio.

    Returns:
        The :class:`BacktestResult`.
    """
    config = config or ForecastConfig()
    horizon = horizon or config.horizon
    chosen: dict[str, Forecaster] = dict(forecasters or {"lightgbm": lightgbm_forecaster(config)})
    for name, fn in BASELINES.items():
        chosen.setdefault(name, fn)
    cutoffs = rolling_origin_cutoffs(cast(dt.date, df["date"].max()), n_folds, horizon, step)
    frames: list[pl.DataFrame] = []
    scale_frames: list[pl.DataFrame] = []
    seconds = dict.fromkeys(chosen, 0.0)
    for fold, cutoff in enumerate(cutoffs):
        history = df.filter(pl.col("date") <= cutoff)
        future = future_covariates(df, cutoff, horizon)
        scale_frames.append(seasonal_naive_scale(history).with_columns(pl.lit(fold).alias("fold")))
        for name, fn in chosen.items():
            started = time.perf_counter()
            fc = fn(history, future, horizon)
            seconds[name] += time.perf_counter() - started
            frames.append(
                fc.select(
                    pl.lit(name).alias("model"),
                    pl.lit(fold).alias("fold"),
                    pl.lit(cutoff).alias("cutoff"),
                    pl.col("item").cast(pl.String),
                    pl.col("warehouse").cast(pl.String),
                    pl.col("date").cast(pl.Date),
                    pl.col("horizon").cast(pl.Int32),
                    *[pl.col(q).cast(pl.Float64) for q in ("p10", "p50", "p90")],
                )
            )
    forecasts = pl.concat(frames)
    # Each fold's MASE denominator is in-sample up to that fold's own cut-off.
    metrics = evaluate_forecasts(forecasts, df, pl.concat(scale_frames), truth=truth)
    return BacktestResult(
        backtest_id=backtest_id(df, cutoffs, horizon),
        cutoffs=cutoffs,
        horizon=horizon,
        forecasts=forecasts,
        metrics=metrics,
        fit_seconds=seconds,
    )
