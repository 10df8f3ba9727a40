"""The training frame built through Feast point-in-time retrieval equals the in-process one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from ml import feature_store as fsm
from ml.forecasting.features import build_training_frame
from ml.forecasting.synthetic import generate_demand
from stockyard.settings import Settings


def test_feast_training_frame_equals_the_in_process_one(tmp_path: Path) -> None:
    demand, _truth = generate_demand(n_items=3, n_warehouses=2, n_days=400, seed=5)
    settings = Settings(home=tmp_path / "home")
    fsm.write_demand_state(demand, settings)
    fsm.apply_repo(settings)

    kwargs = {"horizon": 28, "max_rows": 4_000, "seed": 1}
    in_process = build_training_frame(demand, **kwargs)
    via_feast = build_training_frame(
        demand, **kwargs, origin_state=lambda origins: fsm.origin_state_pit(origins, settings)
    )
    assert in_process.height == 4_000
    assert in_process["last_year_7"].null_count() < in_process.height
    assert_frame_equal(via_feast, in_process, check_exact=True)

    # The comparison can fail: a store holding another history gives other rows.
    fsm.write_demand_state(demand.with_columns(pl.col("quantity") * 2), settings)
    doubled = build_training_frame(
        demand, **kwargs, origin_state=lambda origins: fsm.origin_state_pit(origins, settings)
    )
    assert not doubled["scale"].equals(in_process["scale"])
