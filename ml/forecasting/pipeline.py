"""The one training entry point: backtest, train, log, gate, forecast.

Orchestration calls :func:`run_forecasting` and stays thin; MLflow is only reached through
:mod:`ml.forecasting.tracking`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import polars as pl

from ml.forecasting.backtest import BacktestResult, backtest
from ml.forecasting.config import ForecastConfig
from ml.forecasting.plots import backtest_figures
from ml.forecasting.predict import batch_forecast
from ml.forecasting.tracking import (
    load_forecast_model,
    log_forecast_run,
    promote_if_better,
    use_tracking_uri,
)
from ml.forecasting.train import train_model
from ml.registry import champion_version

__all__ = ["ForecastRun", "run_forecasting"]

_CANDIDATE = "lightgbm"


@dataclass
class ForecastRun:
    """Outcome of :func:`run_forecasting`.

    Attributes:
        model_version: Registry version that produced ``forecast`` (the champion after the gate).
        candidate_version: Version registered by this run.
        promoted: Whether this run's model became champion.
        reason: The gate's reason.
        metrics: Candidate's overall backtest metrics plus ``<baseline>_wape``.
        figures: Name to PNG path of the backtest figures.
        forecast: item, warehouse, date, horizon, p10, p50, p90, model_version.
        backtest: The full backtest result.
    """

    model_version: str
    candidate_version: str
    promoted: bool
    reason: str
    metrics: dict[str, float]
    figures: dict[str, Path]
    forecast: pl.DataFrame
    backtest: BacktestResult = field(repr=False)


def run_forecasting(
    demand: pl.DataFrame,
    *,
    truth: pl.DataFrame | None = None,
    settings: Any | None = None,
    config: ForecastConfig | None = None,
    n_folds: int = 3,
    figures_dir: Path | None = None,
) -> ForecastRun:
    """Backtest, train on all history, log and register, gate, and forecast with the champion.

    Args:
        demand: ``fct_demand_daily`` rows.
        truth: Optional simulator truth (item, warehouse, date, expected_demand) for truth_ratio.
        settings: ``stockyard.settings.Settings`` (uses ``mlflow_tracking_uri``,
            ``mlflow_artifacts_dir`` and ``home``); None keeps MLflow's current URI.
        config: Model configuration; defaults to ``ForecastConfig()``.
        n_folds: Backtest folds.
        figures_dir: Where PNGs are written; defaults to ``<home>/mlflow/figures`` or a temp dir.

    Returns:
        The :class:`ForecastRun`.
    """
    config = config or ForecastConfig()
    artifact_location = None
    if settings is not None:
        use_tracking_uri(str(settings.mlflow_tracking_uri))
        artifact_location = str(settings.mlflow_artifacts_dir)
        figures_dir = figures_dir or Path(settings.home) / "mlflow" / "figures"
    figures_dir = Path(figures_dir or tempfile.mkdtemp(prefix="demand_forecast_"))
    figures_dir.mkdir(parents=True, exist_ok=True)

    result = backtest(demand, config=config, n_folds=n_folds, truth=truth)
    model = train_model(demand, config)
    logged = log_forecast_run(
        model, result, demand, candidate=_CANDIDATE, artifact_location=artifact_location
    )
    if logged.version is None:
        raise RuntimeError("the model was logged but not registered")
    decision = promote_if_better(logged.version, result, candidate=_CANDIDATE)

    champion = champion_version("demand_forecast")
    if champion is None:
        # No model has ever passed the gate: forecast with this candidate, labelled as such.
        forecast = batch_forecast(model, demand, horizon=config.horizon, model_version=logged.version)
        served_version = logged.version
    else:
        forecast = batch_forecast(
            load_forecast_model("champion"), demand, horizon=config.horizon, model_version=champion
        )
        served_version = champion

    figures: dict[str, Path] = {}
    for name, fig in backtest_figures(result, demand, _CANDIDATE).items():
        path = figures_dir / f"{name}_v{logged.version}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        figures[name] = path

    overall = result.overall(_CANDIDATE)
    metrics = {k: v for k, v in overall.items() if k != "n"}
    for baseline in ("seasonal_naive", "moving_average"):
        metrics[f"{baseline}_wape"] = result.overall(baseline)["wape"]
    return ForecastRun(
        model_version=served_version,
        candidate_version=logged.version,
        promoted=decision.promoted,
        reason=decision.reason,
        metrics=metrics,
        figures=figures,
        forecast=forecast,
        backtest=result,
    )
