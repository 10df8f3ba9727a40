"""Bronze Delta tables as assets: one asset per source table, materialised by one subsettable multi-asset.

One step ingests every selected table over a single PostgreSQL connection (``ingest.run.run_ingest``); each table
reports its own materialisation with rows read/written, its watermark and its row count. A table that fails is
reported and the step fails after the others have loaded, so nothing downstream of a failed load runs.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from ingest.feeds import FEEDS
from ingest.tables import SourceTable, registry
from orchestration.defs.dbt.translator import bronze_key
from orchestration.resources import StockyardResource

__all__ = ["BRONZE_TABLES", "FEED_NAMES", "bronze_feeds", "bronze_row_count", "bronze_tables"]

BRONZE_TABLES: dict[str, SourceTable] = registry()
#: Landing feeds (bronze ``feeds__<name>``), in ingest's registry order.
FEED_NAMES: tuple[str, ...] = tuple(FEEDS)


def _spec(table: SourceTable) -> dg.AssetSpec:
    kind = "append-only" if table.load_mode == "append" else table.load_mode
    return dg.AssetSpec(
        key=bronze_key(table.source, table.name),
        group_name=table.source,
        description=f"Bronze copy of {table.schema}.{table.name} ({kind}, tracked by {table.tracking}).",
        kinds={"delta", "postgres"},
        metadata={"primary_key": ", ".join(table.primary_key), "partition_by": ", ".join(table.partition_by)},
        skippable=True,
    )


def bronze_row_count(uri: str) -> int | None:
    """Rows in a Delta table from its log (file statistics; no data read).

    Args:
        uri: Table location.

    Returns:
        The row count (tombstones of merged tables included), or None when the table does not exist.
    """
    from ingest.state import open_table

    table = open_table(uri)
    if table is None:
        return None
    actions = table.get_add_actions(flatten=True)
    column = actions.column("num_records")
    return int(sum(v for v in column.to_pylist() if v is not None))


@dg.multi_asset(
    name="bronze_tables",
    specs=[_spec(t) for t in BRONZE_TABLES.values()],
    can_subset=True,
    description="Incremental, exactly-once ingest of the OLTP (and simulator truth) tables into bronze Delta.",
)
def bronze_tables(
    context: AssetExecutionContext, stockyard: StockyardResource
) -> Iterator[dg.MaterializeResult]:
    """Ingest the selected tables; one materialisation per table."""
    from ingest.load_delta import table_uri
    from ingest.run import run_ingest

    settings = stockyard.settings()
    by_key = {bronze_key(t.source, t.name): name for name, t in BRONZE_TABLES.items()}
    names = [by_key[key] for key in context.selected_asset_keys if key in by_key]
    report = run_ingest(settings, tables=names, feeds=False)
    for result in report.results:
        if result.status == "failed":
            context.log.error(f"ingest of {result.table} failed: {result.error}")
            continue
        table = BRONZE_TABLES[result.table]
        uri = table_uri(str(settings.lake_root), result.table)
        metadata = _result_metadata(result, uri)
        metadata["watermark"] = result.watermark or ""
        yield dg.MaterializeResult(asset_key=bronze_key(table.source, table.name), metadata=metadata)
    if report.failed:
        failed = "; ".join(f"{r.table}: {r.error}" for r in report.failed)
        raise dg.Failure(description=f"ingest failed for {len(report.failed)} table(s): {failed}")


def _result_metadata(result: Any, uri: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "rows_read": result.rows_read,
        "rows_written": result.rows_written,
        "status": result.status,
        "duration_s": round(result.duration_s, 3),
        "path": dg.MetadataValue.path(uri),
    }
    rows = bronze_row_count(uri)
    if rows is not None:
        metadata["dagster/row_count"] = rows
    return metadata


@dg.multi_asset(
    name="bronze_feeds",
    specs=[
        dg.AssetSpec(
            key=bronze_key("feeds", name),
            group_name="feeds",
            description=f"Landing feed {name}: new files parsed, bad rows quarantined with reasons, good rows in bronze.",
            kinds={"delta"},
            skippable=True,
        )
        for name in FEED_NAMES
    ],
    can_subset=True,
    description="External feeds (carrier tracking, IoT telemetry) from the landing directory into bronze Delta.",
)
def bronze_feeds(
    context: AssetExecutionContext, stockyard: StockyardResource
) -> Iterator[dg.MaterializeResult]:
    """Ingest the new landing files of the selected feeds; one materialisation per feed."""
    from ingest.load_delta import table_uri
    from ingest.run import ingest_feed

    settings = stockyard.settings()
    failures = []
    for name in FEED_NAMES:
        key = bronze_key("feeds", name)
        if key not in context.selected_asset_keys:
            continue
        try:
            result = ingest_feed(name, settings)
        except Exception as exc:  # one feed's failure must not stop the other; reported below
            context.log.error(f"feed {name} failed: {exc}")
            failures.append(f"{name}: {exc}")
            continue
        metadata = _result_metadata(result, table_uri(str(settings.lake_root), f"feeds__{name}"))
        metadata["rows_quarantined"] = result.rows_quarantined
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)
    if failures:
        raise dg.Failure(description=f"feed ingest failed: {'; '.join(failures)}")
