"""The automation domain's definitions: whole-graph jobs, the nightly schedule, alerting sensors."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.automation.jobs import full_graph_job, intraday_refresh_job, nightly_replan_job
from orchestration.defs.automation.replan import (
    ReplanTrigger,
    replan_job,
    replan_on_disruption,
    weekly_slotting,
    weekly_slotting_job,
)
from orchestration.defs.automation.schedules import nightly_replan
from orchestration.defs.automation.sensors import record_run_failure

__all__ = ["defs"]

defs = dg.Definitions(
    jobs=[full_graph_job, intraday_refresh_job, nightly_replan_job, replan_job, weekly_slotting_job],
    schedules=[nightly_replan, weekly_slotting],
    sensors=[record_run_failure, replan_on_disruption],
    resources={"replan_trigger": ReplanTrigger()},
)
