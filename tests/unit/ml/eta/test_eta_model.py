"""ETA model: features, quantile sanity, reproducibility, accuracy against the promise and truth."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ml.eta.evaluate import eta_backtest_id, evaluate_eta, split_by_ship_date
from ml.eta.features import FEATURE_COLUMNS, build_eta_features
from ml.eta.synthetic import generate_shipments
from ml.eta.train import EtaConfig, EtaModel, train_eta_model

CONFIG = EtaConfig(num_threads=1, num_boost_round=60)


@pytest.fixture(scope="module")
def shipments() -> tuple[pl.DataFrame, pl.DataFrame]:
    return generate_shipments(2500, seed=3, in_transit_share=0.05)


def test_features_default_missing_tracking_state(shipments) -> None:
    data, _ = shipments
    bare = data.drop("last_event_type", "days_since_ship", "weekday")
    feats = build_eta_features(bare)
    assert set(FEATURE_COLUMNS) <= set(feats.columns)
    assert feats["last_event_type"].unique().to_list() == ["label_created"]
    assert (feats["days_since_ship"] == 0).all()
    np.testing.assert_array_equal(feats["weekday"].to_numpy(), data["weekday"].cast(pl.Float64).to_numpy())
    with pytest.raises(ValueError, match="missing columns"):
        build_eta_features(data.drop("lane"))


def test_eta_beats_promise_close_to_truth_and_is_reproducible(shipments, tmp_path) -> None:
    data, truth = shipments
    train, test = split_by_ship_date(data, test_days=30)
    assert test["actual_transit_days"].null_count() == 0
    model = train_eta_model(train, CONFIG)
    preds = model.predict_shipments(test)
    assert (preds["p10"] <= preds["p50"]).all() and (preds["p50"] <= preds["p90"]).all()
    assert (preds["p10"] >= build_eta_features(test)["days_since_ship"]).all()
    assert_frame_equal(train_eta_model(train, CONFIG).predict_shipments(test), preds)
    assert_frame_equal(EtaModel.load(model.save(tmp_path / "eta")).predict_shipments(test), preds)

    metrics = evaluate_eta(preds, test, truth=truth)
    overall = metrics.filter(pl.col("segment") == "overall").row(0, named=True)
    assert overall["mae"] < overall["promised_mae"]
    assert overall["within_1_day"] > overall["promised_within_1_day"]
    assert overall["pinball"] < overall["promised_pinball"]
    assert set(metrics["segment"]) == {"overall", "carrier", "service"}
    # at booking (no tracking state) the model is judged against the true distribution
    booking = model.predict_shipments(test.drop("last_event_type", "days_since_ship"))
    at_booking = (
        evaluate_eta(booking, test, truth=truth).filter(pl.col("segment") == "overall").row(0, named=True)
    )
    assert at_booking["truth_ratio"] < 1.3
    assert 0.6 < at_booking["true_coverage"] < 0.95
    # tracking state carries information: the in-flight ETA is sharper than at booking
    assert overall["mae"] < at_booking["mae"]
    assert eta_backtest_id(test) == eta_backtest_id(test.reverse())


def test_evaluate_eta_by_hand() -> None:
    preds = pl.DataFrame({"shipment_id": ["a", "b"], "p10": [1.0, 2.0], "p50": [2.0, 3.0], "p90": [3.0, 4.0]})
    ships = pl.DataFrame(
        {
            "shipment_id": ["a", "b"],
            "actual_transit_days": [2.5, 5.0],
            "promised_transit_days": [2.0, 4.0],
            "lane": ["L", "L"],
            "carrier": ["C", "C"],
            "service": ["ground", "ground"],
        }
    )
    row = evaluate_eta(preds, ships).filter(pl.col("segment") == "overall").row(0, named=True)
    assert row["mae"] == pytest.approx((0.5 + 2.0) / 2)
    assert row["within_1_day"] == pytest.approx(0.5)
    assert row["coverage"] == pytest.approx(0.5)
    assert row["promised_mae"] == pytest.approx((0.5 + 1.0) / 2)
    # pinball: p10 -> (0.15 + 0.3) / 2, p50 -> (0.25 + 1.0) / 2, p90 -> (0.05 + 0.9) / 2
    assert row["pinball"] == pytest.approx(((0.15 + 0.3) / 2 + (0.25 + 1.0) / 2 + (0.05 + 0.9) / 2) / 3)


def test_a_model_trained_without_the_lane_statistics_predicts_on_todays_rows(shipments, tmp_path) -> None:
    """Champions registered before the statistics existed keep loading and predicting (their columns are recorded)."""
    from ml.eta.lane_stats import (
        STATS_COLUMNS,
        attach_lane_carrier_stats,
        carrier_daily_stats,
        lane_daily_stats,
    )

    data, _ = shipments
    old_columns = tuple(c for c in FEATURE_COLUMNS if c not in STATS_COLUMNS)
    old = EtaModel.load(train_eta_model(data, CONFIG, feature_columns=old_columns).save(tmp_path / "old"))
    assert old.feature_columns == old_columns
    today = build_eta_features(
        attach_lane_carrier_stats(data, lane_daily_stats(data), carrier_daily_stats(data))
    )
    assert today["lane_deliveries_28d"].null_count() < today.height
    assert_frame_equal(old.predict(today), old.predict(today.drop(STATS_COLUMNS)))
    with pytest.raises(ValueError, match="categorical features missing"):
        train_eta_model(data, CONFIG, feature_columns=("weekday",))
