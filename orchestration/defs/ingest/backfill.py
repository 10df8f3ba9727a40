"""Daily-partitioned repair assets for the append-only OLTP facts: ``bronze/oltp__<table>__daily``.

Why these tables, and why a second asset per table
--------------------------------------------------
Bronze is fed incrementally by transaction window (``bronze/oltp__<table>``, unpartitioned: one run takes whatever
committed since the last one, whatever day it belongs to). A *day* is the unit people reason about when something
went wrong ("the ledger of 3 March is off"), and for the append-only facts (outbox ``events``,
``inventory_ledger``, ``tracking_events``, ``order_status_history``) a day is independently rebuildable: its rows
never change in the source, and bronze keeps each row's UTC day in ``_partition_date``. So each of these tables
gets a daily-partitioned asset whose partition ``D`` means "bronze's day ``D`` equals the source's", materialised
by :func:`ingest.backfill.backfill_days`: it compares the day's rows with PostgreSQL and replaces only the days
that differ, in one Delta commit, below ingest's watermark (so the incremental asset and the repair never deliver
a row twice). A backfill over 30 days is one run (``BackfillPolicy.single_run``), one comparison and one commit
per table; re-running it changes nothing. The UI's partition bar shows which days have been verified or repaired.

Mutable tables are not partitioned: a day of ``orders`` is not a unit (rows change after their day and are merged
on their key). The landing feeds are not either: their bronze rows are keyed by the landing file they came from,
and a fixed feed file is re-ingested by dropping it in the landing directory again.

The repair assets stay out of the unpartitioned jobs (``full_graph``, ``nightly_replan``, the intra-day refresh)
and out of a plain ``stockyard run``: they write into tables those jobs already bring up to date, and a nightly run
has no day to repair. Launch them from the ``bronze_day_repair`` job (the UI's backfill dialog) or with
``stockyard run --select group:bronze_repair`` (every day, only the stale ones are rewritten). After a repair, the
dbt models downstream of the bronze table are rebuilt by the next intra-day or nightly run.

Partitions start on :data:`HISTORY_START`.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from ingest.backfill import backfillable_tables
from ingest.tables import SourceTable
from orchestration.defs.dbt.translator import bronze_key
from orchestration.resources import StockyardResource

__all__ = [
    "DAILY_PARTITIONS",
    "HISTORY_START",
    "REPAIR_GROUP",
    "BackfillConfig",
    "bronze_day_repair",
    "bronze_day_repair_job",
    "daily_key",
]

#: First day of the daily partitions. Fixed, because partition keys must not move between code loads: the default
#: simulated history (``stockyard simulate``: 730 days ending yesterday) starts after it until the end of 2025 and
#: the bronze days before a history's start are empty (repairing them is a no-op). Days older than this are still
#: repairable through :func:`ingest.backfill.backfill_days` directly.
HISTORY_START = "2024-01-01"
#: One partition per UTC day (bronze's ``_partition_date`` is the event's UTC date). The last partition is
#: yesterday: today's rows are still arriving through the incremental ingest.
DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC")
#: Group of the repair assets (kept out of the unpartitioned jobs, see the module docstring).
REPAIR_GROUP = "bronze_repair"

_TABLES: dict[str, SourceTable] = backfillable_tables()


def daily_key(table: SourceTable) -> dg.AssetKey:
    """Asset key of a table's daily repair asset.

    Args:
        table: A table of :func:`ingest.backfill.backfillable_tables`.

    Returns:
        ``AssetKey(["bronze", "<source>__<table>__daily"])``.
    """
    return dg.AssetKey(["bronze", f"{table.bronze}__daily"])


class BackfillConfig(dg.Config):
    """Run configuration of a repair."""

    force: bool = False
    """Rewrite every day of the range, not only the days whose row counts or ids differ from the source
    (for damage to values, which leaves counts and ids intact)."""


def _spec(table: SourceTable) -> dg.AssetSpec:
    incremental = bronze_key(table.source, table.name).to_user_string()
    return dg.AssetSpec(
        key=daily_key(table),
        group_name=REPAIR_GROUP,
        description=(
            f"Day-by-day repair of {incremental}: each partition is one UTC day of {table.schema}.{table.name} "
            f"(by {table.event_time}), re-extracted and replaced in bronze when it differs from the source."
        ),
        kinds={"delta", "postgres"},
        metadata={"repairs": incremental, "day_column": table.event_time or ""},
        skippable=True,
    )


def _days_table(days: list[Any]) -> str:
    shown = days[:31]
    lines = ["| day |", "| --- |", *[f"| {d.isoformat()} |" for d in shown]]
    if len(days) > len(shown):
        lines.append(f"| … {len(days) - len(shown)} more |")
    return "\n".join(lines)


@dg.multi_asset(
    name="repair_bronze_days",
    specs=[_spec(t) for t in _TABLES.values()],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    description="Rebuild whole UTC days of the append-only facts in bronze from PostgreSQL (idempotent).",
)
def bronze_day_repair(
    context: AssetExecutionContext, config: BackfillConfig, stockyard: StockyardResource
) -> Iterator[dg.MaterializeResult]:
    """Compare the run's days with the source and replace the days that differ, one commit per table."""
    from ingest.backfill import backfill_days

    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    settings = stockyard.settings()
    uri = stockyard.oltp_uri()
    for name, table in _TABLES.items():
        key = daily_key(table)
        if key not in context.selected_asset_keys:
            continue
        result = backfill_days(name, start, end, settings, uri=uri, force=config.force)
        context.log.info(
            f"{name} {start}..{end}: {result.days_checked} day(s) checked, {len(result.days_replaced)} replaced "
            f"({result.rows_removed} row(s) removed, {result.rows_written} written)"
        )
        metadata: dict[str, Any] = {
            "days_checked": result.days_checked,
            "days_replaced": len(result.days_replaced),
            "rows_removed": result.rows_removed,
            "rows_written": result.rows_written,
            "watermark": result.watermark or "",
            "duration_s": round(result.duration_s, 3),
        }
        if result.days_replaced:
            metadata["replaced"] = dg.MetadataValue.md(_days_table(result.days_replaced))
            metadata["delta_version"] = result.version
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)


bronze_day_repair_job = dg.define_asset_job(
    "bronze_day_repair",
    selection=dg.AssetSelection.groups(REPAIR_GROUP),
    partitions_def=DAILY_PARTITIONS,
    description="Repair bronze days of the append-only facts; launch a backfill over the days to rebuild.",
)
