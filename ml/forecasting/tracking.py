"""MLflow tracking and registry for the demand model (the only MLflow module of forecasting).

Packaging: the model is logged as an ``mlflow.pyfunc`` :class:`DemandForecastPyfunc` whose
``predict`` takes **feature rows in and returns quantiles out**:

* input: a pandas frame with ``item``, ``warehouse``, ``origin_date``, ``date`` (target
  date), ``horizon``, ``scale`` and the columns of
  :data:`ml.forecasting.features.FEATURE_COLUMNS` — exactly what
  :func:`ml.forecasting.features.build_inference_features` returns from raw history, and
  what serving will later read from Feast's online store;
* output: a pandas frame with ``item``, ``warehouse``, ``date``, ``horizon``, ``p10``,
  ``p50``, ``p90`` (units, non-negative, non-crossing).

We chose features-in over carrying a history window inside the model: the model stays
small and immutable, serving does not need to reimplement our feature code (it calls
``build_inference_features`` or the feature store), and the same artifact scores any origin.
The artifact holds the three LightGBM boosters as text plus ``meta.json`` (config, category
levels); callers never touch LightGBM.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
import polars as pl
from mlflow import MlflowClient
from mlflow.models import infer_signature
from mlflow.pyfunc import PyFuncModel, PythonModel

from ml.forecasting.backtest import BacktestResult
from ml.forecasting.features import build_inference_features
from ml.forecasting.plots import backtest_figures
from ml.forecasting.train import ForecastModel
from ml.registry import GateScores, PromotionDecision, champion_version
from ml.registry import promote_if_better as _gate

__all__ = [
    "EXPERIMENT_NAME",
    "MODEL_NAME",
    "DemandForecastPyfunc",
    "LoggedForecast",
    "champion_model",
    "gate_scores",
    "load_forecast_model",
    "log_forecast_run",
    "promote_if_better",
    "use_tracking_uri",
]

EXPERIMENT_NAME = "demand_forecast"
MODEL_NAME = "demand_forecast"
_ARTIFACT_KEY = "forecast_model"


class DemandForecastPyfunc(PythonModel):
    """Pyfunc wrapper: feature rows in, P10/P50/P90 out (see the module docstring)."""

    def load_context(self, context: Any) -> None:
        """Load the boosters from the logged artifact directory.

        Args:
            context: MLflow context carrying ``artifacts["forecast_model"]``.
        """
        self.model = ForecastModel.load(context.artifacts[_ARTIFACT_KEY])

    def predict(
        self,
        context: Any,  # noqa: ARG002
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,  # noqa: ARG002
    ) -> pd.DataFrame:
        """Quantile forecasts for feature rows.

        Args:
            context: MLflow context (unused after loading).
            model_input: Feature rows (see the module docstring).
            params: Unused.

        Returns:
            item, warehouse, date, horizon, p10, p50, p90.
        """
        return self.model.predict(pd.DataFrame(model_input)).to_pandas()


@dataclass(frozen=True)
class LoggedForecast:
    """Where a logged model went.

    Attributes:
        run_id: MLflow run id.
        model_uri: ``models:/<model_id>`` URI of the logged model.
        version: Registered version (None when not registered).
    """

    run_id: str
    model_uri: str
    version: str | None


def _pip_requirements() -> list[str]:
    return [
        f"mlflow=={mlflow.__version__}",
        f"lightgbm=={lgb.__version__}",
        f"polars=={pl.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
    ]


def _experiment_id(name: str, artifact_location: str | None) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_location)


def gate_scores(result: BacktestResult, model: str) -> GateScores:
    """Gate scores (WAPE, mean pinball) of one model of a backtest.

    Args:
        result: Backtest result.
        model: Forecaster name in the backtest.

    Returns:
        The :class:`~ml.registry.GateScores`.
    """
    overall = result.overall(model)
    return GateScores(error=overall["wape"], pinball=overall["pinball"])


def log_forecast_run(
    model: ForecastModel,
    result: BacktestResult,
    history: pl.DataFrame,
    *,
    candidate: str = "lightgbm",
    register: bool = True,
    model_name: str = MODEL_NAME,
    experiment_name: str = EXPERIMENT_NAME,
    artifact_location: str | None = None,
    run_name: str | None = None,
) -> LoggedForecast:
    """Log a trained model with its backtest to MLflow and (optionally) register it.

    Logs the config as params; overall, per-ABC-class and per-horizon metrics of every
    backtested model; the full metrics table; plots of forecast vs actual for sample series and
    of WAPE by horizon; the pyfunc model with input example and signature.

    Args:
        model: The trained model (fitted on ``history``).
        result: Backtest of the same configuration (plus baselines).
        history: Demand rows the model was trained on (for the input example and plots).
        candidate: Name of this model in ``result``.
        register: Register the logged model under ``model_name``.
        model_name: Registered model name.
        experiment_name: Experiment to log into (created if missing).
        artifact_location: Artifact root for a newly created experiment.
        run_name: Optional run name.

    Returns:
        The :class:`LoggedForecast`.
    """
    experiment_id = _experiment_id(experiment_name, artifact_location)
    example_features = build_inference_features(history, horizon=model.config.horizon).head(5).to_pandas()
    example_output = model.predict(example_features).to_pandas()
    signature = infer_signature(example_features, example_output)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.log_params({k: str(v) for k, v in model.config.to_dict().items()})
        mlflow.log_params(
            {
                "trained_until": model.trained_until,
                "backtest_id": result.backtest_id,
                "backtest_cutoffs": ",".join(str(c) for c in result.cutoffs),
                "n_series": history.select("item", "warehouse").n_unique(),
            }
        )
        metrics: dict[str, float] = {"train_seconds": model.train_seconds}
        for row in result.metrics.iter_rows(named=True):
            if row["segment"] == "horizon":
                mlflow.log_metric(f"{row['model']}_wape_by_horizon", row["wape"], step=int(row["key"]))
                continue
            suffix = "" if row["segment"] == "overall" else f"_{row['segment']}_{row['key']}"
            for name in ("wape", "mase", "bias", "coverage", "pinball", "truth_ratio"):
                value = row.get(name)
                if value is not None and np.isfinite(value):
                    metrics[f"{row['model']}_{name}{suffix}"] = float(value)
        for name, secs in result.fit_seconds.items():
            metrics[f"{name}_backtest_seconds"] = secs
        mlflow.log_metrics(metrics)
        mlflow.log_text(result.metrics.write_csv(), "backtest/metrics.csv")
        for name, fig in backtest_figures(result, history, candidate).items():
            mlflow.log_figure(fig, f"plots/{name}.png")
            plt.close(fig)
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = model.save(Path(tmp) / "forecast_model")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=DemandForecastPyfunc(),
                artifacts={_ARTIFACT_KEY: str(model_dir)},
                signature=signature,
                input_example=example_features,
                pip_requirements=_pip_requirements(),
                registered_model_name=model_name if register else None,
            )
    version = info.registered_model_version
    return LoggedForecast(run.info.run_id, info.model_uri, None if version is None else str(version))


def promote_if_better(
    version: str,
    result: BacktestResult,
    *,
    candidate: str = "lightgbm",
    champion: str | None = None,
    model_name: str = MODEL_NAME,
    client: MlflowClient | None = None,
) -> PromotionDecision:
    """Apply the shared promotion gate (:func:`ml.registry.promote_if_better`) to a demand model.

    The candidate must beat ``seasonal_naive`` of the same backtest and the current champion
    (WAPE, tie-break mean pinball).

    Args:
        version: Registered version of the candidate.
        result: Backtest containing ``candidate`` and ``seasonal_naive``.
        candidate: Name of the candidate in ``result``.
        champion: Name of the re-scored champion in ``result``, if the caller backtested it
            too; otherwise the champion's tagged scores on the same backtest id are used.
        model_name: Registered model name.
        client: MLflow client.

    Returns:
        The :class:`~ml.registry.PromotionDecision`.
    """
    return _gate(
        model_name,
        version,
        candidate=gate_scores(result, candidate),
        baseline=gate_scores(result, "seasonal_naive"),
        champion=gate_scores(result, champion) if champion else None,
        backtest_id=result.backtest_id,
        baseline_name="seasonal_naive",
        metric_name="wape",
        client=client,
    )


def use_tracking_uri(uri: str) -> None:
    """Point MLflow tracking and the model registry at ``uri`` (e.g. ``Settings.mlflow_tracking_uri``).

    Args:
        uri: Tracking/registry URI such as ``sqlite:///.../mlflow.db``.
    """
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def load_forecast_model(alias: str = "champion", model_name: str = MODEL_NAME) -> PyFuncModel:
    """Load a registered demand model by alias (``models:/demand_forecast@champion``).

    Args:
        alias: Registry alias.
        model_name: Registered model name.

    Returns:
        The pyfunc model; ``predict(features)`` returns the quantile frame.
    """
    return mlflow.pyfunc.load_model(f"models:/{model_name}@{alias}")


def champion_model(model_name: str = MODEL_NAME) -> ForecastModel | None:
    """The champion's underlying model (e.g. to re-backtest its configuration).

    Args:
        model_name: Registered model name.

    Returns:
        The champion :class:`ForecastModel`, or None if there is no champion.
    """
    if champion_version(model_name) is None:
        return None
    wrapper = load_forecast_model("champion", model_name).unwrap_python_model()
    return wrapper.model
