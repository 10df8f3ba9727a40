"""Backtest figures for demand models (matplotlib only; logged by tracking, saved by the pipeline)."""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from ml.forecasting.backtest import BacktestResult  # noqa: E402

__all__ = ["backtest_figures", "error_by_horizon_figure", "forecast_vs_actual_figure"]


def forecast_vs_actual_figure(
    result: BacktestResult, history: pl.DataFrame, model: str, n_series: int = 4
) -> plt.Figure:
    """Last fold's forecast (P50 and P10-P90 band) against actuals for sample series.

    Series are picked evenly across the volume ranking, so slow movers are shown too.

    Args:
        result: Backtest result.
        history: Demand rows covering the last fold.
        model: Model to draw (seasonal naive is drawn for reference).
        n_series: Number of series.

    Returns:
        The figure.
    """
    fold = max(result.forecasts["fold"].unique().to_list())
    fc = result.forecasts.filter(pl.col("fold") == fold)
    cutoff = fc["cutoff"][0]
    ranked = (
        history.group_by("item", "warehouse")
        .agg(pl.col("quantity").sum())
        .sort("quantity", "item", descending=True)
    )
    picks = ranked.gather_every(max(ranked.height // n_series, 1)).head(n_series)
    fig, axes = plt.subplots(len(picks), 1, figsize=(10, 2.6 * len(picks)), squeeze=False)
    for ax, (item, wh, _) in zip(axes[:, 0], picks.iter_rows(), strict=False):
        actual = history.filter(
            (pl.col("item") == item)
            & (pl.col("warehouse") == wh)
            & (pl.col("date") > cutoff - dt.timedelta(days=56))
            & (pl.col("date") <= cutoff + dt.timedelta(days=result.horizon))
        ).sort("date")
        ax.plot(actual["date"], actual["quantity"], color="black", lw=1, label="actual")
        for name, colour in ((model, "tab:blue"), ("seasonal_naive", "tab:orange")):
            series = fc.filter(
                (pl.col("model") == name) & (pl.col("item") == item) & (pl.col("warehouse") == wh)
            )
            series = series.sort("date")
            ax.plot(series["date"], series["p50"], color=colour, lw=1.2, label=f"{name} P50")
            if name == model:
                ax.fill_between(
                    series["date"], series["p10"], series["p90"], color=colour, alpha=0.2, label="P10-P90"
                )
        ax.axvline(cutoff, color="grey", ls="--", lw=0.8)
        ax.set_title(f"{item} @ {wh}", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def error_by_horizon_figure(result: BacktestResult) -> plt.Figure:
    """WAPE by horizon of every backtested model.

    Args:
        result: Backtest result.

    Returns:
        The figure.
    """
    by_h = result.metrics.filter(pl.col("segment") == "horizon").with_columns(pl.col("key").cast(pl.Int32))
    fig, ax = plt.subplots(figsize=(8, 4))
    for (name,), part in sorted(by_h.partition_by("model", as_dict=True).items()):
        part = part.sort("key")
        ax.plot(part["key"], part["wape"], marker=".", label=name)
    ax.set_xlabel("horizon (days)")
    ax.set_ylabel("WAPE")
    ax.set_title("Backtest WAPE by horizon")
    ax.legend()
    fig.tight_layout()
    return fig


def backtest_figures(result: BacktestResult, history: pl.DataFrame, model: str) -> dict[str, plt.Figure]:
    """The standard figures of a demand-model run.

    Args:
        result: Backtest result.
        history: Demand rows.
        model: Candidate model name in ``result``.

    Returns:
        ``{"forecast_vs_actual": ..., "error_by_horizon": ...}``.
    """
    return {
        "forecast_vs_actual": forecast_vs_actual_figure(result, history, model),
        "error_by_horizon": error_by_horizon_figure(result),
    }
