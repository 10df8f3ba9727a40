"""``nightly_replan``: the whole graph once a night, after the operational day has closed."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.automation.jobs import nightly_replan_job

__all__ = ["nightly_replan"]

nightly_replan = dg.ScheduleDefinition(
    name="nightly_replan",
    job=nightly_replan_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    description="Ingest, rebuild the marts and features, retrain, forecast and replan (replenishment, S&OP, transport) "
    "every night at 02:00 UTC; slotting is weekly.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
