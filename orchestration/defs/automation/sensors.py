"""Run-failure alerting: every failed run of this code location becomes an alert line (see ``orchestration.alerts``)."""

import dagster as dg
from dagster import RunFailureSensorContext

from orchestration.alerts import record_alert
from orchestration.resources import StockyardResource

__all__ = ["record_run_failure"]


@dg.run_failure_sensor(
    name="record_run_failure",
    description="Record every failed run (job, failed steps, first error) in <home>/alerts/alerts.jsonl.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def record_run_failure(context: RunFailureSensorContext, stockyard: StockyardResource) -> None:
    """Append one ``run_failure`` alert naming the failed steps."""
    failed_steps = {}
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        failed_steps[event.step_key or "?"] = error.message.strip().splitlines()[0] if error else "failed"
    run = context.dagster_run
    error = context.failure_event.message or ""
    record_alert(
        "run_failure",
        f"run {run.run_id[:8]} of {run.job_name} failed"
        + (f": {', '.join(failed_steps)}" if failed_steps else ""),
        settings=stockyard.settings(),
        run_id=run.run_id,
        job=run.job_name,
        failed_steps=failed_steps,
        error=error,
    )
