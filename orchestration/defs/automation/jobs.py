"""Asset jobs: the whole graph (nightly) and the intra-day refresh (bronze through marts)."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.ingest.backfill import REPAIR_GROUP

__all__ = [
    "INTRADAY_LAYERS",
    "full_graph_job",
    "intraday_refresh_job",
    "intraday_selection",
    "nightly_replan_job",
    "unpartitioned_graph",
]

#: Layers the intra-day refresh rebuilds; features, models and plans wait for the nightly replan.
INTRADAY_LAYERS = ("bronze", "staging", "intermediate", "marts")
#: Groups of the model, forecast and plan assets, which the intra-day refresh leaves alone.
PLANNING_GROUPS = ("forecasting", "replenishment", "sop", "slotting", "transport", "alerts")


def intraday_selection() -> dg.AssetSelection:
    """Every asset of the intra-day layers.

    Returns:
        The selection of keys prefixed by one of :data:`INTRADAY_LAYERS`, minus the forecast and the plans
        (published under ``marts`` too, but rebuilt by the nightly replan and the replan sensor only).
    """
    layers = dg.AssetSelection.key_prefixes(*[[layer] for layer in INTRADAY_LAYERS])
    return layers - dg.AssetSelection.groups(*PLANNING_GROUPS, REPAIR_GROUP)


def unpartitioned_graph() -> dg.AssetSelection:
    """Every asset but the daily bronze repairs, which are run by day (``bronze_day_repair``), not by these jobs.

    Returns:
        ``AssetSelection.all()`` minus the :data:`~orchestration.defs.ingest.backfill.REPAIR_GROUP` group.
    """
    return dg.AssetSelection.all() - dg.AssetSelection.groups(REPAIR_GROUP)


full_graph_job = dg.define_asset_job(
    "full_graph",
    selection=unpartitioned_graph(),
    description="Every asset: ingest, dbt, checks, features, models and plans.",
)

intraday_refresh_job = dg.define_asset_job(
    "intraday_refresh",
    selection=intraday_selection(),
    description="Incremental ingest and the dbt models downstream of it (no retraining, no replanning).",
)

nightly_replan_job = dg.define_asset_job(
    "nightly_replan",
    # Everything but slotting: re-slotting moves stock physically, so it has its own weekly schedule.
    selection=unpartitioned_graph() - dg.AssetSelection.assets(dg.AssetKey(["marts", "fct_slotting_plan"])),
    description="Ingest, marts, features, retrain, forecast, replenishment, S&OP, routes, loads and docks.",
)
