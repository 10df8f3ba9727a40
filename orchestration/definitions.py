"""The Stockyard code location: merges the domain modules' definitions, nothing else.

Load it after the dbt manifest exists (``orchestration.runner.prepare`` or ``make dbt-manifest``);
``dagster dev -m orchestration.definitions`` re-parses the project itself through ``prepare_if_dev``.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.automation.definitions import defs as automation_defs
from orchestration.defs.dbt.definitions import defs as dbt_defs
from orchestration.defs.forecasting.definitions import defs as forecasting_defs
from orchestration.defs.gold.definitions import defs as gold_defs
from orchestration.defs.ingest.definitions import defs as ingest_defs
from orchestration.resources import build_resources

__all__ = ["defs"]

defs = dg.Definitions.merge(
    ingest_defs,
    dbt_defs,
    gold_defs,
    forecasting_defs,
    automation_defs,
    dg.Definitions(resources=build_resources()),
)
