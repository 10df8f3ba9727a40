"""``nightly_replan``: the whole graph once a night, after the operational day has closed."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.automation.jobs import full_graph_job

__all__ = ["nightly_replan"]

nightly_replan = dg.ScheduleDefinition(
    name="nightly_replan",
    job=full_graph_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    description="Ingest, rebuild the marts and features, retrain, forecast and replan every night at 02:00 UTC.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
