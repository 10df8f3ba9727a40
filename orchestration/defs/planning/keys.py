"""Asset keys of the forecast and the plans, importable without loading the dbt manifest (sensors, CLI, tests)."""

import dagster as dg

__all__ = [
    "DOCK_KEY",
    "FORECAST_KEY",
    "FORECAST_MODEL_KEY",
    "LOAD_KEY",
    "PLAN_KEYS",
    "REPLENISHMENT_KEY",
    "ROUTE_KEY",
    "SLOTTING_KEY",
    "SOP_PLAN_KEY",
    "SOP_SCENARIOS_KEY",
    "TRANSFERS_KEY",
]

FORECAST_MODEL_KEY = dg.AssetKey(["ml", "demand_forecast_model"])
FORECAST_KEY = dg.AssetKey(["marts", "fct_demand_forecast"])
REPLENISHMENT_KEY = dg.AssetKey(["marts", "fct_replenishment_plan"])
TRANSFERS_KEY = dg.AssetKey(["marts", "fct_replenishment_transfers"])
SLOTTING_KEY = dg.AssetKey(["marts", "fct_slotting_plan"])
SOP_PLAN_KEY = dg.AssetKey(["marts", "mart_sop_plan"])
SOP_SCENARIOS_KEY = dg.AssetKey(["marts", "mart_sop_scenarios"])
ROUTE_KEY = dg.AssetKey(["marts", "fct_route_plan"])
LOAD_KEY = dg.AssetKey(["marts", "fct_load_plan"])
DOCK_KEY = dg.AssetKey(["marts", "fct_dock_schedule"])
PLAN_KEYS = (
    REPLENISHMENT_KEY, TRANSFERS_KEY, SLOTTING_KEY, SOP_PLAN_KEY, SOP_SCENARIOS_KEY, ROUTE_KEY, LOAD_KEY, DOCK_KEY,
)  # fmt: skip
