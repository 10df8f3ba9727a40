"""The automation domain's definitions: whole-graph jobs, the nightly schedule, alerting sensors."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.automation.jobs import full_graph_job, intraday_refresh_job
from orchestration.defs.automation.schedules import nightly_replan
from orchestration.defs.automation.sensors import record_run_failure

__all__ = ["defs"]

defs = dg.Definitions(
    jobs=[full_graph_job, intraday_refresh_job],
    schedules=[nightly_replan],
    sensors=[record_run_failure],
)
