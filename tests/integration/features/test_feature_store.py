"""The real Feast store: apply, point-in-time correct retrieval, materialisation and online reads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from ml import feature_store as fsm
from ml.forecasting.synthetic import generate_demand
from stockyard.settings import Settings

CUTOFF = dt.date(2023, 4, 1)


@pytest.fixture(scope="module")
def demand() -> pl.DataFrame:
    observed, _truth = generate_demand(n_items=4, n_warehouses=2, n_days=150, seed=3)
    return observed


def _store(tmp: Path, demand: pl.DataFrame) -> Settings:
    settings = Settings(home=tmp)
    fsm.write_demand_state(demand, settings)
    fsm.apply_repo(settings)
    return settings


def _at(ts: dt.date, keys: pl.DataFrame) -> pl.DataFrame:
    moment = dt.datetime.combine(ts, dt.time(), tzinfo=dt.UTC)
    return keys.with_columns(pl.lit(moment).dt.cast_time_unit("us").alias("event_timestamp"))


def test_no_information_after_the_cutoff_reaches_a_training_row(tmp_path: Path, demand: pl.DataFrame) -> None:
    keys = demand.select("item", "warehouse").unique().sort("item", "warehouse")
    # Same history up to the cut-off, wildly different afterwards.
    perturbed = demand.with_columns(
        pl.when(pl.col("date") >= CUTOFF)
        .then(pl.col("quantity") * 100 + 7)
        .otherwise("quantity")
        .alias("quantity")
    )
    a = fsm.historical_demand_state(_at(CUTOFF, keys), _store(tmp_path / "a", demand))
    b = fsm.historical_demand_state(_at(CUTOFF, keys), _store(tmp_path / "b", perturbed))
    cols = [c for c in a.columns if c != "event_timestamp"]
    a, b = a.select(cols).sort("item", "warehouse"), b.select(cols).sort("item", "warehouse")
    assert a.height == keys.height
    assert a.equals(b), "features at the cut-off changed when only data after the cut-off changed"

    # And they are exactly the state of the last closed day before the cut-off.
    expected = (
        fsm.demand_state_frame(demand.filter(pl.col("date") < CUTOFF))
        .filter(pl.col("date") == CUTOFF - dt.timedelta(days=1))
        .select(cols)
        .sort("item", "warehouse")
    )
    assert a.select(sorted(cols)).equals(expected.select(sorted(cols)))
    # Sanity: the perturbation is visible one week later, so the comparison above can fail.
    later = CUTOFF + dt.timedelta(days=7)
    a2 = fsm.historical_demand_state(_at(later, keys), Settings(home=tmp_path / "a"))
    b2 = fsm.historical_demand_state(_at(later, keys), Settings(home=tmp_path / "b"))
    assert not a2.select("mean_7").sort("mean_7").equals(b2.select("mean_7").sort("mean_7"))


def test_materialised_online_features_equal_the_latest_state(tmp_path: Path, demand: pl.DataFrame) -> None:
    settings = _store(tmp_path, demand)
    fsm.materialize(settings)
    keys = demand.select("item", "warehouse").unique().sort("item", "warehouse")
    online = fsm.online_demand_state(list(keys.iter_rows()), settings).sort("item", "warehouse")
    latest = (
        fsm.demand_state_frame(demand)
        .filter(pl.col("date") == demand["date"].max())
        .sort("item", "warehouse")
    )
    assert online.height == keys.height
    for col in ("mean_28", "lag_0", "scale", "abc_class"):
        assert online[col].to_list() == latest[col].to_list(), col
