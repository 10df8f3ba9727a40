"""The one training entry point: backtest, train, log, gate, forecast.

Orchestration calls :func:`run_forecasting` and stays thin; MLflow is only reached through
:mod:`ml.forecasting.tracking`.

Training through Feast point-in-time retrieval — measured, and not the default. ``use_feature_store=True`` builds
the final model's training frame from :func:`ml.feature_store.origin_state_pit` (the origin state of every sampled
(item, warehouse, origin) fetched point-in-time from the applied repository); the frame equals the in-process one
exactly (``tests/integration/features/test_training_pit.py``). With Feast 0.67's file offline store it does not
scale to the default training set (``/tmp/pitbench/measure*.py``, synthetic data, 2 shared cores, load 3-9):

* 90 series x 730 days, stride 3, 300k rows: 21,009 entity rows → PIT retrieval 128.7 s and 15.2 GB peak RSS,
  against 4.8 s for the whole in-process training frame;
* 900 series (300 items x 3 warehouses) x 730 days: 160,547 entity rows → the retrieval fails allocating 47.2 GiB
  (the file store joins every entity row with every state row of its series before filtering by time:
  117M rows x 54 columns); the in-process frame takes 17.3 s.

So the pipeline (backtest folds and the final model) keeps the in-process path by default; the state it computes is
the same function (:func:`~ml.forecasting.features.series_state`) the feature store is written with, and the PIT
test proves the two agree. Switch to Feast retrieval when the offline store is one that joins in the engine
(PostgreSQL, Spark, a warehouse) — by configuration of ``feature_store.yaml``, no code change here.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

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


def _feature_store_ready(settings: Any) -> bool:
    from ml.feature_store import DEMAND_STATE_FILE, registry_path

    return registry_path(settings).exists() and (Path(settings.gold_dir) / DEMAND_STATE_FILE).exists()


def _checked(state: pl.DataFrame, expected: int) -> pl.DataFrame:
    missing = state.filter(pl.col("scale").is_null()).height
    if state.height != expected or missing:
        from ml.feature_store import FeatureStoreError

        raise FeatureStoreError(
            f"the feature store has no state for {missing or expected - state.height} of {expected} training "
            "origins; write the state from the same fct_demand_daily (the features asset) before training"
        )
    return state


def feasible_folds(demand: pl.DataFrame, config: ForecastConfig, n_folds: int) -> int:
    """How many rolling-origin folds the history allows (at most ``n_folds``).

    Every fold needs ``min_history`` days before its cut-off and ``horizon`` days after it; a short history gets
    fewer folds (the choice is recorded as the ``backtest_folds`` metric) rather than folds trained on nothing.

    Raises:
        ValidationError: when the history cannot hold even one fold.
    """
    from stockyard.errors import ValidationError

    if demand.height == 0:
        raise ValidationError(
            "no demand history to forecast from (fct_demand_daily is empty)", field="demand"
        )
    days = (cast(dt.date, demand["date"].max()) - cast(dt.date, demand["date"].min())).days + 1
    possible = (days - config.min_history) // config.horizon
    if possible < 1:
        raise ValidationError(
            f"{days} days of demand history cannot hold one backtest fold: need at least "
            f"{config.min_history + config.horizon} (min_history {config.min_history} + horizon {config.horizon})",
            field="demand",
        )
    return min(n_folds, possible)


def run_forecasting(
    demand: pl.DataFrame,
    *,
    truth: pl.DataFrame | None = None,
    settings: Any | None = None,
    config: ForecastConfig | None = None,
    n_folds: int = 3,
    figures_dir: Path | None = None,
    use_feature_store: bool = False,
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
        use_feature_store: Fetch the final model's origin state from Feast (point-in-time) instead of computing it
            in-process (see the module docstring for why this is off by default). Needs ``settings`` of a home whose
            repository is applied and whose state file was written from the same ``fct_demand_daily``.

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

    n_folds = feasible_folds(demand, config, n_folds)
    result = backtest(demand, config=config, n_folds=n_folds, truth=truth)
    origin_state = None
    if use_feature_store:
        if settings is None or not _feature_store_ready(settings):
            raise ValueError(
                "use_feature_store needs settings of a home with an applied Feast repository and state"
            )
        from ml.feature_store import origin_state_pit

        def origin_state(origins: pl.DataFrame) -> pl.DataFrame:
            return _checked(origin_state_pit(origins, settings), origins.height)

    model = train_model(demand, config, origin_state=origin_state)
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
    metrics["backtest_folds"] = float(n_folds)
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
