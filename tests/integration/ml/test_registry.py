"""Real MLflow (sqlite + local artifacts in tmp_path): log, register, gate, load by alias."""

from __future__ import annotations

import os

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

from ml.forecasting.backtest import backtest, lightgbm_forecaster  # noqa: E402
from ml.forecasting.config import ForecastConfig  # noqa: E402
from ml.forecasting.features import build_inference_features  # noqa: E402
from ml.forecasting.predict import batch_forecast  # noqa: E402
from ml.forecasting.synthetic import generate_demand  # noqa: E402
from ml.forecasting.tracking import (  # noqa: E402
    MODEL_NAME,
    champion_model,
    load_forecast_model,
    log_forecast_run,
    promote_if_better,
)
from ml.forecasting.train import train_model  # noqa: E402
from ml.registry import GateScores, decide_promotion  # noqa: E402
from ml.registry import promote_if_better as gate  # noqa: E402

pytestmark = pytest.mark.integration

GOOD = ForecastConfig(num_threads=1, num_boost_round=60, max_train_rows=30_000, min_data_in_leaf=50)
# Mis-set quantile levels: its "P50" is a 95 % quantile, which over-forecasts far more than
# seasonal naive errs.
BAD = ForecastConfig(
    quantiles=(0.9, 0.95, 0.99), num_threads=1, num_boost_round=30, max_train_rows=10_000, min_data_in_leaf=50
)


@pytest.fixture()
def tracking(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield str(tmp_path / "artifacts")
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_register_gate_and_load_by_alias(tracking) -> None:
    observed, truth = generate_demand(n_items=8, n_warehouses=2, n_days=360, seed=5)
    result = backtest(
        observed,
        {"good": lightgbm_forecaster(GOOD), "bad": lightgbm_forecaster(BAD)},
        n_folds=3,
        truth=truth,
    )
    good, bad = train_model(observed, GOOD), train_model(observed, BAD)
    client = MlflowClient()

    v1 = log_forecast_run(good, result, observed, candidate="good", artifact_location=tracking)
    first = promote_if_better(v1.version, result, candidate="good")
    assert first.promoted and "no champion yet" in first.reason
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == v1.version

    # a deliberately worse model is never promoted, and the reason is on its version
    v2 = log_forecast_run(bad, result, observed, candidate="bad", artifact_location=tracking)
    second = promote_if_better(v2.version, result, candidate="bad")
    assert not second.promoted and "does not beat seasonal_naive" in second.reason
    tags = client.get_model_version(MODEL_NAME, v2.version).tags
    assert tags["promotion.decision"] == "candidate"
    assert tags["promotion.reason"] == second.reason
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == v1.version

    # equal to the champion on the same backtest is not better: champion scores come from its tags
    v3 = log_forecast_run(good, result, observed, candidate="good", artifact_location=tracking)
    third = promote_if_better(v3.version, result, candidate="good")
    assert not third.promoted and "does not beat the champion" in third.reason
    assert third.previous_champion == v1.version

    # champion scores from another backtest are not comparable: stays a candidate
    other = GateScores(error=0.01, pinball=0.01)
    fourth = gate(
        MODEL_NAME, v3.version, candidate=other, baseline=GateScores(1.0, 1.0), backtest_id="elsewhere"
    )
    assert not fourth.promoted and "re-score" in fourth.reason

    # load by alias and predict: features in, quantiles out, same as the in-memory model
    served = load_forecast_model("champion")
    features = build_inference_features(observed, horizon=7)
    out = served.predict(features.to_pandas())
    assert list(out.columns) == ["item", "warehouse", "date", "horizon", "p10", "p50", "p90"]
    np.testing.assert_allclose(out["p50"].to_numpy(), good.predict(features)["p50"].to_numpy())
    batch = batch_forecast(served, observed, horizon=28, model_version=v1.version)
    assert batch.height == 16 * 28 and set(batch["model_version"]) == {v1.version}
    assert (batch["p10"] <= batch["p90"]).all()
    assert champion_model().config == GOOD

    run = client.get_run(v1.run_id)
    assert run.data.metrics["good_wape"] < run.data.metrics["seasonal_naive_wape"]
    artifacts = {a.path for a in client.list_artifacts(v1.run_id, "plots")}
    assert artifacts == {"plots/forecast_vs_actual.png", "plots/error_by_horizon.png"}
    assert pl.read_csv(client.download_artifacts(v1.run_id, "backtest/metrics.csv")).height > 0


def test_decide_promotion_tie_breaks_on_pinball() -> None:
    base = GateScores(0.5, 2.0)
    champ = GateScores(0.3, 1.0)
    assert decide_promotion(GateScores(0.3, 0.9), base, champ)[0]
    assert not decide_promotion(GateScores(0.3, 1.1), base, champ)[0]
    assert not decide_promotion(GateScores(0.31, 0.1), base, champ)[0]
    assert not decide_promotion(GateScores(0.6, 0.1), base, None)[0]
    assert decide_promotion(GateScores(0.4, 3.0), base, None)[0]


def test_eta_uses_the_same_gate(tracking) -> None:
    from ml.eta.evaluate import eta_backtest_id, evaluate_eta, split_by_ship_date
    from ml.eta.features import build_eta_features
    from ml.eta.synthetic import generate_shipments
    from ml.eta.tracking import MODEL_NAME as ETA_NAME
    from ml.eta.tracking import load_eta_model, log_eta_run
    from ml.eta.tracking import promote_if_better as eta_promote
    from ml.eta.train import EtaConfig, train_eta_model

    data, truth = generate_shipments(1500, seed=2)
    train, test = split_by_ship_date(data, test_days=30)
    bid = eta_backtest_id(test)
    good = train_eta_model(train, EtaConfig(num_threads=1, num_boost_round=40))
    bad = train_eta_model(train, EtaConfig(quantiles=(0.9, 0.95, 0.99), num_threads=1, num_boost_round=40))
    good_m = evaluate_eta(good.predict_shipments(test), test, truth)
    bad_m = evaluate_eta(bad.predict_shipments(test), test, truth)

    _, v1 = log_eta_run(good, good_m, train, backtest_id=bid, artifact_location=tracking)
    assert eta_promote(v1, good_m, backtest_id=bid).promoted
    _, v2 = log_eta_run(bad, bad_m, train, backtest_id=bid, artifact_location=tracking)
    decision = eta_promote(v2, bad_m, backtest_id=bid)
    assert not decision.promoted and "carrier promise" in decision.reason
    assert MlflowClient().get_model_version(ETA_NAME, v2).tags["promotion.reason"] == decision.reason

    served = load_eta_model("champion")
    feats = build_eta_features(test).drop("actual_transit_days")
    out = served.predict(feats.to_pandas())
    assert list(out.columns) == ["shipment_id", "p10", "p50", "p90"]
    np.testing.assert_allclose(out["p50"].to_numpy(), good.predict(feats)["p50"].to_numpy())
