"""The ingest domain's definitions."""

import dagster as dg

from orchestration.defs.ingest.assets import bronze_feeds, bronze_tables
from orchestration.defs.ingest.backfill import bronze_day_repair, bronze_day_repair_job
from orchestration.defs.ingest.checks import bronze_checks
from orchestration.defs.ingest.maintenance import bronze_maintenance, bronze_maintenance_job
from orchestration.defs.ingest.sensors import outbox_ingest

__all__ = ["defs"]

defs = dg.Definitions(
    assets=[bronze_tables, bronze_feeds, bronze_day_repair],
    asset_checks=bronze_checks,
    sensors=[outbox_ingest],
    jobs=[bronze_day_repair_job, bronze_maintenance_job],
    schedules=[bronze_maintenance],
)
