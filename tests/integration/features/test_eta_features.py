"""The ETA statistics through the real Feast store: ``eta_v1`` retrieval equals the in-process join, online reads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ml import feature_store as fsm
from ml.eta.lane_stats import (
    CARRIER_STATS_COLUMNS,
    LANE_STATS_COLUMNS,
    STATS_COLUMNS,
    STATS_TTL,
    attach_lane_carrier_stats,
)
from ml.eta.pipeline import eta_frame
from ml.eta.synthetic import generate_shipments
from stockyard.settings import Settings


@pytest.fixture(scope="module")
def shipments() -> pl.DataFrame:
    data, _truth = generate_shipments(4000, seed=11, days=120, in_transit_share=0.05)
    return eta_frame(data)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, shipments: pl.DataFrame) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("eta_feast"))
    fsm.write_eta_stats(shipments, settings)
    fsm.apply_repo(settings)
    return settings


def test_views_and_service_are_registered_with_the_join_ttl(settings: Settings) -> None:
    store = fsm.feature_store(settings)
    service = store.get_feature_service(fsm.ETA_SERVICE)
    assert {p.name for p in service.feature_view_projections} == set(fsm.ETA_STATS_VIEWS)
    for name, columns in zip(fsm.ETA_STATS_VIEWS, (LANE_STATS_COLUMNS, CARRIER_STATS_COLUMNS), strict=True):
        view = store.get_feature_view(name)
        assert view.ttl == STATS_TTL, name
        assert [f.name for f in view.features] == list(columns)
        assert view.description
    assert fsm.eta_store_status(store) is not None  # applied but not yet materialised


def test_feast_retrieval_equals_the_in_process_join(settings: Settings, shipments: pl.DataFrame) -> None:
    sample = shipments.sample(300, seed=2).select("lane", "carrier", "ship_date")
    # Edges: the first ship date (nothing delivered yet), past the end of the data (within, then beyond the TTL),
    # and a lane nobody ships on.
    first, last = shipments["ship_date"].min(), shipments["ship_date"].max()
    lane, carrier = sample.row(0)[:2]
    edges = pl.DataFrame(
        {
            "lane": [lane, lane, lane, "NOWHERE->north"],
            "carrier": [carrier, carrier, carrier, carrier],
            "ship_date": [first, last + dt.timedelta(days=20), last + dt.timedelta(days=60), last],
        }
    )
    rows = pl.concat([sample, edges]).unique()
    lanes = pl.read_parquet(settings.gold_dir / fsm.LANE_STATS_FILE)
    carriers = pl.read_parquet(settings.gold_dir / fsm.CARRIER_STATS_FILE)

    via_feast = fsm.shipment_stats_pit(rows, settings)
    in_process = attach_lane_carrier_stats(rows, lanes, carriers)
    keys = ["lane", "carrier", "ship_date"]
    columns = [*keys, *STATS_COLUMNS]
    assert via_feast.height == rows.height
    assert_frame_equal(
        via_feast.select(columns).sort(keys), in_process.select(columns).sort(keys), check_exact=True
    )
    # The comparison has something to compare: most rows carry statistics, the edges are null.
    assert in_process["lane_deliveries_28d"].null_count() < rows.height // 10
    edge_values = in_process.join(edges, on=keys, how="semi").sort("ship_date")
    assert edge_values.filter(pl.col("lane") == "NOWHERE->north")["lane_deliveries_28d"].item() is None
    beyond = edge_values.filter(pl.col("ship_date") == last + dt.timedelta(days=60))
    assert beyond.select(STATS_COLUMNS).null_count().row(0) == (1,) * len(STATS_COLUMNS)
    within = edge_values.filter(pl.col("ship_date") == last + dt.timedelta(days=20))
    assert within["lane_deliveries_28d"].item() is not None


def test_materialised_online_values_equal_the_latest_rows(
    settings: Settings, shipments: pl.DataFrame
) -> None:
    fsm.materialize_eta_stats(settings)
    store = fsm.feature_store(settings)
    assert fsm.eta_store_status(store) is None
    # The demand view stays as it was: not materialised by the ETA statistics.
    assert not store.get_feature_view(fsm.DEMAND_STATE_VIEW).materialization_intervals
    pairs = shipments.select("lane", "carrier").unique().sort("lane", "carrier")
    keys = [*pairs.iter_rows(), ("NOWHERE->north", "NOCARRIER")]
    online = fsm.online_eta_stats(keys, store=store)
    lanes = pl.read_parquet(settings.gold_dir / fsm.LANE_STATS_FILE)
    carriers = pl.read_parquet(settings.gold_dir / fsm.CARRIER_STATS_FILE)
    latest_lane = lanes.filter(pl.col("date") == pl.col("date").max().over("lane"))
    latest_carrier = carriers.filter(pl.col("date") == pl.col("date").max().over("carrier"))
    expected = (
        pl.DataFrame(keys, schema={"lane": pl.String, "carrier": pl.String}, orient="row")
        .join(latest_lane.select("lane", *LANE_STATS_COLUMNS), on="lane", how="left", maintain_order="left")
        .join(
            latest_carrier.select("carrier", *CARRIER_STATS_COLUMNS),
            on="carrier",
            how="left",
            maintain_order="left",
        )
    )
    assert_frame_equal(online, expected, check_exact=True)
    assert online.row(-1)[2:] == (None,) * len(STATS_COLUMNS)

    # Read at a booking moment beyond the TTL of the latest rows, the values are missing, as in training.
    last_event = lanes["event_timestamp"].max()
    stale = fsm.online_eta_stats(keys[:3], store=store, as_of=last_event + STATS_TTL + dt.timedelta(days=1))
    assert stale.select(STATS_COLUMNS).null_count().row(0) == (3,) * len(STATS_COLUMNS)
    fresh = fsm.online_eta_stats(keys[:3], store=store, as_of=last_event + dt.timedelta(days=1))
    assert fresh.equals(online.head(3))


def test_serving_reads_the_online_statistics_and_nulls_for_unknown_keys(
    settings: Settings, shipments: pl.DataFrame, tmp_path: Path
) -> None:
    from serving.feast_features import FeastEtaStats

    fsm.materialize_eta_stats(settings)
    lane, carrier = shipments.select("lane", "carrier").row(0)
    booked = dt.datetime.combine(shipments["ship_date"].max(), dt.time(), tzinfo=dt.UTC)
    source = FeastEtaStats(settings)
    assert source.status()["status"] == "ok"
    online = fsm.online_eta_stats([(lane, carrier)], settings).row(0, named=True)
    got = source.stats(lane, carrier, booked)
    assert got == {c: online[c] for c in STATS_COLUMNS} and got["lane_deliveries_28d"] is not None
    assert source.stats("NOWHERE->north", "NOCARRIER", booked) == dict.fromkeys(STATS_COLUMNS)
    # A home whose repository was never applied serves missing statistics, not an error.
    bare = FeastEtaStats(Settings(home=tmp_path / "bare"))
    assert bare.stats(lane, carrier, booked) == dict.fromkeys(STATS_COLUMNS)
    assert bare.status()["status"] == "unavailable"
