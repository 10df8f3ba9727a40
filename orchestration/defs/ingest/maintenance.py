"""Bronze table maintenance on a schedule: compaction, checkpoint and vacuum (:mod:`ingest.maintenance`).

Ingest writes many small files (every incremental run commits at least one per table, and partitioned full loads
cut their files small to bound memory); readers pay for each file. This job bins them into large files, writes a
checkpoint so opening a table does not replay its whole log, and deletes files unreferenced for longer than
``STOCKYARD_DELTA_RETENTION_HOURS``. Compaction changes no row (``dataChange = false``), so it is not a
materialisation: each table gets an observation with what was done, on its bronze asset's timeline.
"""

import dagster as dg
from dagster import OpExecutionContext

from orchestration.resources import StockyardResource

__all__ = ["bronze_maintenance", "bronze_maintenance_job", "maintain_bronze"]


@dg.op(description="Compact, checkpoint and vacuum every bronze and quarantine Delta table.")
def maintain_bronze(context: OpExecutionContext, stockyard: StockyardResource) -> None:
    """Maintain every table under the lake's bronze and quarantine folders, observing each bronze asset."""
    from ingest.maintenance import maintain

    settings = stockyard.settings()
    results = maintain(settings)
    for r in results:
        metadata = {
            "files_removed": r.files_removed,
            "files_added": r.files_added,
            "vacuumed_files": r.vacuumed_files,
            "delta_version": r.version,
            "retention_hours": settings.delta_retention_hours,
        }
        if r.layer == "bronze":
            context.log_event(
                dg.AssetObservation(asset_key=dg.AssetKey(["bronze", r.table]), metadata=metadata)
            )
        else:
            context.log.info(f"quarantine table {r.table}: {metadata}")
    context.log.info(
        f"maintained {len(results)} tables: {sum(r.files_removed for r in results)} small files compacted into "
        f"{sum(r.files_added for r in results)}, {sum(r.vacuumed_files for r in results)} files vacuumed"
    )


@dg.job(description="Compaction, checkpoints and vacuum of the bronze Delta tables.")
def bronze_maintenance_job() -> None:
    """One op: :func:`maintain_bronze`."""
    maintain_bronze()


bronze_maintenance = dg.ScheduleDefinition(
    name="bronze_maintenance",
    job=bronze_maintenance_job,
    # After the 02:00 nightly replan has read bronze; compaction rewrites files a concurrent merge may also
    # rewrite, and the loser of such a race simply retries at its next run (its watermark did not move).
    cron_schedule="30 4 * * *",
    execution_timezone="UTC",
    description="Compact, checkpoint and vacuum bronze every night at 04:30 UTC.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
