"""Forecast accuracy metrics: WAPE, MASE, bias, pinball loss, interval coverage, truth ratio.

Definitions (y actual, f the P50 forecast, q_a the quantile-a forecast, over scored rows):

* WAPE = sum|y - f| / sum y
* MASE = mean over rows of |y - f| / s_series, where s_series is the in-sample MAE of the
  weekly seasonal-naive forecast (y_t vs y_{t-7}) of that series; series with s = 0 are left
  out of MASE.
* bias = sum(f - y) / sum y (positive = over-forecast)
* pinball_a = mean of max(a (y - q_a), (a - 1)(y - q_a))
* coverage = share of rows with q_10 <= y <= q_90 (nominal 0.8)
* truth_ratio = WAPE(model) / WAPE(expected demand used as the forecast), on the same rows.

Scored rows exclude stockout days: their observed sales are censored and would reward
under-forecasting.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ml.forecasting.features import KEYS

__all__ = [
    "bias",
    "coverage",
    "evaluate_forecasts",
    "mase",
    "pinball_loss",
    "seasonal_naive_scale",
    "wape",
]

_QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error, sum|y - f| / sum y.

    Args:
        actual: Observed values.
        forecast: Point forecasts.

    Returns:
        WAPE as a fraction (NaN when the actuals sum to zero).
    """
    actual = np.asarray(actual, dtype=float)
    denom = np.abs(actual).sum()
    return (
        float(np.abs(actual - np.asarray(forecast, dtype=float)).sum() / denom) if denom > 0 else float("nan")
    )


def mase(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> float:
    """Mean absolute scaled error with a per-row scale (the series' in-sample naive MAE).

    Args:
        actual: Observed values.
        forecast: Point forecasts.
        scale: Per-row scale; rows with a non-positive or missing scale are ignored.

    Returns:
        MASE (NaN when no row has a usable scale).
    """
    actual, forecast, scale = (np.asarray(a, dtype=float) for a in (actual, forecast, scale))
    ok = np.isfinite(scale) & (scale > 0)
    return float(np.mean(np.abs(actual[ok] - forecast[ok]) / scale[ok])) if ok.any() else float("nan")


def bias(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Relative bias, sum(f - y) / sum y.

    Args:
        actual: Observed values.
        forecast: Point forecasts.

    Returns:
        Bias as a fraction (positive means over-forecasting).
    """
    actual = np.asarray(actual, dtype=float)
    denom = actual.sum()
    return float((np.asarray(forecast, dtype=float) - actual).sum() / denom) if denom > 0 else float("nan")


def pinball_loss(actual: np.ndarray, quantile_forecast: np.ndarray, alpha: float) -> float:
    """Mean pinball (quantile) loss at level ``alpha``.

    Args:
        actual: Observed values.
        quantile_forecast: Forecasts of the ``alpha`` quantile.
        alpha: Quantile level in (0, 1).

    Returns:
        The mean loss.
    """
    diff = np.asarray(actual, dtype=float) - np.asarray(quantile_forecast, dtype=float)
    return float(np.mean(np.maximum(alpha * diff, (alpha - 1.0) * diff)))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside ``[lower, upper]``.

    Args:
        actual: Observed values.
        lower: Lower bounds (P10).
        upper: Upper bounds (P90).

    Returns:
        Coverage as a fraction.
    """
    actual = np.asarray(actual, dtype=float)
    return float(np.mean((actual >= np.asarray(lower)) & (actual <= np.asarray(upper))))


def seasonal_naive_scale(history: pl.DataFrame, season: int = 7) -> pl.DataFrame:
    """In-sample MAE of the seasonal-naive forecast per series (the MASE denominator).

    Censored (stockout) days are left out on either side of each difference.

    Args:
        history: Demand rows up to the forecast origin (item, warehouse, date, quantity,
            optional is_stockout). Assumed to be daily without gaps.
        season: Season length in days.

    Returns:
        Frame with item, warehouse, mase_scale.
    """
    stockout = pl.col("is_stockout") if "is_stockout" in history.columns else pl.lit(False)
    y = pl.when(stockout).then(None).otherwise(pl.col("quantity"))
    return (
        history.sort([*KEYS, "date"])
        .with_columns(y.alias("_y"))
        .with_columns((pl.col("_y") - pl.col("_y").shift(season).over(KEYS)).abs().alias("_e"))
        .group_by(KEYS)
        .agg(pl.col("_e").mean().alias("mase_scale"))
    )


def _metrics(frame: pl.DataFrame, truth: bool) -> dict[str, float]:
    y = frame["quantity"].to_numpy()
    out: dict[str, float] = {
        "n": float(frame.height),
        "wape": wape(y, frame["p50"].to_numpy()),
        "mase": mase(y, frame["p50"].to_numpy(), frame["mase_scale"].to_numpy()),
        "bias": bias(y, frame["p50"].to_numpy()),
        "coverage": coverage(y, frame["p10"].to_numpy(), frame["p90"].to_numpy()),
    }
    for name, alpha in _QUANTILES.items():
        out[f"pinball_{name}"] = pinball_loss(y, frame[name].to_numpy(), alpha)
    out["pinball"] = float(np.mean([out[f"pinball_{q}"] for q in _QUANTILES]))
    if truth:
        truth_wape = wape(y, frame["expected_demand"].to_numpy())
        out["truth_wape"] = truth_wape
        out["truth_ratio"] = out["wape"] / truth_wape if truth_wape > 0 else float("nan")
    return out


def evaluate_forecasts(
    forecasts: pl.DataFrame,
    actuals: pl.DataFrame,
    scales: pl.DataFrame,
    truth: pl.DataFrame | None = None,
    by: tuple[str, ...] = ("abc_class", "horizon"),
) -> pl.DataFrame:
    """Score quantile forecasts overall and per segment.

    Args:
        forecasts: item, warehouse, date, horizon, p10, p50, p90 (optionally ``model`` and
            ``fold``, which are kept as grouping columns).
        actuals: Demand rows covering the forecast dates: item, warehouse, date, quantity,
            is_stockout and abc_class (when segmenting by it).
        scales: item, warehouse, mase_scale (from :func:`seasonal_naive_scale`); may carry
            further key columns also present in ``forecasts`` (e.g. ``fold``) to join on.
        truth: Optional item, warehouse, date, expected_demand; adds truth_wape and truth_ratio.
        by: Segment columns; each yields rows with ``segment`` = the column name.

    Returns:
        Long frame with the grouping columns present in ``forecasts`` (model), ``segment``
        ("overall" or a column of ``by``), ``key`` (segment value as text) and the metrics
        n, wape, mase, bias, coverage, pinball_p10, pinball_p50, pinball_p90, pinball and, with
        ``truth``, truth_wape and truth_ratio.
    """
    act_cols = [*KEYS, "date", "quantity", "is_stockout"] + [
        c for c in by if c in actuals.columns and c not in forecasts.columns
    ]
    scored = (
        forecasts.join(actuals.select(act_cols), on=[*KEYS, "date"], how="inner")
        .filter(~pl.col("is_stockout").fill_null(False))
        .join(scales, on=[c for c in scales.columns if c != "mase_scale"], how="left")
    )
    if truth is not None:
        scored = scored.join(truth.select(*KEYS, "date", "expected_demand"), on=[*KEYS, "date"], how="left")
    group_cols = [c for c in ("model",) if c in scored.columns]
    rows: list[dict[str, object]] = []
    groups = scored.partition_by(group_cols, as_dict=True) if group_cols else {(): scored}
    for gkey, part in groups.items():
        base = dict(zip(group_cols, gkey, strict=True))
        rows.append({**base, "segment": "overall", "key": "all", **_metrics(part, truth is not None)})
        for col in by:
            if col not in part.columns:
                continue
            for (value,), seg in sorted(part.partition_by(col, as_dict=True).items(), key=lambda kv: kv[0]):
                rows.append({**base, "segment": col, "key": str(value), **_metrics(seg, truth is not None)})
    return pl.DataFrame(rows, infer_schema_length=None)  # a metric may be None in the first rows
