"""MLflow tracking and registry for the ETA model (the only MLflow module of ``ml.eta``).

The pyfunc :class:`EtaPyfunc` takes feature rows (the output of
:func:`ml.eta.features.build_eta_features`: shipment_id plus
:data:`~ml.eta.features.FEATURE_COLUMNS`) and returns shipment_id, p10, p50, p90 in
transit days. Promotion uses the shared gate in :mod:`ml.registry`, with the carrier's
promised transit time as the baseline and MAE (tie-break pinball) as the score.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import polars as pl
from mlflow import MlflowClient
from mlflow.models import infer_signature
from mlflow.pyfunc import PyFuncModel, PythonModel

from ml.eta.features import build_eta_features
from ml.eta.train import EtaModel
from ml.registry import GateScores, PromotionDecision
from ml.registry import promote_if_better as _gate

__all__ = ["EXPERIMENT_NAME", "MODEL_NAME", "EtaPyfunc", "load_eta_model", "log_eta_run", "promote_if_better"]

EXPERIMENT_NAME = "shipment_eta"
MODEL_NAME = "shipment_eta"
_ARTIFACT_KEY = "eta_model"


class EtaPyfunc(PythonModel):
    """Pyfunc wrapper: ETA feature rows in, transit-day quantiles out."""

    def load_context(self, context: Any) -> None:
        """Load the boosters from the logged artifact directory.

        Args:
            context: MLflow context carrying ``artifacts["eta_model"]``.
        """
        self.model = EtaModel.load(context.artifacts[_ARTIFACT_KEY])

    def predict(
        self,
        context: Any,  # noqa: ARG002
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,  # noqa: ARG002
    ) -> pd.DataFrame:
        """Quantiles of transit days.

        Args:
            context: MLflow context (unused after loading).
            model_input: Feature rows.
            params: Unused.

        Returns:
            shipment_id, p10, p50, p90.
        """
        return self.model.predict(pd.DataFrame(model_input)).to_pandas()


def _overall(metrics: pl.DataFrame) -> dict[str, float]:
    row = metrics.filter(pl.col("segment") == "overall").row(0, named=True)
    return {k: float(v) for k, v in row.items() if isinstance(v, float)}


def log_eta_run(
    model: EtaModel,
    metrics: pl.DataFrame,
    shipments: pl.DataFrame,
    *,
    backtest_id: str,
    register: bool = True,
    model_name: str = MODEL_NAME,
    experiment_name: str = EXPERIMENT_NAME,
    artifact_location: str | None = None,
) -> tuple[str, str | None]:
    """Log an ETA model with its holdout metrics and register it.

    Args:
        model: Trained model.
        metrics: Output of :func:`ml.eta.evaluate.evaluate_eta` on the holdout.
        shipments: Training shipments (for the input example).
        backtest_id: Holdout fingerprint (:func:`ml.eta.evaluate.eta_backtest_id`).
        register: Register under ``model_name``.
        model_name: Registered model name.
        experiment_name: Experiment (created if missing).
        artifact_location: Artifact root for a newly created experiment.

    Returns:
        ``(run_id, version)``; version is None when not registered.
    """
    found = mlflow.get_experiment_by_name(experiment_name)
    experiment_id = (
        found.experiment_id if found else mlflow.create_experiment(experiment_name, artifact_location)
    )
    example = build_eta_features(shipments.head(5)).drop("actual_transit_days", strict=False).to_pandas()
    signature = infer_signature(example, model.predict(example).to_pandas())
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({k: str(v) for k, v in vars(model.config).items()} | {"backtest_id": backtest_id})
        values = {k: v for k, v in _overall(metrics).items() if np.isfinite(v)}
        mlflow.log_metrics(values | {"train_seconds": model.train_seconds})
        mlflow.log_text(metrics.write_csv(), "holdout/metrics.csv")
        with tempfile.TemporaryDirectory() as tmp:
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=EtaPyfunc(),
                artifacts={_ARTIFACT_KEY: str(model.save(Path(tmp) / "eta_model"))},
                signature=signature,
                input_example=example,
                pip_requirements=[
                    f"mlflow=={mlflow.__version__}",
                    f"lightgbm=={lgb.__version__}",
                    f"polars=={pl.__version__}",
                    f"pandas=={pd.__version__}",
                ],
                registered_model_name=model_name if register else None,
            )
    version = info.registered_model_version
    return run.info.run_id, None if version is None else str(version)


def promote_if_better(
    version: str,
    metrics: pl.DataFrame,
    *,
    backtest_id: str,
    champion_metrics: pl.DataFrame | None = None,
    model_name: str = MODEL_NAME,
    client: MlflowClient | None = None,
) -> PromotionDecision:
    """Shared gate for ETA: beat the carrier promise and the champion on the same holdout.

    Args:
        version: Candidate version.
        metrics: Candidate's holdout metrics (includes the promised baseline).
        backtest_id: Holdout fingerprint.
        champion_metrics: Champion's metrics on the same holdout, if re-scored.
        model_name: Registered model name.
        client: MLflow client.

    Returns:
        The :class:`~ml.registry.PromotionDecision`.
    """
    cand = _overall(metrics)
    champ = _overall(champion_metrics) if champion_metrics is not None else None
    return _gate(
        model_name,
        version,
        candidate=GateScores(cand["mae"], cand["pinball"]),
        baseline=GateScores(cand["promised_mae"], cand["promised_pinball"]),
        champion=GateScores(champ["mae"], champ["pinball"]) if champ else None,
        backtest_id=backtest_id,
        baseline_name="carrier promise",
        metric_name="mae",
        client=client,
    )


def load_eta_model(alias: str = "champion", model_name: str = MODEL_NAME) -> PyFuncModel:
    """Load ``models:/shipment_eta@<alias>``.

    Args:
        alias: Registry alias.
        model_name: Registered model name.

    Returns:
        The pyfunc model.
    """
    return mlflow.pyfunc.load_model(f"models:/{model_name}@{alias}")
