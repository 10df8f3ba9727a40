"""The Stockyard code location: merges the domain modules' definitions, nothing else.

Load it after the dbt manifest exists (``orchestration.runner.prepare`` or ``make dbt-manifest``);
``dagster dev -m orchestration.definitions`` re-parses the project itself through ``prepare_if_dev``. The domain
modules are imported as modules (not their ``defs``) because Dagster's loader allows one ``Definitions`` object at
module scope.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.alerts import definitions as alerts
from orchestration.defs.automation import definitions as automation
from orchestration.defs.dbt import definitions as dbt
from orchestration.defs.forecasting import definitions as forecasting
from orchestration.defs.gold import definitions as gold
from orchestration.defs.ingest import definitions as ingest
from orchestration.defs.planning import definitions as planning
from orchestration.resources import build_resources

__all__ = ["defs"]

defs = dg.Definitions.merge(
    ingest.defs,
    dbt.defs,
    gold.defs,
    forecasting.defs,
    planning.defs,
    alerts.defs,
    automation.defs,
    dg.Definitions(resources=build_resources()),
)
