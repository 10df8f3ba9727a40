"""The planning domain's definitions: plan assets and their capacity gates."""

import dagster as dg

from orchestration.defs.planning.assets import (
    dock_schedule,
    load_plan,
    replenishment_plan,
    route_plan,
    slotting_plan,
    sop_plan,
)
from orchestration.defs.planning.checks import plan_checks

__all__ = ["defs"]

defs = dg.Definitions(
    assets=[replenishment_plan, sop_plan, slotting_plan, route_plan, load_plan, dock_schedule],
    asset_checks=plan_checks,
)
