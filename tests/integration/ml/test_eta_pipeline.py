"""run_eta end to end on real MLflow under a Stockyard home in tmp_path."""

from __future__ import annotations

import os

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import datetime as dt  # noqa: E402

import mlflow  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402

from ml.eta.pipeline import eta_frame, run_eta  # noqa: E402
from ml.eta.synthetic import generate_shipments  # noqa: E402
from ml.eta.train import EtaConfig  # noqa: E402
from stockyard.settings import Settings  # noqa: E402

pytestmark = pytest.mark.integration


def test_run_eta_registers_gates_and_predicts_open_shipments(tmp_path) -> None:
    settings = Settings(home=tmp_path / "home")
    shipments, truth = generate_shipments(2500, seed=4, in_transit_share=0.05)
    config = EtaConfig(num_threads=1, num_boost_round=60)
    try:
        run = run_eta(shipments, truth=truth, settings=settings, config=config)
        assert run.promoted and run.model_version == run.candidate_version == "1", run.reason
        assert run.metrics["mae"] < run.metrics["promised_mae"]
        assert 0.5 < run.metrics["true_coverage"] <= 1.0 and run.metrics["truth_ratio"] > 0
        open_ids = set(shipments.filter(pl.col("actual_transit_days").is_null())["shipment_id"])
        assert set(run.predictions["shipment_id"]) == open_ids and open_ids
        p = run.predictions
        assert (p["p10"] <= p["p50"]).all() and (p["p50"] <= p["p90"]).all()
        assert (p["delivery_p50"] >= p["ship_date"]).all() and set(p["model_version"]) == {"1"}
        assert all(path.exists() and path.is_relative_to(tmp_path) for path in run.figures.values())

        again = run_eta(shipments, truth=truth, settings=settings, config=config)
        assert not again.promoted and "does not beat the champion" in again.reason
        assert again.candidate_version == "2" and again.model_version == "1"

        # A deliberately worse model (one tree, tiny learning rate) never takes over.
        worse = run_eta(
            shipments,
            settings=settings,
            config=EtaConfig(num_threads=1, num_boost_round=1, learning_rate=0.01),
        )
        assert not worse.promoted and worse.model_version == "1"
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)


def test_eta_frame_maps_the_fct_shipments_mart() -> None:
    t0 = dt.datetime(2024, 3, 1, 8)
    mart = pl.DataFrame(
        {
            "shipment_id": ["a", "b"],
            "carrier": ["ACME", "ACME"],
            "carrier_service": ["ground", "express"],
            "origin_warehouse": ["WH00", "WH00"],
            "destination_region": ["north", "south"],
            "lane": ["WH00->north", "WH00->south"],
            "planned_pickup_at": [t0, t0],
            "picked_up_at": [t0, t0 + dt.timedelta(days=1)],
            "first_scan_at": [t0, None],
            "out_for_delivery_at": [t0 + dt.timedelta(days=2), None],
            "delivered_at": [t0 + dt.timedelta(days=2, hours=6), None],
            "last_scan_at": [t0 + dt.timedelta(days=2, hours=6), t0 + dt.timedelta(days=4)],
            "exception_event_count": [0, 0],
            "promised_transit_days": [3, 2],
            "transit_days": [2.25, None],
            "weight_kg": [1.5, 2.0],
        }
    )
    out = eta_frame(mart).sort("shipment_id")
    assert out["service"].to_list() == ["ground", "express"]
    assert out["actual_transit_days"].to_list() == [2.25, None]
    assert out["last_event_type"].to_list() == [None, "picked_up"]
    assert out["days_since_ship"].to_list() == [None, 3.0]
    assert out["ship_date"].to_list() == [dt.date(2024, 3, 1), dt.date(2024, 3, 2)]
